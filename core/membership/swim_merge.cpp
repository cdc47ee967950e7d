// SwimMember: merging updates into the table, events, suspicions
// (start, confirm, expiry with Lifeguard stretch) and reaping.
#include "core/membership/swim.h"

#include <algorithm>

#include "core/env/assert.h"

namespace meshd::membership {

std::string_view member_event_name(MemberEventKind kind) {
  switch (kind) {
    case MemberEventKind::joined: return "joined";
    case MemberEventKind::alive: return "alive";
    case MemberEventKind::suspect: return "suspect";
    case MemberEventKind::failed: return "failed";
    case MemberEventKind::left: return "left";
    case MemberEventKind::reaped: return "reaped";
  }
  return "invalid";
}

namespace {
std::optional<MemberStatus> visible(const Member* m) {
  if (!m || !m->has_identity) return std::nullopt;
  return m->status;
}
}  // namespace

void SwimMember::merge(const MemberUpdate& u, int64_t now_us, SwimOutput& out) {
  if (u.id == self_.id) {
    refute(u, now_us, out);
    return;
  }
  if (u.id.is_zero()) return;
  const Member* before_m = table_.find(u.id);
  const std::optional<MemberStatus> before = visible(before_m);
  if (u.status == MemberStatus::suspect && before_m && before_m->status == MemberStatus::suspect &&
      before_m->incarnation == u.incarnation) {
    auto it = suspicions_.find(u.id);
    if (it != suspicions_.end() && it->second.incarnation == u.incarnation) {
      confirm_suspicion(it->second, u.origin, u);
    }
    return;
  }
  if (u.status == MemberStatus::alive && before_m != nullptr && before_m->has_identity &&
      u.incarnation > before_m->identity_incarnation && u.public_key == before_m->public_key &&
      before_m->fingerprint_digest != 0 && u.fingerprint_digest != 0 &&
      u.fingerprint_digest != before_m->fingerprint_digest) {
    ++counters_.fingerprint_drifts;
    out.drifts.push_back(FingerprintDrift{u.id, u.incarnation, before_m->fingerprint_digest, u.fingerprint_digest});
  }
  MESHD_ASSERT(u.id != self_.id);
  const MergeResult r = table_.apply(u, now_us);
  if (r.rejected_overflow) {
    ++counters_.table_overflow;
    return;
  }
  if (!r.changed()) return;  // stale news is not re-gossiped
  const Member* m = table_.find(u.id);
  MESHD_ASSERT(m);
  if (r.verdict_changed) {
    enqueue(u);
    if (m->status == MemberStatus::suspect) {
      start_suspicion(u, now_us);
    } else {
      suspicions_.erase(u.id);
    }
  } else if (m->status == MemberStatus::alive) {
    enqueue(*table_.update_of(u.id));
  }
  emit(before, m, now_us, out);
}

void SwimMember::start_suspicion(const MemberUpdate& u, int64_t now_us) {
  Suspicion s;
  s.incarnation = u.incarnation;
  s.start_us = now_us;
  s.bounds = suspicion_bounds(config_.suspicion_mult, config_.suspicion_max_timeout_mult,
                              config_.protocol_period_us, active_count());
  s.confirmers.push_back(u.origin);
  s.deadline_us = now_us + suspicion_timeout_us(s.bounds, 0);
  s.verify_pings_left = config_.suspicion_verify_pings;
  MESHD_ASSERT(s.deadline_us > now_us && s.confirmers.size() == 1);
  suspicions_[u.id] = std::move(s);
  MESHD_ASSERT(suspicions_.size() <= table_.size());
  ++counters_.suspicions_started;
}

void SwimMember::confirm_suspicion(Suspicion& s, const NodeId& origin, const MemberUpdate& u) {
  if (std::find(s.confirmers.begin(), s.confirmers.end(), origin) != s.confirmers.end()) return;
  if (s.confirmers.size() > s.bounds.expected_confirmations) return;  // already K: at min
  s.confirmers.push_back(origin);
  MESHD_ASSERT(s.confirmers.size() <= size_t{s.bounds.expected_confirmations} + 1);
  ++counters_.confirmations;
  const auto confirmations = static_cast<uint32_t>(s.confirmers.size() - 1);
  s.deadline_us = s.start_us + suspicion_timeout_us(s.bounds, confirmations);
  enqueue(u);  // others count independent confirmations too
}

void SwimMember::emit(std::optional<MemberStatus> before, const Member* after, int64_t now_us,
                      SwimOutput& out) {
  const std::optional<MemberStatus> now_status = visible(after);
  if (!now_status || before == now_status) return;
  MemberEventKind kind = MemberEventKind::joined;
  if (!before) {
    if (!after->active()) return;  // first heard of as already gone: nothing to report
  } else {
    switch (*now_status) {
      case MemberStatus::alive: kind = MemberEventKind::alive; break;
      case MemberStatus::suspect: kind = MemberEventKind::suspect; break;
      case MemberStatus::failed: kind = MemberEventKind::failed; break;
      case MemberStatus::left: kind = MemberEventKind::left; break;
    }
  }
  out.events.push_back(MemberEvent{after->id, kind, after->incarnation, now_us});
}

int64_t SwimMember::verify_ping_at_us(const Suspicion& s) const {
  if (s.verify_pings_left == 0 || leaving_) return INT64_MAX;
  return s.deadline_us - static_cast<int64_t>(s.verify_pings_left) * config_.protocol_period_us;
}

bool SwimMember::suspicion_due(Suspicion& s, int64_t now_us) {
  if (s.deadline_us > now_us) return false;
  if (config_.health_scales_suspicion && health_ > 0) {
    // Our own health decides at expiry: stretch the unscaled timeout
    // (confirmations = confirmers beyond the initial suspector).
    const auto confirmations = static_cast<uint32_t>(s.confirmers.size() - 1);
    const int64_t stretched_us = s.start_us + suspicion_timeout_us(s.bounds, confirmations) * (health_ + 1);
    if (stretched_us > now_us) {
      s.deadline_us = stretched_us;
      return false;
    }
  }
  if (config_.suspicion_verify_pings > 0 && !s.final_ping_sent &&
      now_us - s.last_verify_ping_us > config_.protocol_period_us) {
    // No ping of ours reached out to the suspect in the last period (the
    // deadline moved, or we were cut off when the pings went): one more,
    // and one more period to answer it.
    s.final_ping_sent = true;
    s.verify_pings_left = 1;
    s.deadline_us = now_us + config_.protocol_period_us;
    return false;
  }
  return true;
}

void SwimMember::tick_suspicions(int64_t now_us, SwimOutput& out) {
  std::vector<std::pair<NodeId, uint64_t>> due;
  for (auto& [id, s] : suspicions_) {
    if (suspicion_due(s, now_us)) {
      due.emplace_back(id, s.incarnation);
      continue;
    }
    if (verify_ping_at_us(s) <= now_us) {
      // Give the suspect a direct chance to refute before we call it
      // failed. Deadlines move (confirmations, health): the rest of the
      // pings are spread over the periods left, one per period at most.
      const int64_t periods_left = (s.deadline_us - now_us - 1) / config_.protocol_period_us;
      s.verify_pings_left = static_cast<uint32_t>(std::min<int64_t>(s.verify_pings_left - 1, periods_left));
      s.last_verify_ping_us = now_us;
      verify_ping(id, out);
    }
  }
  for (const auto& [id, incarnation] : due) {
    suspicions_.erase(id);
    const Member* m = table_.find(id);
    // merge() erases a suspicion on every verdict change and reap() with the
    // member, so a due suspicion always names a suspect at its incarnation.
    // A refutation that left its timer running would be a false failure.
    MESHD_ASSERT(m && m->status == MemberStatus::suspect && m->incarnation == incarnation);
    MemberUpdate failed;
    failed.id = id;
    failed.incarnation = incarnation;
    failed.status = MemberStatus::failed;
    failed.origin = self_.id;
    ++counters_.declared_failed;
    merge(failed, now_us, out);
  }
}

void SwimMember::reap(int64_t now_us, SwimOutput& out) {
  std::vector<std::pair<NodeId, bool>> visible_before;
  for (const auto& [id, m] : table_.members()) {
    if (id != self_.id) visible_before.emplace_back(id, m.has_identity);
  }
  for (const NodeId& id : table_.reap(now_us, config_.reap_after_us)) {
    MESHD_ASSERT(id != self_.id || leaving_);
    suspicions_.erase(id);
    auto it = std::lower_bound(visible_before.begin(), visible_before.end(), id,
                               [](const auto& e, const NodeId& x) { return e.first < x; });
    if (it != visible_before.end() && it->first == id && it->second) {
      out.events.push_back(MemberEvent{id, MemberEventKind::reaped, 0, now_us});
    }
  }
}

}  // namespace meshd::membership
