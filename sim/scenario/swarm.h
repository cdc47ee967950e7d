// Swarm mode: each seed draws its own scenario from ranges — which fault
// categories are enabled at all and at what rate, the network's baseline
// imperfections, the cluster size, liveness knobs and clock spread — then
// generates a fault timeline from them. Swarm testing (Groce et al., 2012)
// finds more bugs than one uniform mix because a seed that disables, say,
// partitions lets crashes reach states partitions would have masked.
//
// Determinism: every draw comes from Random::from_seed(seed) streams under
// the component "swarm" — "profile" for the knobs and "faults:<category>"
// for each category's timeline — so swarm draws never perturb the run's
// own streams (network, disks, nodes, clocks) and enabling one category
// never moves another category's faults. The seed alone reproduces the run.
//
// Honest oracles: the bounds are derived from the drawn knobs, so a correct
// implementation passes every seed:
//   detect_down <= (down_after + latency_max + hold_max) * drift slack + margin,
//                  where hold_max is the longest clog or pause episode: the
//                  liveness protocol times a peer from the *arrival* of its
//                  last ACK, so ACKs held in a clog (or pings queued at a
//                  paused node and answered on resume) legitimately restart
//                  the timeout that long after the peer became unreachable
//   detect_up   <= rounds * (ping period + 2 * latency_max + handshake)
//                  * slack + margin, handshake = retry_max + 2 * latency_max
//                  (a peer back from a crash needs a new session),
//                  where rounds makes a ping/ack round-trip failing that
//                  many times in a row under the drawn loss < 1e-9
//   no_false_down only when nothing loses datagrams while a pair is
//                  reachable (no baseline loss/corruption, no lossy links).
// Membership: when the base scenario has a "membership" block, every node
// also runs SWIM with the base's knobs and every fault category applies to
// it. Its bounds are honest for any mix: completeness, rejoin and
// false-failed are counted, not bounded (a block left standing or a storm
// can legitimately delay them); convergence after a heal is bounded by the
// base's detect_failed + converge bounds + the longest hold, and only when
// no block is left standing (a sparse topology need not converge).
// Attackers (category "attacker"): episodes of the transport attacker
// (sim/attacker.h) with a drawn subset of kinds and rate; with membership,
// the membership attacker too (sim/member_attacker.h) when the base has one.
// Every episode is repaired 10 s before the end (quiet tail) so end-of-run
// checks see a settled mesh. A node left crashed simply never gets an "up" expectation: the oracle
// only expects what the truth (sim/scenario/oracle.h) changes to.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sim/scenario/scenario.h"

namespace meshd::sim {

constexpr size_t kSwarmNodesMin = 3;
constexpr size_t kSwarmNodesMax = 7;
constexpr size_t kSwarmFaultsMax = 400;
constexpr int64_t kSwarmEpisodesPerMinuteMax = 6;

enum class SwarmCategory : uint8_t {
  // attacker last: appending keeps every earlier category's draws as they were.
  crash, pause, partition, block, clog, lossy_link, blackhole, clock, disk, wipe, attacker, count_
};
std::string_view swarm_category_name(SwarmCategory c);

struct SwarmCategoryProfile {
  bool enabled = false;
  bool forced_off = false;      // drawn on, switched off by --swarm-without
  int64_t episodes_per_minute = 0;
  size_t episodes = 0;          // generated
};

struct SwarmProfile {
  uint64_t seed = 0;
  SwarmCategoryProfile categories[static_cast<size_t>(SwarmCategory::count_)];
  int64_t latency_us_max = 0;   // the bound used for the invariants
  int64_t hold_us_max = 0;      // longest clog/pause episode (delayed evidence)
  int64_t drift_ppm_bound = 0;
  int64_t detect_up_rounds = 1;
  bool membership = false;       // SWIM runs (the base scenario has a "membership" block)
  bool permanent_block = false;  // a block episode left standing (no convergence bound)
  std::string no_false_down_reason;  // why it is off ("" when on)
};

struct SwarmRun {
  Scenario scenario;   // fully resolved: run it like any scenario
  SwarmProfile profile;
};

// Bit i set: category i is forced off (after its draws, so every other
// draw of the seed stays the same).
using SwarmCategoryMask = uint32_t;
std::optional<SwarmCategory> parse_swarm_category(std::string_view name);

// `base` supplies the name and the run length; everything else is drawn.
SwarmRun swarm_scenario(const Scenario& base, uint64_t seed, SwarmCategoryMask forced_off = 0);

nlohmann::json swarm_profile_json(const SwarmRun& run);
// Human-readable multi-line summary, every line prefixed "swarm: ".
std::string swarm_profile_text(const SwarmRun& run);

}  // namespace meshd::sim
