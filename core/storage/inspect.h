// Read-only inspection and operator repair of a log directory (the
// `meshlog` tool, docs/storage.md "Operating it"). Unlike AppendLog::open,
// verify_log() never modifies the directory, so it is safe on the data
// directory of a stopped (or crashed) meshd.
//
// verify_log reads every segment in full: header, every frame's checksum,
// seq density, stored offsets, and continuity between segments (a sealed
// segment must end exactly where the next begins). Every problem is listed
// with its segment and offset; a torn tail of the last segment is not a
// problem (the next open cuts it) but is reported. If `fn` is given it is
// called for each good record with seq >= from, in order, up to the first
// problem (nothing past a problem is ever handed out).
//
// repair_truncate_after_corruption cuts the log at the first problem: the
// segment holding it is truncated at the problem's offset (fsynced), every
// later segment is deleted, and the directory is synced. Records before
// the problem are kept; every seq from the problem on is gone (they could
// not be trusted). A torn tail is cut the same way. Returns what it did.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "core/env/disk.h"
#include "core/storage/append_log.h"

namespace meshd::storage {

struct SegmentSummary {
  std::string name;
  uint64_t first_seq = 0;
  uint64_t bytes = 0;
  uint64_t records = 0;
};

struct VerifyReport {
  std::vector<SegmentSummary> segments;
  std::vector<Corruption> problems;   // in log order
  uint64_t first_seq = kFirstSeq;
  uint64_t next_seq = kFirstSeq;      // past the last good record before any problem
  uint64_t records = 0;               // good records before the first problem
  bool torn_tail = false;
  Corruption torn;                    // where, if torn_tail
  bool clean() const { return problems.empty(); }
};

using RecordFn = std::function<bool(uint64_t seq, std::span<const uint8_t> payload)>;
Result<VerifyReport> verify_log(Disk& disk, std::string_view prefix, const RecordFn& fn = nullptr,
                                uint64_t from = 0);

struct RepairReport {
  bool changed = false;
  std::string truncated_segment;
  uint64_t truncated_at = 0;
  std::vector<std::string> deleted_segments;
  uint64_t next_seq = kFirstSeq;      // the log's next seq after the repair
};
Result<RepairReport> repair_truncate_after_corruption(Disk& disk, std::string_view prefix);

}  // namespace meshd::storage
