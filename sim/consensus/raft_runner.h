// run_raft_scenario: a scenario with a "raft" block (raft_spec.h).
//
// Nodes 0..voters-1 run RaftVoterService, the rest RaftClientService
// (raft_service.h). Each voter's disk has the spec's fsync latency (torn
// writes on), each voter's clock a drift drawn in ±drift_ppm_max. The
// scenario's own faults apply as in any run; on top, the election storm:
// from storm.start_ms to storm.end_ms, every interval_ms_min..max (drawn
// from the seed's ("raft", "storm") stream) the previous step is undone
// (network healed, disk restored) and a new one drawn from storm.kinds:
//   partition_flip  voters split at random in two sides (clients stay
//                   connected to every voter)
//   isolate_leader  the current leader cut from every other node
//   one_way_leader  nothing reaches the leader; it can still send
//   pause_leader    the leader's process stopped for 1.5..3 election
//                   timeouts (SIGSTOP), then resumed
//   fsync_spike     a random voter's fsync takes storm.fsync_spike_us
//   crash_leader    the leader crashes; restarts after 0..down_ms_max
//   crash_voter     a random voter likewise
//   drift           a random voter's clock drift redrawn in ±drift_ppm_max
//   isolate_follower a voter that is not the leader cut from every other node
// At storm.end_ms everything is healed and every down voter restarted.
// Then within leader_within_ms there must be a stable leader: one up voter
// leading, every up voter in its term following it (polled every 10 ms).
//
// With elections_max > 0, more successful elections is a violation
// (disruption: a rejoining voter must not depose a healthy leader).
// Checked on every seed: RaftOracle (raft_oracle.h) and linearizability of
// the client history (linearizability.h). RunResult::raft carries the
// figures: leader-crash -> new leader times, time to a stable leader after
// the storm, availability during the storm (share of 100 ms windows in
// which some client operation completed), operations completed, entries
// committed, terms, elections.
#pragma once

#include "sim/scenario/runner.h"

namespace meshd::sim {

RunResult run_raft_scenario(const Scenario& scenario, const RunOptions& options);

}  // namespace meshd::sim
