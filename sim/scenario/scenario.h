// Scenario: a declarative simulation test (docs/simulation.md, "Writing a
// scenario"). A JSON file names the nodes, the network, the node config
// overrides, a fault timeline and the oracle's bounds:
//
// {
//   "name": "partition-heal",
//   "nodes": 5,                       // 1..kScenarioNodesMax, full mesh of peers
//   "duration_s": 60,
//   "liveness": {"ping_interval_ms": 100, "down_after_ms": 500},
//   "network": {"latency_us_min": 300, "latency_us_mean": 700, "loss": 0.0,
//               "duplicate": 0.0, "reorder": 0.0, "corrupt": 0.0},
//   "clocks": {"offset_ms_max": 1000, "drift_ppm_max": 200},
//   "faults": [ {"at_s": 10, "kind": "partition", "a": [0, 1], "b": [2, 3, 4]},
//               {"at_s": 20, "kind": "heal"} ],
//   "invariants": {"detect_down_within_ms": 1500, "detect_up_within_ms": 1500,
//                  "no_false_down": true,
//                  "membership": {"detect_failed_within_ms": 9000, "converge_within_ms": 6000,
//                                 "flaps_max": 2, "no_false_failed": false}}
// }
//
// Every node runs SWIM + Lifeguard (Node's one failure detector). The
// optional "membership" block sets its knobs (the node config's block
// minus seeds: the seeds are the node's peers); without it SWIM runs with
// SwimConfig's defaults and the MembershipOracle only measures. With it,
// "invariants.membership" bounds the MembershipOracle
// (sim/scenario/membership_oracle.h), and every bound left out there is
// derived from the SWIM timing (sim/scenario/membership_bounds.h).
//
// "liveness" (optional) runs the reachability probe beside SWIM
// (sim/scenario/node_service.h): pairwise ping/ack over the encrypted
// sessions, checked by the LivenessOracle against detect_down/up_within.
// The probe runs when the block is present or a liveness bound is set.
//
// Fault kinds: crash, restart, pause, resume, wipe, leave (node: a graceful
// Node::stop(), which with membership gossips `left`); partition (a, b),
// block / unblock / clog / unclog (from, to), heal; clock_jump (node,
// delta_ms), drift (node, ppm); link (from, to, any network field); disk
// (node, read_bitrot, write_eio, fsync_eio, capacity_bytes). Every error
// names the field and the line. Limits: kScenarioNodesMax nodes,
// kScenarioFaultsMax faults, kScenarioDurationSMax simulated seconds.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/env/status.h"
#include "core/membership/liveness.h"
#include "core/membership/swim.h"
#include "sim/attacker_spec.h"
#include "sim/disk_model.h"
#include "sim/network_model.h"
#include "sim/consensus/raft_spec.h"
#include "sim/storage/storage_spec.h"

namespace meshd::sim {

constexpr size_t kScenarioNodesMax = 4096;
constexpr size_t kScenarioFaultsMax = 10'000;
constexpr int64_t kScenarioDurationSMax = 7 * 24 * 3600;

enum class FaultKind : uint8_t {
  crash, restart, pause, resume, wipe,
  partition, block, unblock, clog, unclog, heal,
  clock_jump, drift, link, disk,
  leave,  // graceful Node::stop() (membership: `left`, not failed)
};
std::string_view fault_kind_name(FaultKind kind);
std::optional<FaultKind> parse_fault_kind(std::string_view name);

struct Fault {
  int64_t at_us = 0;
  FaultKind kind = FaultKind::crash;
  int64_t node = -1;                 // node faults, clock faults, disk
  int64_t from = -1, to = -1;        // link faults
  std::vector<size_t> side_a, side_b;  // partition
  int64_t delta_us = 0;              // clock_jump
  int64_t drift_ppm = 0;             // drift
  LinkConfig link;                   // link
  DiskFaults disk;                   // disk
  int line = 0;                      // where it was written (0: generated)
};

// The MembershipOracle's bounds (0 / -1: not checked).
struct MembershipInvariants {
  int64_t detect_failed_within_us = 0;  // crash -> every live member says failed
  int64_t leave_within_us = 0;          // leave -> every live member says left (default: detect bound)
  int64_t converge_within_us = 0;       // heal -> live members agree on the alive set
  int64_t rejoin_within_us = 0;         // restart -> alive at a higher incarnation everywhere (default: converge)
  int64_t flaps_max = -1;               // alive->suspect->alive per observer per target
  bool no_false_failed = false;         // a false `failed` is a violation (always counted)
  // Time bounds left at 0 are derived from the SWIM timing at parse time
  // (membership_bounds.h). false: they stay 0, i.e. unchecked — swarm runs,
  // whose fault mixes the derivation does not model, and their replays.
  bool derive_unset = true;
};

struct Invariants {
  int64_t detect_down_within_us = 0;   // 0: not checked
  int64_t detect_up_within_us = 0;     // 0: not checked
  bool no_false_down = false;
  MembershipInvariants membership;
};

// In-code fault points (core/env/buggify.h): each point is enabled for a
// run with probability enable_percent; an enabled point fires with
// probability fire_percent at each evaluation. 0/0: off.
struct BuggifySpec {
  int64_t enable_percent = 0;
  int64_t fire_percent = 0;
  bool on() const { return enable_percent > 0 && fire_percent > 0; }
};

struct Scenario {
  std::string name;
  std::string description;
  size_t nodes = 0;
  int64_t duration_us = 0;
  membership::LivenessConfig liveness;  // the reachability probe's timings
  bool liveness_block = false;           // "liveness" given (see runs_liveness_probe)
  std::optional<membership::SwimConfig> membership;  // the "membership" block; absent: SWIM defaults
  LinkConfig network;
  int64_t clock_offset_us_max = 0;
  int64_t clock_drift_ppm_max = 0;
  std::vector<Fault> faults;         // sorted by at_us (stable)
  Invariants invariants;
  SimSecuritySpec security;          // "security" + "attackers" (sim/attacker_spec.h)
  BuggifySpec buggify;               // "buggify"
  std::optional<StorageSpec> storage;  // "storage": a storage crash-consistency run (sim/storage/)
  std::optional<RaftSpec> raft;        // "raft": a Raft + KV run under election storms (sim/consensus/)
};

// Whether nodes run the reachability probe: a "liveness" block, or a
// liveness bound to check (generated scenarios set bounds only).
bool runs_liveness_probe(const Scenario& scenario);

// `what` names the source in errors (usually the file path).
Result<Scenario> parse_scenario(std::string_view json_text, std::string_view what);
Result<Scenario> load_scenario_file(const std::string& path);

}  // namespace meshd::sim
