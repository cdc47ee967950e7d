#include "sim/scenario/oracle.h"

#include <fmt/format.h>

#include "core/crypto/replay_window.h"

namespace meshd::sim {

using membership::PeerState;

LivenessOracle::LivenessOracle(World& world, const Invariants& invariants, RunningFn running)
    : world_(world), inv_(invariants), running_(std::move(running)), n_(world.node_count()),
      pairs_(n_ * n_), seen_epoch_(n_, 0) {}

bool node_alive(const World& world, const RunningFn& running, size_t i) {
  return world.is_up(i) && !world.is_paused(i) && running(i);
}

bool link_open(World& world, size_t i, size_t j) {
  NetworkModel& net = world.network();
  if (net.blocked(i, j) || net.blocked(j, i) || net.clogged(i, j) || net.clogged(j, i)) return false;
  return net.link_config(i, j).loss < 1.0 && net.link_config(j, i).loss < 1.0;
}

bool LivenessOracle::observer_alive(size_t i) const { return node_alive(world_, running_, i); }

bool LivenessOracle::truth(size_t i, size_t j) const {
  return observer_alive(j) && link_open(world_, i, j);
}

void LivenessOracle::violation(std::string text) {
  ++violation_count_;
  if (violations_.size() < kViolationsMax) violations_.push_back(std::move(text));
}

void LivenessOracle::refresh(std::string_view cause) {
  for (size_t i = 0; i < n_; ++i) {
    // An observer's epoch advances whenever it (re)gains the ability to
    // observe (restart, resume): expectations restart from that moment. A
    // restarted process also forgets its verdicts; a resumed one keeps them.
    const bool alive = observer_alive(i);
    const uint64_t epoch = world_.incarnation(i) * 2 + (alive ? 1 : 0);
    const bool new_epoch = epoch != seen_epoch_[i];
    const bool restarted = world_.incarnation(i) != seen_epoch_[i] / 2;
    seen_epoch_[i] = epoch;
    for (size_t j = 0; j < n_; ++j) {
      if (i == j) continue;
      Pair& p = pair(i, j);
      if (restarted) p.view = PeerState::unknown;
      if (!alive) {
        p.pending = false;
        ++p.generation;
        continue;
      }
      const bool t = truth(i, j);
      if (t != p.truth || new_epoch) {
        p.truth = t;
        p.truth_since_us = world_.now_us();
        expect(i, j, cause);
      }
    }
  }
}

void LivenessOracle::expect(size_t i, size_t j, std::string_view cause) {
  Pair& p = pair(i, j);
  ++p.generation;
  p.cause = std::string(cause);
  const PeerState want = p.truth ? PeerState::up : PeerState::down;
  const int64_t bound = p.truth ? inv_.detect_up_within_us : inv_.detect_down_within_us;
  p.pending = (p.view != want);
  if (!p.pending || bound <= 0) return;
  const uint64_t gen = p.generation;
  world_.at(world_.now_us() + bound, [this, i, j, gen] { check(i, j, gen); });
}

void LivenessOracle::check(size_t i, size_t j, uint64_t generation) {
  Pair& p = pair(i, j);
  if (p.generation != generation || !p.pending || !observer_alive(i)) return;
  const bool want_up = p.truth;
  const int64_t bound = want_up ? inv_.detect_up_within_us : inv_.detect_down_within_us;
  violation(fmt::format("t={:.3f}s node {} did not mark node {} {} within {} ms of t={:.3f}s ({}); its verdict: {}",
                        world_.now_us() / 1e6, i, j, want_up ? "up" : "down", bound / 1000,
                        p.truth_since_us / 1e6, p.cause, membership::peer_state_name(p.view)));
  world_.record(TraceKind::check, static_cast<uint32_t>(i), "violation");
  p.pending = false;
}

void LivenessOracle::on_verdict(size_t observer, size_t target, PeerState to) {
  if (observer >= n_ || target >= n_ || observer == target) return;
  Pair& p = pair(observer, target);
  const int64_t now = world_.now_us();
  if (to == PeerState::down && p.truth && inv_.no_false_down &&
      now - p.truth_since_us > inv_.detect_up_within_us) {
    ++false_downs_;
    violation(fmt::format("t={:.3f}s node {} marked reachable node {} down (false positive; reachable since t={:.3f}s)",
                          now / 1e6, observer, target, p.truth_since_us / 1e6));
  }
  p.view = to;
  const PeerState want = p.truth ? PeerState::up : PeerState::down;
  if (p.pending && to == want) {
    p.pending = false;
    (p.truth ? recovery_us_ : detection_us_).push_back(now - p.truth_since_us);
  }
}

namespace {

uint64_t fnv1a(std::span<const uint8_t> bytes) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (uint8_t b : bytes) {
    h ^= b;
    h *= 0x100000001b3ULL;
  }
  h ^= bytes.size();
  return h == 0 ? 1 : h;  // 0 is SecurityOracle::kNotSealed
}

constexpr uint64_t kCounterLogMax = uint64_t{1} << 26;  // a run never seals this many under one key

}  // namespace

void SecurityOracle::violation(std::string text) {
  ++violation_count_;
  if (violations_.size() < kViolationsMax) violations_.push_back(std::move(text));
}

void SecurityOracle::on_seal(const NodeId& from, const NodeId& to, const crypto::KeyUse& use,
                             std::span<const uint8_t> plaintext) {
  ++seals_;
  KeyLog& log = keys_[use.key_id];
  if (log.digest.empty()) {
    log.from = from;
    log.to = to;
  }
  MESHD_ASSERT_MSG(use.counter < kCounterLogMax, "security oracle: counter beyond the simulated range");
  if (use.counter >= log.digest.size()) {
    log.digest.resize(use.counter + 1, kNotSealed);
    log.delivered.resize(use.counter + 1, false);
  }
  if (log.digest[use.counter] != kNotSealed || log.from != from) {
    violation(fmt::format("[nonce_reuse] key {:016x} counter {} sealed twice (by {} to {}, earlier by {} to {})",
                          use.key_id, use.counter, from.to_hex().substr(0, 8), to.to_hex().substr(0, 8),
                          log.from.to_hex().substr(0, 8), log.to.to_hex().substr(0, 8)));
    return;
  }
  log.digest[use.counter] = fnv1a(plaintext);
  check_lifetime(log, log.first_seal_local_us, from, "sealed", use);
}

void SecurityOracle::check_lifetime(const KeyLog& log, std::optional<int64_t>& first_local_us, const NodeId& node,
                                    std::string_view what, const crypto::KeyUse& use) {
  if (reject_after_us_ <= 0 || !clock_) return;
  const std::optional<int64_t> now = clock_(node);
  if (!now) return;
  if (!first_local_us) first_local_us = *now;
  const int64_t age_us = *now - *first_local_us;
  if (3 * age_us > 2 * reject_after_us_) ++uses_past_rekey_;
  if (age_us < reject_after_us_) return;
  violation(fmt::format("[key_lifetime] node {} {} under key {:016x} (counter {}, {} to {}) {:.3f}s after its first "
                        "use on that node's clock (rule: a session key is never used past reject_after = {:.3f}s)",
                        node.to_hex().substr(0, 8), what, use.key_id, use.counter, log.from.to_hex().substr(0, 8),
                        log.to.to_hex().substr(0, 8), age_us / 1e6, reject_after_us_ / 1e6));
}

void SecurityOracle::on_deliver(const NodeId& at, const NodeId& from, const crypto::KeyUse& use,
                                std::span<const uint8_t> plaintext) {
  ++deliveries_;
  auto it = keys_.find(use.key_id);
  if (it == keys_.end() || use.counter >= it->second.digest.size() ||
      it->second.digest[use.counter] == kNotSealed) {
    violation(fmt::format("[forged_delivery] node {} delivered a frame from {} (key {:016x} counter {}) "
                          "that nobody sealed", at.to_hex().substr(0, 8), from.to_hex().substr(0, 8), use.key_id,
                          use.counter));
    return;
  }
  KeyLog& log = it->second;
  if (log.digest[use.counter] != fnv1a(plaintext) || log.from != from || log.to != at) {
    violation(fmt::format("[modified_delivery] node {} delivered a frame from {} (key {:016x} counter {}) "
                          "that differs from what was sealed", at.to_hex().substr(0, 8),
                          from.to_hex().substr(0, 8), use.key_id, use.counter));
  }
  if (log.delivered[use.counter]) {
    violation(fmt::format("[replayed_delivery] node {} delivered key {:016x} counter {} twice",
                          at.to_hex().substr(0, 8), use.key_id, use.counter));
  }
  if (log.any_delivered && log.highest_delivered > crypto::kReplayWindowPackets &&
      use.counter < log.highest_delivered - crypto::kReplayWindowPackets) {
    violation(fmt::format("[replay_window] node {} delivered key {:016x} counter {}, {} below the highest delivered "
                          "counter {} (rule: a counter more than {} below the highest accepted is too old)",
                          at.to_hex().substr(0, 8), use.key_id, use.counter, log.highest_delivered - use.counter,
                          log.highest_delivered, crypto::kReplayWindowPackets));
  }
  if (log.any_delivered && log.highest_delivered >= crypto::kReplayWindowPackets) ++deliveries_window_slid_;
  log.delivered[use.counter] = true;
  log.highest_delivered = log.any_delivered ? std::max(log.highest_delivered, use.counter) : use.counter;
  log.any_delivered = true;
  check_lifetime(log, log.first_deliver_local_us, at, "delivered", use);
}

}  // namespace meshd::sim
