// MembershipOracle: checks SWIM + Lifeguard's promises (docs/membership.md,
// "Simulator") against the simulator's ground truth — the same truth the
// LivenessOracle uses (node_alive, link_open in oracle.h), plus which nodes
// left gracefully (the `leave` fault).
//
// A *live member* is a node that is alive (up, not paused, started) and has
// not left. Inputs: each node's identity at every boot (on_boot), every
// membership event (on_event), every SWIM datagram sent (on_sent), every
// fault (on_fault, after it is applied); checks read a live member's
// member table through `view` (read-only).
//  * completeness — a crashed node (still down at the deadline) is
//    `failed` in the table of every live member within detect_failed_within
//    (a member that booted after the crash may instead not know it at all);
//    detection latency = crash -> that observer's first `failed` event.
//  * graceful leave — a node that left is `left` (not failed) in every live
//    member's table within leave_within.
//  * convergence — after a heal (heal, unblock, unclog), every live
//    member's set of `alive` members (itself included) equals the set of
//    live members, within converge_within; polled every kMembershipPollUs.
//    A later fault cancels the watch. The same watch from t=0 measures the
//    initial join (join_us; checked against converge_within too).
//  * rejoin — a restarted node is `alive` at its new (higher) incarnation in
//    every live member's table within rejoin_within.
//  * flapping — per (observer, target) alive -> suspect -> alive cycles;
//    more than flaps_max for one pair is a violation.
//  * accuracy — a `failed` event about a live member that has been fully
//    connected (every link open, alive) for longer than the grace
//    max(detect_failed_within, converge_within) is a false positive:
//    always counted, a violation only with no_false_failed.
// Violations are capped at kViolationsMax texts (the count keeps growing).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/membership/swim.h"
#include "sim/scenario/oracle.h"

namespace meshd::sim {

constexpr int64_t kMembershipPollUs = 50'000;

class MembershipOracle {
 public:
  // The SWIM member of node i if it is running one, else nullptr.
  using ViewFn = std::function<const membership::SwimMember*(size_t node)>;

  MembershipOracle(World& world, const MembershipInvariants& invariants, RunningFn running, ViewFn view);

  // Call at t=0 after start_all (starts the join watch).
  void start();
  void on_boot(size_t node, const NodeId& id, uint64_t incarnation);
  void on_event(size_t observer, const membership::MemberEvent& event);
  void on_sent(size_t node) { ++sent_; (void)node; }
  // After the fault was applied.
  void on_fault(const Fault& fault);

  const std::vector<std::string>& violations() const { return violations_; }
  uint64_t violation_count() const { return violation_count_; }
  const std::vector<int64_t>& detection_us() const { return detection_us_; }
  const std::vector<int64_t>& convergence_us() const { return convergence_us_; }
  const std::vector<int64_t>& join_us() const { return join_us_; }
  const std::vector<int64_t>& rejoin_us() const { return rejoin_us_; }
  const std::vector<int64_t>& leave_us() const { return leave_us_; }
  uint64_t false_failed() const { return false_failed_; }
  uint64_t flaps() const { return flaps_; }
  uint64_t flaps_max_pair() const { return flaps_max_pair_; }
  uint64_t sent() const { return sent_; }

 private:
  struct Pair {
    std::optional<membership::MemberStatus> status;
    bool suspected_from_alive = false;
    uint64_t flaps = 0;
    bool flap_reported = false;
    bool crash_detected = false;
    bool leave_seen = false;
  };
  enum class WatchKind : uint8_t { join, converge, rejoin };

  bool live_member(size_t i) const;
  bool fully_connected(size_t j) const;
  std::optional<size_t> node_of(const NodeId& id) const;
  const membership::Member* entry(size_t observer, size_t target) const;
  Pair& pair(size_t i, size_t j) { return pairs_[i * n_ + j]; }
  void refresh_connectivity();
  void check_crash(size_t j, uint64_t generation);
  void check_leave(size_t j, uint64_t generation);
  bool converged() const;
  bool rejoined(size_t j) const;
  void poll(WatchKind kind, size_t node, uint64_t generation, int64_t since_us, int64_t deadline_us);
  void violation(std::string text);

  World& world_;
  MembershipInvariants inv_;
  RunningFn running_;
  ViewFn view_;
  size_t n_;
  std::vector<Pair> pairs_;
  std::map<NodeId, size_t> node_of_id_;
  std::vector<NodeId> id_;               // current identity per node
  std::vector<uint64_t> boot_incarnation_;
  std::vector<int64_t> boot_us_;
  std::vector<bool> left_;
  std::vector<uint64_t> node_gen_;       // bumped by every node fault
  std::vector<int64_t> crash_us_, leave_at_us_;
  std::vector<bool> connected_;          // fully_connected at the last refresh
  std::vector<int64_t> connected_since_us_;
  uint64_t converge_gen_ = 0;
  std::vector<std::string> violations_;
  uint64_t violation_count_ = 0;
  std::vector<int64_t> detection_us_, convergence_us_, join_us_, rejoin_us_, leave_us_;
  uint64_t false_failed_ = 0;
  uint64_t flaps_ = 0;
  uint64_t flaps_max_pair_ = 0;
  uint64_t sent_ = 0;
};

}  // namespace meshd::sim
