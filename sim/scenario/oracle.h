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
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/membership/liveness.h"
#include "core/transport/secure_transport.h"
#include "sim/scenario/scenario.h"
#include "sim/world.h"

namespace meshd::sim {

constexpr size_t kViolationsMax = 100;  // beyond this only the count grows

// Ground truth shared by the oracles (LivenessOracle, MembershipOracle).
using RunningFn = std::function<bool(size_t node)>;
// Up, not paused, and its service started (running(i)).
bool node_alive(const World& world, const RunningFn& running, size_t i);
// Nothing stands between i and j: no block, clog or total loss either way.
bool link_open(World& world, size_t i, size_t j);

class LivenessOracle {
 public:
  using RunningFn = sim::RunningFn;

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

// SecurityOracle: the transport's promises, checked at the seal and
// delivery sites of every node (SecureTransport's TransportObserver hook):
//  * no nonce reuse: a (key id, counter) pair is sealed at most once in the
//    whole run (key ids are public BLAKE2b fingerprints of session keys,
//    so the same key on two nodes or two incarnations would collide too);
//  * integrity: every delivered plaintext was sealed by its peer under that
//    key and counter, with identical bytes (else forged/modified);
//  * no replay: a (key id, counter) pair is delivered at most once;
//  * replay window: a counter more than kReplayWindowPackets below the
//    highest counter already delivered under that key is never delivered
//    (the window's bottom edge; the aimed `replay_edge` attacker probes it);
//  * key lifetime (once set_key_lifetime() was called): a node neither seals
//    nor delivers under a key older than reject_after on its own monotonic
//    clock. A key's age is measured from its first seal (sealer's clock)
//    or first delivery (receiver's clock), both no earlier than the
//    session's establishment, so the rule never fires early.
// Memory: one entry per sealed packet (a 60 s, 5-node run: ~25k entries).
class SecurityOracle final : public transport::TransportObserver {
 public:
  // The node-local monotonic clock of the node holding `id`; nullopt if
  // no running node holds it.
  using LocalClock = std::function<std::optional<int64_t>(const NodeId& id)>;
  void set_key_lifetime(int64_t reject_after_us, LocalClock clock) {
    reject_after_us_ = reject_after_us;
    clock_ = std::move(clock);
  }
  void on_seal(const NodeId& from, const NodeId& to, const crypto::KeyUse& use,
               std::span<const uint8_t> plaintext) override;
  void on_deliver(const NodeId& at, const NodeId& from, const crypto::KeyUse& use,
                  std::span<const uint8_t> plaintext) override;
  // Records a violation found by another security check (recovery, clones).
  void violation(std::string text);

  const std::vector<std::string>& violations() const { return violations_; }
  uint64_t violation_count() const { return violation_count_; }
  uint64_t seals() const { return seals_; }
  uint64_t deliveries() const { return deliveries_; }
  // Deliveries on keys whose window had slid by a whole window (the
  // bottom edge can be probed), and seals or deliveries under keys older
  // than 2/3 of reject_after (past the rekey point): coverage preconditions.
  uint64_t deliveries_window_slid() const { return deliveries_window_slid_; }
  uint64_t uses_past_rekey() const { return uses_past_rekey_; }

 private:
  // Counters under one key are sealed in order 0, 1, 2, ... (Session), so
  // a key's log is indexed by counter: O(1) per packet after the key lookup
  // (a handful of keys per run). kNotSealed marks a gap.
  static constexpr uint64_t kNotSealed = 0;
  struct KeyLog {
    NodeId from, to;
    std::vector<uint64_t> digest;   // by counter; never kNotSealed once sealed
    std::vector<bool> delivered;    // by counter
    bool any_delivered = false;
    uint64_t highest_delivered = 0;
    std::optional<int64_t> first_seal_local_us;     // sealer's monotonic clock
    std::optional<int64_t> first_deliver_local_us;  // receiver's monotonic clock
  };
  void check_lifetime(const KeyLog& log, std::optional<int64_t>& first_local_us, const NodeId& node,
                      std::string_view what, const crypto::KeyUse& use);
  int64_t reject_after_us_ = 0;  // 0: lifetime not checked
  LocalClock clock_;
  uint64_t deliveries_window_slid_ = 0;
  uint64_t uses_past_rekey_ = 0;
  std::map<uint64_t, KeyLog> keys_;  // by key id
  std::vector<std::string> violations_;
  uint64_t violation_count_ = 0;
  uint64_t seals_ = 0;
  uint64_t deliveries_ = 0;
};

}  // namespace meshd::sim
