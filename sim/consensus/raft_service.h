// The two kinds of node of a Raft run (raft_runner.h).
//
// RaftVoterService: a voter. RaftHost (core/consensus/raft_host.h) over the
// node's SimDisk, a KvStore fed with every committed entry, and the KV
// client protocol (kv_wire.h): a request reaching the leader is proposed
// and answered when its entry applies here; elsewhere it is answered
// not_leader with a hint. Everything it does is reported to the
// RaftOracle. The fault hook "crash between persisting a vote and sending
// it" (RaftSpec::crash_after_vote_percent) crashes the process right after
// the fsync of a granted vote, before the vote_resp leaves.
//
// RaftClientService: a KV client. One operation at a time (random key of
// `keys`, get/put/cas by the spec's percentages, values unique per client
// and seq), resent with the same seq to the hinted leader or the next
// voter until answered; every operation goes to the shared history (with
// the simulator's global time).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "core/consensus/kv.h"
#include "core/consensus/kv_wire.h"
#include "core/consensus/raft_host.h"
#include "sim/consensus/history.h"
#include "sim/consensus/raft_oracle.h"
#include "sim/consensus/raft_spec.h"
#include "sim/service.h"

namespace meshd::sim {

class World;

struct RaftRun {
  World& world;
  const RaftSpec& spec;
  RaftOracle& oracle;
  std::vector<HistoryOp>& history;
  std::vector<Address> voters;
};

consensus::RaftConfig raft_config_of(const RaftSpec& spec, const std::vector<Address>& voters, size_t self);

class RaftVoterService final : public Service {
 public:
  RaftVoterService(Env& env, size_t node, RaftRun& run);
  void start() override;
  nlohmann::json snapshot() const override;
  const consensus::RaftNode* machine() const { return host_.machine(); }

 private:
  void on_request(const Address& from, const consensus::KvCommand& c);
  void apply(const consensus::Entry& e);
  bool after_persist(const consensus::HardState& hs);

  Env& env_;
  size_t node_;
  RaftRun& run_;
  RandomStream faults_;
  consensus::KvStore kv_;
  struct Pending {
    uint64_t seq;
    Address reply_to;
  };
  std::map<uint64_t, Pending> pending_;  // by client id; one outstanding request per client
  consensus::RaftHost host_;
};

class RaftClientService final : public Service {
 public:
  RaftClientService(Env& env, size_t node, RaftRun& run);
  void start() override;
  nlohmann::json snapshot() const override;

 private:
  void loop();
  consensus::KvCommand next_command();

  Env& env_;
  size_t node_;
  RaftRun& run_;
  RandomStream rng_;
  uint64_t client_id_;
  uint64_t seq_ = 0;
  size_t target_ = 0;
  std::optional<consensus::KvResponse> answer_;
  Event answered_;
};

}  // namespace meshd::sim
