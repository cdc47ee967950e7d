// RaftHost: runs one RaftNode (raft.h) on an Env with the durability order
// Raft needs, which the generic ProtocolDriver (sends before its output
// handler runs) cannot give: for every batch of inputs
//
//   1. persist: hard state and entries appended to RaftStorage, one fsync;
//   2. send:    only then the batch's datagrams;
//   3. apply:   only then the newly committed entries (options.apply).
//
// One fiber ("raft") sleeps until the machine's next deadline or an input.
// Inputs (datagrams, proposals) are queued (at most kInboxMax; beyond it a
// datagram is dropped and counted: Raft retries everything it needs) and
// the fiber handles every queued input, plus a due tick, into one output
// before persisting: inputs that arrive while an fsync runs share the next
// one (group commit).
//
// Failure: if storage cannot be opened (corrupt records, I/O error) the
// host never starts the machine (start() returns the error); if persist()
// fails the host stops for good — a voter that cannot make its votes and
// acknowledgements durable must fall silent, not guess.
//
// Fault hook (simulator only): options.after_persist is called after each
// durable persist that changed the hard state; returning false stops the
// host before it sends anything ("crash between persisting a vote and
// sending it": the owner then crashes the process).
//
// Counters (prefix meshd_raft): received_total, dropped_total{reason},
// inbox_dropped_total, sent_total, send_failed_total, fsyncs_total.
// Single-threaded; not copyable.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <optional>

#include "core/consensus/raft.h"
#include "core/consensus/raft_storage.h"
#include "core/env/env.h"

namespace meshd::consensus {

constexpr size_t kInboxMax = 1024;

struct RaftHostOptions {
  RaftConfig raft;
  std::string log_prefix = "raft";
  std::function<void(const Entry&)> apply;                  // committed entries, in order, once each per boot
  std::function<bool(const HardState&)> after_persist;      // false: stop before sending (fault hook)
  std::function<void(const RaftOutput&)> on_output;         // observers (after send, before apply)
};

class RaftHost {
 public:
  RaftHost(Env& env, RaftHostOptions options);
  ~RaftHost();
  RaftHost(const RaftHost&) = delete;
  RaftHost& operator=(const RaftHost&) = delete;

  // Opens storage, builds the machine from what it recovered, spawns the fiber.
  Status start();
  void stop();
  bool running() const { return machine_ != nullptr && !stopped_; }

  void on_datagram(const Address& from, std::span<const uint8_t> bytes);
  // Queues a proposal; it is proposed when the fiber next runs (dropped if
  // this voter is no longer leader by then: the client retries).
  void submit(std::vector<uint8_t> command);

  const RaftNode* machine() const { return machine_.get(); }  // null before start()
  const RaftStorage* storage() const { return storage_.get(); }

 private:
  struct Input {
    Address from;
    std::vector<uint8_t> bytes;
    bool proposal = false;
  };
  void run();
  bool flush(RaftOutput& out);  // false: stopped

  Env& env_;
  RaftHostOptions opt_;
  std::unique_ptr<RaftStorage> storage_;
  std::unique_ptr<RaftNode> machine_;
  std::deque<Input> inbox_;
  Event wake_;
  std::optional<Runtime::FiberId> fiber_;
  bool stopped_ = false;
  uint64_t& received_;
  uint64_t& inbox_dropped_;
  uint64_t& sent_;
  uint64_t& send_failed_;
  uint64_t& fsyncs_;
  std::array<uint64_t*, kRaftDropReasons> dropped_{};
};

}  // namespace meshd::consensus
