// The "raft" block of a scenario (scenarios/raft-*.json): when present the
// run is a Raft run (raft_runner.h): nodes 0..voters-1 are voters running
// RaftHost + KvStore, the other nodes are KV clients.
//
//   "raft": {
//     "voters": 3,                       // 1..7; nodes - voters clients (>= 1)
//     "heartbeat_ms": 100, "election_timeout_ms": 1000,  // randomized in [t, 2t)
//     "pre_vote": true, "check_quorum": true, "inflight_max": 8,
//     "keys": 3,                         // keys the clients touch (small: contention)
//     "op_interval_ms": 20,              // a client's pause between operations
//     "client_timeout_ms": 300,          // then it retries (same seq) at the next voter
//     "read_percent": 30, "cas_percent": 30,   // the rest are puts
//     "value_bytes": 0,                  // values padded to this size (big values: small batches)
//     "fsync_latency_us": 500,           // every voter's disk
//     "drift_ppm_max": 0,                // each voter's clock drifts uniformly in ±this
//     "crash_after_vote_percent": 0,     // a persisted vote crashes the voter before it is sent
//     "leader_within_ms": 6000,          // after the storm: one leader all up voters follow
//     "elections_max": 0,                // > 0: more successful elections in the run is a violation
//     "storm": {"start_ms": 1000, "end_ms": 9000,
//               "interval_ms_min": 300, "interval_ms_max": 1500,
//               "kinds": ["partition_flip", "isolate_leader", "one_way_leader", "pause_leader",
//                         "fsync_spike", "crash_leader", "crash_voter", "drift", "isolate_follower"],
//               "fsync_spike_us": 400000, "down_ms_max": 1500}
//   }
// Errors name the field and the line (core/node/json_fields.h).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/env/status.h"
#include "core/node/json_fields.h"

namespace meshd::sim {

enum class StormKind : uint8_t {
  partition_flip, isolate_leader, one_way_leader, pause_leader, fsync_spike, crash_leader, crash_voter, drift,
  isolate_follower
};
constexpr size_t kStormKinds = 9;
std::string_view storm_kind_name(StormKind k);

struct RaftStorm {
  int64_t start_ms = 0, end_ms = 0;  // end_ms == start_ms: no storm
  int64_t interval_ms_min = 300, interval_ms_max = 1500;
  std::vector<StormKind> kinds;
  int64_t fsync_spike_us = 400'000;
  int64_t down_ms_max = 1500;
};

struct RaftSpec {
  int64_t voters = 3;
  int64_t heartbeat_ms = 100;
  int64_t election_timeout_ms = 1000;
  bool pre_vote = true;
  bool check_quorum = true;
  int64_t inflight_max = 8;
  int64_t keys = 3;
  int64_t op_interval_ms = 20;
  int64_t client_timeout_ms = 300;
  int64_t read_percent = 30;
  int64_t cas_percent = 30;
  int64_t value_bytes = 0;
  int64_t fsync_latency_us = 500;
  int64_t drift_ppm_max = 0;
  int64_t crash_after_vote_percent = 0;
  int64_t leader_within_ms = 6000;
  int64_t elections_max = 0;
  RaftStorm storm;
};

Status parse_raft_spec(const JsonDoc& doc, const nlohmann::json& obj, const std::string& path, RaftSpec& out);

}  // namespace meshd::sim
