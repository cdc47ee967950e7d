// NodeJournal: the node's durable event journal (docs/storage.md, "The node
// journal") — the first user of the storage engine (core/storage).
//
// What it holds: one record per state-changing event, with its evidence
// (the event's fields): membership verdicts and transitions (member_*,
// peer_*), node lifecycle (node_*, membership_*, incarnation_*), key and
// identity events (key_*, identity_*, security*), and every event at warn
// or error level. Per-packet paths never log at info or above (log.h), so
// the journal grows with state changes, not traffic. A record's payload is
// compact JSON: {"t_us": wall clock, "level", "event", "fields": {...}};
// fields over kJournalRecordBytesMax are replaced by {"truncated_bytes": n}.
//
// Where: segments named journal-<seq>.seg (storage::segment_name) in the
// node's data directory, beside the key and incarnation files:
// `meshlog verify DATA_DIR` and `meshlog dump DATA_DIR --json` read it
// (they find the "journal" prefix on their own).
//
// How it is used: the journal is a Log decorator. Every event goes on to
// the inner log unchanged; journaled ones are also queued (bounded:
// kJournalQueueMax; overflow is dropped and counted, never blocks the
// caller). One writer fiber (start()) drains the queue: it appends the
// batch and, unless the policy is `none`, syncs it — one fdatasync per
// batch, so the journal group-commits on its own. Only the writer (or
// close() when the writer is idle) touches the log: no I/O lock contention
// from non-fiber callers.
//
// Recovery (open()): the log recovers (torn tail cut and counted) and the
// journal logs `journal_opened` with the records recovered. Corruption
// before the tail (bit rot, a misdirected write) makes open() fail with
// Errc::corrupt after logging `journal_corrupt` (segment, offset, seq,
// remedy): the node refuses to start past it until the operator runs
// `meshlog verify` / `meshlog repair DATA_DIR --truncate-after-corruption`.
// An I/O failure later (EIO, ENOSPC, a failed fsync) fails the log for good
// (append_log.h): the journal logs `journal_failed` once and stops
// journaling (counted) — the mesh keeps running; restart to recover.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/env/clock.h"
#include "core/env/disk.h"
#include "core/env/env.h"
#include "core/env/log.h"
#include "core/env/runtime.h"
#include "core/storage/append_log.h"

namespace meshd {

constexpr std::string_view kJournalPrefix = "journal";
constexpr size_t kJournalQueueMax = 4096;           // queued, not yet appended
constexpr size_t kJournalRecordBytesMax = 4096;     // one record's payload
constexpr uint64_t kJournalSegmentBytes = uint64_t{4} << 20;  // small: a journal is events

struct JournalOptions {
  storage::SyncPolicy sync = storage::SyncPolicy::group;
  uint64_t segment_bytes = kJournalSegmentBytes;
};

// `env` with its log replaced by `log` (the journal). Like with_network
// (env.h), it names every member, so a new one is never dropped.
inline Env with_log(const Env& env, Log& log) {
  return Env{env.clock, env.network, env.disk, env.random, env.runtime, log, env.metrics, env.buggify};
}

// True if `event` at `level` belongs in the journal (see above).
bool journaled_event(LogLevel level, std::string_view event);

class NodeJournal final : public Log {
 public:
  // Recovers the journal in `disk`. `inner` receives every event and the
  // storage engine's own (storage_torn_tail, storage_corruption, ...).
  static Result<std::unique_ptr<NodeJournal>> open(Disk& disk, Runtime& runtime, const Clock& clock, Log& inner,
                                                   JournalOptions options);
  ~NodeJournal() override;
  NodeJournal(const NodeJournal&) = delete;
  NodeJournal& operator=(const NodeJournal&) = delete;

  // Log: forwards to the inner log; queues journaled events.
  bool enabled(LogLevel level) const override;
  void write(LogLevel level, std::string_view event, const nlohmann::json& fields) override;

  // Spawns the writer fiber. Before it, events only queue.
  Status start();
  // Graceful stop: appends and syncs what is queued (at once if the writer
  // is idle, else the writer does it), then the writer exits. Later events
  // go to the inner log only.
  void close();
  // Appends everything queued and syncs (policy permitting). Returns at
  // once if a drain is already under way (the writer parked in the disk).
  Status drain();

  struct Counters {
    uint64_t recovered_records = 0;  // records found at open
    uint64_t journaled = 0;          // records appended this life
    uint64_t dropped_queue_full = 0;
    uint64_t dropped_failed = 0;     // after the log failed or closed
    uint64_t truncated_fields = 0;
  };
  const Counters& counters() const { return counters_; }
  const storage::AppendLog& log() const { return *log_; }
  uint64_t durable_end() const { return log_->durable_end(); }
  nlohmann::json status() const;

 private:
  NodeJournal(Runtime& runtime, const Clock& clock, Log& inner, JournalOptions options,
              std::unique_ptr<storage::AppendLog> log);
  void writer_loop();
  std::vector<uint8_t> encode(LogLevel level, std::string_view event, const nlohmann::json& fields);
  void note_failure(const Status& s);

  Runtime& runtime_;
  const Clock& clock_;
  Log& inner_;
  JournalOptions opt_;
  std::unique_ptr<storage::AppendLog> log_;
  std::deque<std::vector<uint8_t>> queue_;
  Runtime::WaitList queue_waiters_;
  std::optional<Runtime::FiberId> writer_;
  bool draining_ = false;
  bool closed_ = false;
  bool failed_logged_ = false;
  Counters counters_;
};

}  // namespace meshd
