// MonotonicOracle: a node's boot count (Node::incarnation(), persisted in
// its incarnation record, core/node/incarnation.h) strictly increases
// across restarts for as long as the node keeps its identity — through
// crashes, clock steps and a corrupt incarnation record. A wipe or a copied
// disk gives the node another identity and starts a new sequence.
//
// The one excused case is the documented recovery: a node that finds its
// record unreadable re-derives its count from the wall clock,
// max(wall_s, 1) + 1 (core/node/incarnation.cpp); if the wall clock stepped
// back far enough, that value — and the clean boots that count on from it —
// may not exceed an earlier life's (pinned as
// scenarios/security-corrupt-incarnation-clock-step.json). So a boot that
// does not increase is excused only when the record may have been
// unreadable at some boot attempt since the previous successful boot (a
// read_bitrot disk fault stood; failed boots are invisible here) and the
// count is at least 2 (a recovery never yields 1). Excused boots are
// counted (excused()), not reported.
//
// Violations name the broken rule, e.g. "incarnation did not increase:
// node 3 boot 5 → 5 after restart at t=12.345s". Later protocols add their
// sequences here (Raft terms and log indexes). Violation texts are capped
// at kViolationsMax (the count keeps growing).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace meshd::sim {

class MonotonicOracle {
 public:
  struct Boot {
    size_t node = 0;
    std::string identity;   // NodeId hex ("" in plaintext mode)
    uint64_t boot = 0;      // Node::incarnation()
    int64_t at_us = 0;      // simulated time of the boot
    int64_t wall_us = 0;    // the node's wall clock at boot
    bool record_may_be_unreadable = false;  // a read_bitrot fault stood since the previous boot
  };

  void on_boot(const Boot& b);
  // A wipe: the next boot starts a new sequence even in plaintext mode
  // (where the identity cannot tell).
  void on_wipe(size_t node) { last_.erase(node); }

  const std::vector<std::string>& violations() const { return violations_; }
  uint64_t violation_count() const { return violation_count_; }
  uint64_t boots() const { return boots_; }
  uint64_t excused() const { return excused_; }

 private:
  void violate(std::string text);

  std::map<size_t, Boot> last_;
  std::vector<std::string> violations_;
  uint64_t violation_count_ = 0;
  uint64_t boots_ = 0;
  uint64_t excused_ = 0;
};

}  // namespace meshd::sim
