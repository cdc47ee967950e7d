// A linearizability checker for the KV history (history.h), after Wing &
// Gong (1993) with Lowe's memoization (2017) as Porcupine does it, and
// partitioned by key (P-compositionality: a history is linearizable iff
// each key's sub-history is, since every operation touches one key).
//
// Per key: depth-first search for an order of the operations that (1)
// respects real time — an operation can be placed next only if no
// unplaced operation completed before it was invoked — and (2) matches the
// sequential model of a register with compare-and-set (get returns the
// value; put sets it; cas sets it iff the current value is the expected
// one, and reports whether it did and what it found). Operations whose
// outcome is unknown (never answered) have an infinite completion time,
// may be placed anywhere after their invocation or left out (they may
// never have happened), and their results are not checked. Visited
// (placed set, register value) pairs are memoized. A search over
// kSearchStepsMax steps gives up: the key is reported `undecided` (counted
// apart; not a violation, not a pass).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sim/consensus/history.h"

namespace meshd::sim {

constexpr uint64_t kSearchStepsMax = 2'000'000;

struct LinearizabilityReport {
  size_t keys = 0;
  size_t operations = 0;
  size_t undecided_keys = 0;
  std::vector<std::string> violations;  // one per non-linearizable key
};

LinearizabilityReport check_linearizable(const std::vector<HistoryOp>& ops);

}  // namespace meshd::sim
