// run_scenario: builds a World from a Scenario and a seed, runs it with the
// oracles (membership always: every node runs SWIM; liveness when the
// scenario runs the reachability probe; security), and reports the outcome.
//
// Everything the run does is a function of (scenario, seed): per-node clock
// offsets and drifts are drawn from the seed's "scenario/clocks" stream,
// faults come from the scenario's timeline. Wall-clock time is not measured
// here (sim/ has no clocks); tools/meshsim times the call.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "sim/scenario/planted_bug.h"
#include "sim/scenario/scenario.h"
#include "sim/trace.h"

namespace meshd::sim {

struct RunOptions {
  uint64_t seed = 1;
  bool record_trace = false;   // keep every TraceEvent (divergence, --trace)
  bool log_stderr = false;     // print node logs as they happen
  int64_t until_us = -1;       // stop early (then dump state); -1: full run
  bool final_state = true;     // snapshot every node as JSON at the end (~1 KiB per peer view)
  PlantedBug planted_bug = PlantedBug::none;  // test-only (sim/scenario/planted_bug.h)
  bool history = false;        // Raft runs: keep the client history as JSON lines (RunResult::history_jsonl)
};

struct Distribution {
  size_t count = 0;
  int64_t p50 = 0, p99 = 0, max = 0;
};
Distribution distribution_of(std::vector<int64_t> samples);

// The MembershipOracle's measurements (sim/scenario/membership_oracle.h);
// every run has them (SWIM always runs).
struct MembershipFigures {
  bool enabled = false;
  Distribution detection_us;    // crash -> observer says failed
  Distribution convergence_us;  // heal -> alive sets agree
  Distribution join_us;         // start -> alive sets agree
  Distribution rejoin_us;       // restart -> alive at the new incarnation everywhere
  Distribution leave_us;        // leave -> observer says left
  std::vector<int64_t> detection_samples_us, convergence_samples_us, join_samples_us, rejoin_samples_us,
      leave_samples_us;
  uint64_t false_failed = 0;    // `failed` about a live, connected node
  uint64_t flaps = 0;           // alive->suspect->alive, all pairs
  uint64_t flaps_max_pair = 0;  // the worst (observer, target) pair
  uint64_t sent = 0;            // SWIM datagrams sent by all nodes
};

struct RunResult {
  bool passed = false;
  std::vector<std::string> violations;
  uint64_t violation_count = 0;
  uint64_t trace_hash = 0;
  uint64_t events = 0;
  int64_t sim_us = 0;
  size_t nodes = 0;
  Distribution detection_us;   // truth false -> verdict down
  Distribution recovery_us;    // truth true  -> verdict up
  std::vector<int64_t> detection_samples_us;  // raw samples (sweep-wide percentiles)
  std::vector<int64_t> recovery_samples_us;
  std::vector<Fault> fired_faults;            // the realized fault plan, in firing order
  uint64_t false_downs = 0;
  MembershipFigures membership;
  std::map<std::string, uint64_t> network;  // network model counters
  std::map<std::string, uint64_t> security; // SecurityHarness: drops by reason, attacks, handshakes
  std::map<std::string, uint64_t> storage;  // storage runs (sim/storage/): oracle and disk counters
  nlohmann::json raft;                      // Raft runs (sim/consensus/): figures (docs/consensus.md)
  std::string history_jsonl;                // Raft runs with RunOptions::history (sim/consensus/history.h)
  std::vector<TraceEvent> trace;            // when record_trace
  nlohmann::json final_state;               // every node's snapshot at the end
  // In-code fault points (core/env/buggify.h), by point name: enabled for
  // this run, and how often each was evaluated and fired. Empty when off.
  struct BuggifyStat {
    bool enabled = false;
    uint64_t evaluated = 0;
    uint64_t fired = 0;
  };
  std::map<std::string, BuggifyStat> buggify;
};

RunResult run_scenario(const Scenario& scenario, const RunOptions& options);

class World;
// Applies one scenario fault to the world (shared by the runners).
void apply_fault(World& world, const Fault& fault);
// Every node's {node, up, state: Service::snapshot()} (the workload runners' final state).
nlohmann::json node_snapshots(World& world, size_t nodes);

}  // namespace meshd::sim
