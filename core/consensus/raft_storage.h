// RaftStorage: a voter's durable hard state and log, as records of one
// AppendLog (core/storage/append_log.h) on the Disk seam.
//
// Record payloads (little-endian; the AppendLog frames and checksums them):
//   hard state: type u8 = 1, term u64, vote u8 (kNoVote = none)
//   entry     : type u8 = 2, index u64, term u64, data (the rest, <= kEntryBytesMax)
// The records are a log of operations: replaying them in order, the last
// hard-state record is the hard state, and an entry record at index i
// replaces entry i and drops every entry after it (that is how a
// follower's truncation becomes durable without rewriting anything). An
// entry record past the end (a gap), a term lower than the entry before
// it, a term above the hard state's, or an unknown record is corruption:
// open() fails with Errc::corrupt and the voter must not take part (a
// voter that forgot a vote or an acknowledged entry breaks safety).
//
// persist() appends the records of one RaftPersist and fsyncs once
// (SyncPolicy::none plus an explicit sync: one fsync per host batch); it
// returns only when they are durable. After an I/O failure the log is
// failed for good (AppendLog's rule) and persist() keeps failing: the host
// then stops the voter.
//
// Compaction is not built (no snapshots yet): the log grows with every
// record. Not thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/consensus/raft.h"
#include "core/storage/append_log.h"

namespace meshd::consensus {

enum class RaftRecordType : uint8_t { hard_state = 1, entry = 2 };

struct RaftRecord {
  RaftRecordType type = RaftRecordType::hard_state;
  HardState hard_state{};
  Entry entry{};
};
std::vector<uint8_t> encode_record(const RaftRecord& r);
std::optional<RaftRecord> decode_record(std::span<const uint8_t> bytes);

// Replays records onto (state, log); false with `why` on corruption.
struct RaftRecovery {
  HardState state;
  RaftLog log;
  bool apply(const RaftRecord& r, std::string& why);
};

class RaftStorage {
 public:
  static Result<std::unique_ptr<RaftStorage>> open(Disk& disk, Runtime* runtime, Log* log, std::string prefix);

  const HardState& hard_state() const { return recovered_.state; }
  RaftLog take_log() { return std::move(recovered_.log); }
  Status persist(const RaftPersist& p);
  uint64_t records() const { return log_->next_seq() - storage::kFirstSeq; }
  const storage::AppendLog& append_log() const { return *log_; }

 private:
  explicit RaftStorage(std::unique_ptr<storage::AppendLog> log) : log_(std::move(log)) {}
  std::unique_ptr<storage::AppendLog> log_;
  RaftRecovery recovered_;
};

}  // namespace meshd::consensus
