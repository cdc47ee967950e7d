// LivenessOracle: checks the liveness protocol's promises against the
// simulator's ground truth.
//
// For every ordered pair (observer i, target j) the truth is "j is up, not
// paused, its node started, and no block, clog or total loss stands between
// i and j in either direction". Whenever the truth (or the observer's own
// life: restart, resume) changes, the oracle expects i's verdict on j to
// match within a bound:
//   * completeness: truth false  -> i says `down` within detect_down_within
//   * recovery:     truth true   -> i says `up`   within detect_up_within
// and, with no_false_down, i never moves a peer to `down` while the truth
// has been true for longer than detect_up_within (accuracy without loss).
// Expectations that the truth overtakes (a crash healed before its bound)
// are dropped. Measured latencies feed the run's detection/recovery
// distributions. The oracle never looks inside a node except through the
// verdict callbacks, so it tests the real behaviour.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/membership/liveness.h"
#include "sim/scenario/scenario.h"
#include "sim/world.h"

namespace meshd::sim {

constexpr size_t kViolationsMax = 100;  // beyond this only the count grows

class LivenessOracle {
 public:
  using RunningFn = std::function<bool(size_t node)>;

  LivenessOracle(World& world, const Invariants& invariants, RunningFn running);

  // Re-reads the ground truth; call after every fault and at start.
  void refresh(std::string_view cause);
  void on_verdict(size_t observer, size_t target, membership::PeerState to);

  const std::vector<std::string>& violations() const { return violations_; }
  uint64_t violation_count() const { return violation_count_; }
  const std::vector<int64_t>& detection_us() const { return detection_us_; }
  const std::vector<int64_t>& recovery_us() const { return recovery_us_; }
  uint64_t false_downs() const { return false_downs_; }

 private:
  struct Pair {
    bool truth = false;
    int64_t truth_since_us = 0;
    membership::PeerState view = membership::PeerState::unknown;
    uint64_t generation = 0;
    bool pending = false;
    std::string cause;
  };
  bool observer_alive(size_t i) const;
  bool truth(size_t i, size_t j) const;
  Pair& pair(size_t i, size_t j) { return pairs_[i * n_ + j]; }
  void expect(size_t i, size_t j, std::string_view cause);
  void check(size_t i, size_t j, uint64_t generation);
  void violation(std::string text);

  World& world_;
  Invariants inv_;
  RunningFn running_;
  size_t n_;
  std::vector<Pair> pairs_;
  std::vector<uint64_t> seen_epoch_;  // incarnation * 2 + alive, as last seen
  std::vector<std::string> violations_;
  uint64_t violation_count_ = 0;
  std::vector<int64_t> detection_us_;
  std::vector<int64_t> recovery_us_;
  uint64_t false_downs_ = 0;
};

}  // namespace meshd::sim
