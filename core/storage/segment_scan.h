// scan_segment: reads one segment's record frames in order and classifies
// how the segment ends (docs/storage.md, "Recovery rules").
//
// Frames are read through a window of kScanWindowBytes (so memory is
// bounded however large the segment). A frame that fails its checksum is
// re-read up to kRereadsMax times first: a flipped bit on the read path
// (cable, controller, the simulator's read bit rot) is transient, and a
// careful reader does not condemn the log for it. If it still fails, the
// frame at offset X is either
//  * a torn tail — only in the last segment, and only when no *witness*
//    lies after it: a valid frame further on whose synced_through is past X
//    (X was durable before that frame was written) or whose stored offset
//    is not where it was found (a misdirected write). The segment is then
//    cut at X; nothing before X is lost and nothing after it was durable.
//  * corruption — anywhere else: the scan stops at X and reports it; the
//    frames before X are good, nothing at or after X is ever returned.
// A valid frame with the wrong seq or the wrong stored offset is
// corruption too (a misdirected or stale write), never data.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "core/env/disk.h"

namespace meshd::storage {

constexpr size_t kScanWindowBytes = size_t{4} << 20;  // read size of sequential scans; >= one maximal frame
constexpr int kRereadsMax = 2;

struct ScanOutcome {
  enum class End : uint8_t { clean, torn_tail, corrupt };
  End end = End::clean;
  uint64_t end_offset = 0;      // just past the last good frame
  uint64_t next_seq = 0;        // the seq after the last good frame
  uint64_t records = 0;         // good frames seen by this scan
  uint64_t problem_offset = 0;  // torn_tail / corrupt: where
  std::string problem;          // corrupt: what was found
  uint64_t rereads = 0;         // checksum failures cured by re-reading
  bool stopped = false;         // fn returned false or stop_seq was reached
};

// The log's segments in `disk`: (first seq from the name, name), ascending.
// Errc::too_large beyond kSegmentsMaxListed.
constexpr size_t kSegmentsMaxListed = 100'000;
Result<std::vector<std::pair<uint64_t, std::string>>> list_segments(Disk& disk, std::string_view prefix);

// Reads file bytes through a bounded window.
class ReadWindow {
 public:
  ReadWindow(File& file, uint64_t file_bytes, size_t window_bytes = kScanWindowBytes)
      : file_(file), file_bytes_(file_bytes), window_bytes_(window_bytes) {}
  // Up to `want` bytes at `offset` (fewer at end of file).
  Result<std::span<const uint8_t>> view(uint64_t offset, size_t want);
  void invalidate() { len_ = 0; }
  uint64_t file_bytes() const { return file_bytes_; }

 private:
  File& file_;
  uint64_t file_bytes_;
  size_t window_bytes_;
  std::vector<uint8_t> buf_;
  uint64_t base_ = 0;
  size_t len_ = 0;
};

// Returns false to stop the scan after this frame.
using FrameFn = std::function<bool(uint64_t seq, uint64_t offset, std::span<const uint8_t> payload)>;

// Scans from `start_offset` (a frame boundary) expecting `expected_seq`
// there, calling `fn` for each good frame, until the end of the file or
// until a frame with seq >= stop_seq has been delivered. `tail`: this is
// the log's last segment (torn tails allowed). Errors: the Disk's.
Result<ScanOutcome> scan_segment(File& file, uint64_t file_bytes, uint64_t start_offset, uint64_t expected_seq,
                                 bool tail, const FrameFn& fn, uint64_t stop_seq = UINT64_MAX,
                                 size_t window_bytes = kScanWindowBytes);
// A small window for point reads through a sparse index.
constexpr size_t kPointReadWindowBytes = 64 * 1024;

}  // namespace meshd::storage
