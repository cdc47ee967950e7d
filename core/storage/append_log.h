// AppendLog: a durable, segmented, checksummed append-only log of
// (seq, payload) records, written only against the Disk seam
// (docs/storage.md). Format: core/storage/format.h.
//
// Appending: append() assigns the next seq (dense, from kFirstSeq) and
// buffers the frame. Durability follows LogOptions::sync:
//  * every  append() writes and fsyncs before returning: the seq is durable.
//  * group  append() returns at once; wait_durable(seq) makes it durable.
//           Waiters share fsyncs: one waiter (the leader) writes everything
//           buffered and fsyncs while the others park; everything appended
//           while that fsync runs goes out in the next single fsync. The
//           leader first waits up to group_max_delay_us (inside a fiber) to
//           let a batch gather. Outside a fiber the caller leads at once.
//  * none   the log never fsyncs on its own (only at segment rotation);
//           wait_durable()/sync() still make data durable when asked.
// Nothing is reported durable (wait_durable ok, durable_end() past it)
// before the fsync covering it — and, for a new segment, the directory
// fsync that makes its name durable — has returned ok.
//
// Buffered bytes are bounded by batch_bytes_max: beyond it append() writes
// them out (no fsync), blocking the fiber if another write is running.
//
// Recovery (open): segment names and headers are checked; the last segment
// is scanned (segment_scan.h): a torn tail is truncated and fsynced before
// anything is appended (counted in recovery()). Earlier segments were sealed
// by an fsync and are verified when read (or at open with verify_on_open).
// A checksum failure before the tail is reported as a Corruption (segment,
// offset, seq): the log then serves only seqs before it, refuses appends
// (Errc::corrupt), and logs `storage_corruption` at error level. The
// operator's remedy is `meshlog repair DIR --truncate-after-corruption`
// (repair.h), which cuts the log at the last good record.
//
// I/O failure (the PostgreSQL 2018 fsync lesson): after any failed write,
// fsync, truncate or directory sync the log is `failed`: it never retries
// an fsync (a failed fsync may have dropped the dirty pages, so a later
// "successful" fsync would be a lie), reports nothing more as durable,
// fails every waiter and every later append with Errc::io_error, and logs
// `storage_failed`. Reads keep working. Restarting the process reopens
// the log from what the disk really holds.
//
// Reads: read(seq) and scan(from, to) find the segment by a map of first
// seqs (one entry per segment) and the record through a sparse per-segment
// index (one offset every index_stride_records, built while scanning), so
// memory is O(segments + records / stride) and open reads only the last
// segment: a 10 GiB log opens after reading its headers and one segment.
//
// Limits: record payload kRecordPayloadBytesMax; segment size
// [kSegmentBytesMin, kSegmentTargetBytesMax]; kSegmentsMax segments;
// kOpenFilesMax open files (the active segment + one read handle);
// batch_bytes_max buffered bytes. Fibers: one Runtime (may be null: then
// nothing ever parks). Not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/env/disk.h"
#include "core/env/log.h"
#include "core/env/runtime.h"
#include "core/storage/format.h"
#include "core/storage/segment_scan.h"

namespace meshd::storage {

enum class SyncPolicy : uint8_t { every, group, none };
std::string_view sync_policy_name(SyncPolicy policy);
std::optional<SyncPolicy> parse_sync_policy(std::string_view name);

constexpr size_t kSegmentsMax = kSegmentsMaxListed;
constexpr size_t kOpenFilesMax = 2;
constexpr size_t kBatchBytesMaxLimit = size_t{64} << 20;

struct LogOptions {
  std::string prefix = "log";                 // segment names: <prefix>-<seq>.seg
  uint64_t segment_bytes = uint64_t{64} << 20;  // rotate past this size
  SyncPolicy sync = SyncPolicy::group;
  int64_t group_max_delay_us = 0;             // leader's wait for a batch to gather
  size_t batch_bytes_max = size_t{1} << 20;   // buffered before a forced write
  size_t index_stride_records = 1024;         // sparse index density
  bool verify_on_open = false;                // scan every segment at open
  int64_t now_ms = 0;                         // the caller's clock, stamped in new segment headers
  // Test only (sim/scenario planted bugs): report durability after the
  // write without fsync, so the crash-consistency oracle can be shown to
  // catch it. Never set in production.
  bool planted_bug_ack_before_fsync = false;
};

struct Corruption {
  std::string segment;   // file name
  uint64_t offset = 0;   // byte offset in the segment
  uint64_t seq = 0;      // the first seq that cannot be served
  std::string what;
};

struct RecoveryReport {
  uint64_t segments = 0;
  uint64_t scanned_bytes = 0;
  uint64_t torn_tails = 0;          // tails cut (0 or 1 per open)
  uint64_t torn_tail_bytes = 0;     // bytes cut
  uint64_t empty_segments_removed = 0;  // a new segment whose header never became durable
  uint64_t rereads = 0;             // transient checksum failures cured by re-reading
};

enum class LogHealth : uint8_t { ok, corrupt, failed };

struct Retention {
  uint64_t max_bytes = UINT64_MAX;  // keep the log under this many bytes...
  int64_t max_age_ms = INT64_MAX;   // ...and drop segments older than this
};

class AppendLog {
 public:
  // Opens (creating if empty) the log in `disk`. `runtime` may be null;
  // `log` receives storage_* events (may be null).
  static Result<std::unique_ptr<AppendLog>> open(Disk& disk, Runtime* runtime, Log* log, LogOptions options);
  ~AppendLog();
  AppendLog(const AppendLog&) = delete;
  AppendLog& operator=(const AppendLog&) = delete;

  // Appends one record; returns its seq. Errc::too_large over the payload
  // limit, Errc::corrupt after corruption, Errc::io_error once failed.
  Result<uint64_t> append(std::span<const uint8_t> payload);
  // Returns once every seq <= `seq` is durable (see the policies above).
  Status wait_durable(uint64_t seq);
  Status sync();   // wait_durable(last appended)
  Status flush();  // write buffered records without fsync

  // The payload of `seq`: Errc::not_found outside [first_seq, next_seq),
  // Errc::corrupt at or past a corruption (the log's health turns corrupt).
  Result<std::vector<uint8_t>> read(uint64_t seq);
  // Calls fn for each record in [from, to) in order until fn returns false.
  using ScanFn = std::function<bool(uint64_t seq, std::span<const uint8_t> payload)>;
  Status scan(uint64_t from, uint64_t to, const ScanFn& fn);

  // Prefix truncation: deletes every segment all of whose records are
  // < keep_from (never the active one), then syncs the directory. Call only
  // once the state that replaces those records is durable.
  Status truncate_prefix(uint64_t keep_from);
  // Retention: deletes the oldest segments while the log is over
  // max_bytes or a segment is older than max_age_ms — but never a segment
  // holding a seq > replaced_through (not yet covered by a durable snapshot).
  Status retain(const Retention& retention, uint64_t replaced_through, int64_t now_ms);

  uint64_t first_seq() const;       // the oldest seq still stored
  uint64_t next_seq() const { return next_seq_; }  // the seq the next append gets
  uint64_t durable_end() const { return durable_end_; }  // every seq < this is durable
  uint64_t bytes() const;           // total stored bytes (all segments + buffer)
  size_t segment_count() const { return segments_.size(); }
  LogHealth health() const;
  const std::optional<Corruption>& corruption() const { return corruption_; }
  const Status& failure() const { return failure_; }
  const RecoveryReport& recovery() const { return recovery_; }
  struct Counters {
    // fsyncs counts every file sync: fsync (segment creation, recovery)
    // and datasync (batches, sealing a segment).
    uint64_t appends = 0, writes = 0, fsyncs = 0, dir_syncs = 0, rotations = 0, group_batches = 0,
             segments_deleted = 0, rereads = 0;
  };
  const Counters& counters() const { return counters_; }

 private:
  struct Segment {
    std::string name;
    uint64_t first_seq = 0;
    uint64_t created_ms = 0;
    uint64_t bytes = 0;              // on-file size (written)
    bool verified = false;           // fully scanned and clean
    std::vector<std::pair<uint64_t, uint64_t>> index;  // sparse (seq, offset), ascending
  };
  struct Pending {                   // one buffered frame
    uint64_t seq = 0;
    size_t at = 0;                   // offset in buffer_
    uint32_t partial_crc = 0;
  };

  AppendLog(Disk& disk, Runtime* runtime, Log* log, LogOptions options);
  Status recover();
  Status recover_tail(Segment& seg);
  Status create_segment(uint64_t first_seq);
  Status write_buffer();             // io lock held
  Status rotate();                   // io lock held
  Status sync_locked();              // io lock held
  Status lock_io();
  void unlock_io();
  Status fail(Status cause);
  Status check_appendable() const;
  void note_corruption(Corruption c);
  Segment& active() { return segments_.rbegin()->second; }
  const Segment& active() const { return segments_.rbegin()->second; }
  uint64_t segment_end_seq(const Segment& seg) const;  // exclusive
  Result<File*> reader(const Segment& seg);
  Status scan_segment_from(Segment& seg, uint64_t from, uint64_t to, const ScanFn& fn, bool& stopped);
  bool serve_buffered(uint64_t seq, const ScanFn& fn, bool& stopped) const;
  uint64_t reserved_bytes() const { return active().bytes + inflight_.size() + buffer_.size(); }
  void add_index(Segment& seg, uint64_t seq, uint64_t offset);
  Status delete_segments_before(uint64_t first_kept);  // by first_seq
  bool in_fiber() const { return runtime_ != nullptr && runtime_->in_fiber(); }

  Disk& disk_;
  Runtime* runtime_;
  Log* log_;
  LogOptions opt_;
  std::map<uint64_t, Segment> segments_;  // by first seq
  std::unique_ptr<File> active_file_;
  std::unique_ptr<File> read_file_;
  std::string read_file_name_;
  std::vector<uint8_t> buffer_;            // frames appended, not yet written
  std::vector<Pending> pending_;
  std::vector<uint8_t> inflight_;          // frames being written (the write may park)
  std::vector<Pending> inflight_pending_;
  bool rotating_ = false;                  // appends wait: the active segment is changing
  uint64_t next_seq_ = kFirstSeq;
  uint64_t written_end_ = kFirstSeq;       // every seq < this is in the file
  uint64_t durable_end_ = kFirstSeq;       // every seq < this is durable
  uint64_t synced_bytes_ = 0;              // active segment: bytes known durable
  bool io_busy_ = false;
  Runtime::WaitList io_waiters_;
  std::optional<Corruption> corruption_;
  Status failure_;
  RecoveryReport recovery_;
  Counters counters_;
};

}  // namespace meshd::storage
