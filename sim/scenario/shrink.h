// Shrink: delta-debugging a failing scenario down to a minimal fault plan
// that still fails the same way.
//
// The caller supplies the oracle: `still_fails(candidate)` runs the
// candidate (meshsim runs it in a forked child under the same seed) and
// says whether it fails with the *same* failure kind as the original. The
// shrinker only ever proposes valid scenarios and only keeps a change when
// the predicate holds, so the result fails like the input (1-minimality per
// pass, not a global minimum). Passes, repeated until a round changes
// nothing or the run budget is spent:
//   1. faults: ddmin (Zeller & Hildebrandt) — drop halves, then quarters…
//      then single faults;
//   2. durations: each repair fault (restart, resume, heal, unblock,
//      unclog, link restore, disk repair) moves halfway towards the fault
//      it repairs, while the failure persists;
//   3. nodes: remove one node at a time (highest first), renumbering the
//      others and dropping the faults that only concerned it;
//   4. run length: binary search for the shortest duration (whole ms)
//      that still fails; faults after it are dropped.
// Deterministic: no randomness, candidates in a fixed order.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "sim/scenario/scenario.h"

namespace meshd::sim {

constexpr size_t kShrinkRunsDefault = 400;
constexpr size_t kShrinkNodesMin = 2;
constexpr int64_t kShrinkDurationStepUs = 1000;     // duration resolution
constexpr int64_t kShrinkEpisodeUsMin = 100'000;    // stop shortening below this

struct ShrinkStats {
  size_t runs = 0;            // predicate calls
  size_t accepted = 0;        // candidates that kept the failure
  bool budget_exhausted = false;
  std::vector<std::string> log;  // one line per accepted step
};

using StillFails = std::function<bool(const Scenario& candidate)>;

// `failing` must fail (the caller checked). Returns the smallest failing
// scenario found within `runs_max` predicate calls.
struct ShrinkOptions {
  size_t runs_max = kShrinkRunsDefault;
  // Off for failures checked at the end of the run (e.g. "[recovery] at
  // the end ..."): a shorter run would fail them trivially, by ending
  // before the mesh could recover — the shrink would slip to another bug.
  bool shorten_run = true;
};

Scenario shrink_scenario(const Scenario& failing, const StillFails& still_fails, const ShrinkOptions& options,
                         ShrinkStats* stats);

// Candidate builders (exposed for tests).
Scenario with_duration(const Scenario& sc, int64_t duration_us);
Scenario without_node(const Scenario& sc, size_t node);  // requires sc.nodes > 1

}  // namespace meshd::sim
