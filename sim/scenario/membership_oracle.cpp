#include "sim/scenario/membership_oracle.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace meshd::sim {

using membership::MemberEventKind;
using membership::MemberStatus;

namespace {

// An unbounded watch (no invariant set) still measures, for this long.
constexpr int64_t kUnboundedWatchUs = 120 * kMicrosPerSecond;

std::string status_text(const membership::Member* m) {
  return m ? std::string(membership::member_status_name(m->status)) + fmt::format("@{}", m->incarnation)
           : std::string("unknown");
}

}  // namespace

MembershipOracle::MembershipOracle(World& world, const MembershipInvariants& invariants, RunningFn running,
                                   ViewFn view)
    : world_(world), inv_(invariants), running_(std::move(running)), view_(std::move(view)),
      n_(world.node_count()), pairs_(n_ * n_), id_(n_), boot_incarnation_(n_, 0), boot_us_(n_, 0),
      left_(n_, false), node_gen_(n_, 0), crash_us_(n_, -1), leave_at_us_(n_, -1), connected_(n_, false),
      connected_since_us_(n_, 0) {}

void MembershipOracle::violation(std::string text) {
  ++violation_count_;
  if (violations_.size() < kViolationsMax) violations_.push_back("[membership] " + std::move(text));
}

bool MembershipOracle::live_member(size_t i) const {
  return node_alive(world_, running_, i) && !left_[i] && view_(i) != nullptr;
}

bool MembershipOracle::fully_connected(size_t j) const {
  if (!node_alive(world_, running_, j) || left_[j]) return false;
  for (size_t k = 0; k < n_; ++k) {
    if (k != j && !link_open(world_, j, k)) return false;
  }
  return true;
}

std::optional<size_t> MembershipOracle::node_of(const NodeId& id) const {
  auto it = node_of_id_.find(id);
  if (it == node_of_id_.end()) return std::nullopt;
  return it->second;
}

const membership::Member* MembershipOracle::entry(size_t observer, size_t target) const {
  const membership::SwimMember* m = view_(observer);
  return m ? m->table().find(id_[target]) : nullptr;
}

void MembershipOracle::refresh_connectivity() {
  const int64_t now = world_.now_us();
  for (size_t j = 0; j < n_; ++j) {
    const bool c = fully_connected(j);
    if (c && !connected_[j]) connected_since_us_[j] = now;
    connected_[j] = c;
  }
}

void MembershipOracle::start() {
  refresh_connectivity();
  const int64_t now = world_.now_us();
  poll(WatchKind::join, 0, converge_gen_, now, now + inv_.converge_within_us);
}

void MembershipOracle::on_boot(size_t node, const NodeId& id, uint64_t incarnation) {
  if (node >= n_) return;
  id_[node] = id;
  node_of_id_[id] = node;
  boot_incarnation_[node] = incarnation;
  boot_us_[node] = world_.now_us();
  for (size_t j = 0; j < n_; ++j) {
    Pair& p = pair(node, j);
    p.status.reset();  // a new process remembers nothing
    p.suspected_from_alive = false;
  }
}

void MembershipOracle::on_event(size_t i, const membership::MemberEvent& e) {
  auto target = node_of(e.id);
  if (i >= n_ || !target || *target == i) return;
  const size_t j = *target;
  Pair& p = pair(i, j);
  const int64_t now = world_.now_us();
  switch (e.kind) {
    case MemberEventKind::joined:
    case MemberEventKind::alive:
      if (p.status == MemberStatus::suspect && p.suspected_from_alive) {
        ++flaps_;
        ++p.flaps;
        flaps_max_pair_ = std::max(flaps_max_pair_, p.flaps);
        if (inv_.flaps_max >= 0 && p.flaps > static_cast<uint64_t>(inv_.flaps_max) && !p.flap_reported) {
          p.flap_reported = true;
          violation(fmt::format("t={:.3f}s node {} saw node {} flap alive->suspect->alive {} times (flaps_max {})",
                                now / 1e6, i, j, p.flaps, inv_.flaps_max));
        }
      }
      p.status = MemberStatus::alive;
      p.suspected_from_alive = false;
      break;
    case MemberEventKind::suspect:
      p.suspected_from_alive = p.status == MemberStatus::alive;
      p.status = MemberStatus::suspect;
      break;
    case MemberEventKind::failed: {
      p.status = MemberStatus::failed;
      if (crash_us_[j] >= 0 && !world_.is_up(j) && !p.crash_detected) {
        p.crash_detected = true;
        detection_us_.push_back(now - crash_us_[j]);
      }
      const int64_t grace = std::max(inv_.detect_failed_within_us, inv_.converge_within_us);
      // Only the node's current identity: a wiped node's old NodeId is
      // rightly declared failed (its new life has a new key).
      if (e.id == id_[j] && e.incarnation >= boot_incarnation_[j] && live_member(j) && connected_[j] &&
          now - connected_since_us_[j] > grace) {
        ++false_failed_;
        if (inv_.no_false_failed) {
          violation(fmt::format("t={:.3f}s node {} declared live, connected node {} failed (false positive; "
                                "connected since t={:.3f}s)", now / 1e6, i, j, connected_since_us_[j] / 1e6));
        }
      }
      break;
    }
    case MemberEventKind::left:
      p.status = MemberStatus::left;
      if (left_[j] && !p.leave_seen) {
        p.leave_seen = true;
        leave_us_.push_back(now - leave_at_us_[j]);
      }
      break;
    case MemberEventKind::reaped:
      p.status.reset();
      break;
  }
}

void MembershipOracle::on_fault(const Fault& f) {
  const int64_t now = world_.now_us();
  const size_t j = f.node >= 0 ? static_cast<size_t>(f.node) : 0;
  bool heals = false;
  switch (f.kind) {
    case FaultKind::crash:
      ++node_gen_[j];
      crash_us_[j] = now;
      left_[j] = false;
      for (size_t i = 0; i < n_; ++i) pair(i, j).crash_detected = false;
      if (inv_.detect_failed_within_us > 0) {
        const uint64_t gen = node_gen_[j];
        world_.at(now + inv_.detect_failed_within_us, [this, j, gen] { check_crash(j, gen); });
      }
      break;
    case FaultKind::restart:
    case FaultKind::wipe: {
      ++node_gen_[j];
      crash_us_[j] = -1;
      left_[j] = false;
      const uint64_t gen = node_gen_[j];
      poll(WatchKind::rejoin, j, gen, now, now + inv_.rejoin_within_us);
      break;
    }
    case FaultKind::leave: {
      ++node_gen_[j];
      left_[j] = true;
      leave_at_us_[j] = now;
      for (size_t i = 0; i < n_; ++i) pair(i, j).leave_seen = false;
      if (inv_.leave_within_us > 0) {
        const uint64_t gen = node_gen_[j];
        world_.at(now + inv_.leave_within_us, [this, j, gen] { check_leave(j, gen); });
      }
      break;
    }
    case FaultKind::heal:
    case FaultKind::unblock:
    case FaultKind::unclog:
      heals = true;
      break;
    default:
      break;
  }
  refresh_connectivity();
  ++converge_gen_;  // any fault ends the running convergence watch
  if (heals) poll(WatchKind::converge, 0, converge_gen_, now, now + inv_.converge_within_us);
}

void MembershipOracle::check_crash(size_t j, uint64_t generation) {
  if (node_gen_[j] != generation || world_.is_up(j)) return;
  for (size_t i = 0; i < n_; ++i) {
    if (i == j || !live_member(i)) continue;
    const membership::Member* m = entry(i, j);
    const bool booted_after = boot_us_[i] > crash_us_[j];
    if ((m && m->status == MemberStatus::failed) || (booted_after && !m)) continue;
    violation(fmt::format("t={:.3f}s node {} did not declare crashed node {} failed within {} ms of the crash at "
                          "t={:.3f}s; its view: {}", world_.now_us() / 1e6, i, j,
                          inv_.detect_failed_within_us / 1000, crash_us_[j] / 1e6, status_text(m)));
  }
}

void MembershipOracle::check_leave(size_t j, uint64_t generation) {
  if (node_gen_[j] != generation) return;
  for (size_t i = 0; i < n_; ++i) {
    if (i == j || !live_member(i)) continue;
    const membership::Member* m = entry(i, j);
    const bool booted_after = boot_us_[i] > leave_at_us_[j];
    if ((m && m->status == MemberStatus::left) || (booted_after && !m)) continue;
    violation(fmt::format("t={:.3f}s node {} does not report node {} (left gracefully at t={:.3f}s) as left "
                          "within {} ms; its view: {}", world_.now_us() / 1e6, i, j, leave_at_us_[j] / 1e6,
                          inv_.leave_within_us / 1000, status_text(m)));
  }
}

bool MembershipOracle::converged() const {
  std::set<NodeId> truth;
  for (size_t i = 0; i < n_; ++i) {
    if (live_member(i)) truth.insert(id_[i]);
  }
  for (size_t i = 0; i < n_; ++i) {
    if (!live_member(i)) continue;
    std::set<NodeId> seen{id_[i]};
    for (const auto& [id, m] : view_(i)->table().members()) {
      if (m.has_identity && m.status == MemberStatus::alive) seen.insert(id);
    }
    if (seen != truth) return false;
  }
  return true;
}

bool MembershipOracle::rejoined(size_t j) const {
  if (!live_member(j)) return false;
  for (size_t i = 0; i < n_; ++i) {
    if (i == j || !live_member(i)) continue;
    const membership::Member* m = entry(i, j);
    if (!m || m->status != MemberStatus::alive || m->incarnation < boot_incarnation_[j]) return false;
  }
  return true;
}

void MembershipOracle::poll(WatchKind kind, size_t node, uint64_t generation, int64_t since_us, int64_t deadline_us) {
  const uint64_t current = kind == WatchKind::rejoin ? node_gen_[node] : converge_gen_;
  if (current != generation) return;
  const int64_t now = world_.now_us();
  const bool bounded = deadline_us > since_us;
  if (kind == WatchKind::rejoin ? rejoined(node) : converged()) {
    auto& samples = kind == WatchKind::join ? join_us_ : kind == WatchKind::converge ? convergence_us_ : rejoin_us_;
    samples.push_back(now - since_us);
    return;
  }
  const int64_t limit = bounded ? deadline_us : since_us + kUnboundedWatchUs;
  if (now >= limit) {
    if (!bounded) return;
    if (kind == WatchKind::rejoin) {
      std::string views;
      for (size_t i = 0; i < n_; ++i) {
        if (i != node && live_member(i)) views += fmt::format(" {}:{}", i, status_text(entry(i, node)));
      }
      violation(fmt::format("t={:.3f}s restarted node {} (incarnation {}) not alive at that incarnation "
                            "everywhere within {} ms; views:{}", now / 1e6, node, boot_incarnation_[node],
                            (deadline_us - since_us) / 1000, views));
    } else {
      std::string counts;
      for (size_t i = 0; i < n_; ++i) {
        if (!live_member(i)) continue;
        size_t alive = 0;
        for (const auto& [id, m] : view_(i)->table().members()) alive += m.status == MemberStatus::alive;
        counts += fmt::format(" {}:{}", i, alive);
      }
      violation(fmt::format("t={:.3f}s live members did not agree on the alive set within {} ms of t={:.3f}s ({}); "
                            "alive counts:{}", now / 1e6, (deadline_us - since_us) / 1000, since_us / 1e6,
                            kind == WatchKind::join ? "start" : "heal", counts));
    }
    return;
  }
  const int64_t next = std::min(now + kMembershipPollUs, limit);
  world_.at(next, [this, kind, node, generation, since_us, deadline_us] {
    poll(kind, node, generation, since_us, deadline_us);
  });
}

}  // namespace meshd::sim
