// SwimMember: probing (direct, indirect through ping_req, alternates),
// serving ping_reqs for others (relays), verify pings to suspects and
// Lifeguard local health.
#include "core/membership/swim.h"

#include <algorithm>

#include "core/env/assert.h"

namespace meshd::membership {

void SwimMember::tick_probe(int64_t now_us, SwimOutput& out) {
  if (leaving_) return;
  if (probe_ && !probe_->indirect_sent && now_us >= probe_->indirect_at_us &&
      now_us < probe_->end_us) {
    const NodeId target = probe_->target;
    auto helpers = random_members(config_.indirect_probes, &target, false);
    std::vector<Address> addresses;
    for (const Member* h : helpers) addresses.push_back(h->address);
    probe_->indirect_sent = true;
    probe_->nacks_expected = static_cast<uint32_t>(addresses.size());
    MESHD_ASSERT(probe_->nacks_expected <= config_.indirect_probes);
    // A multi-homed target may be reachable on another of its endpoints.
    const AltEndpoints alternates = probe_->alt_endpoints;
    for (const Address& a : alternates.view()) {
      SwimMessage ping;
      ping.type = SwimType::ping;
      ping.seq = probe_->seq;
      ping.target = probe_->target;
      send(a, ping, out);
      ++counters_.alt_endpoint_pings;
    }
    for (const Address& a : addresses) {
      SwimMessage req;
      req.type = SwimType::ping_req;
      req.seq = probe_->seq;
      req.target = probe_->target;
      req.target_address = probe_->address;
      send(a, req, out);
      ++counters_.ping_reqs_sent;
    }
  }
  if (probe_ && now_us >= probe_->end_us) finish_probe(false, now_us, out);
  if (!probe_ && now_us >= next_probe_us_) start_probe(now_us, out);
}

void SwimMember::start_probe(int64_t now_us, SwimOutput& out) {
  reap(now_us, out);
  // Fault point: anti-entropy now rather than at its scheduled time (it
  // runs later in this tick): full-state merges amid normal traffic.
  if (fault(BuggifyPoint::swim_push_pull_early)) next_push_pull_us_ = now_us;
  const std::optional<NodeId> target = next_probe_target();
  if (!target) {
    next_probe_us_ = now_us + config_.protocol_period_us;
    return;
  }
  const Member* m = table_.find(*target);
  Probe p;
  p.target = *target;
  p.address = m->address;
  p.alt_endpoints = m->alt_endpoints;
  p.seq = next_seq_++;
  p.start_us = now_us;
  p.indirect_at_us = now_us + scaled(config_.probe_timeout_us);
  p.end_us = now_us + scaled(config_.protocol_period_us);
  MESHD_ASSERT(p.start_us < p.indirect_at_us && p.indirect_at_us < p.end_us);
  MESHD_ASSERT(p.target != self_.id);
  probe_ = p;
  ++counters_.probes;
  SwimMessage ping;
  ping.type = SwimType::ping;
  ping.seq = p.seq;
  ping.target = p.target;
  const std::optional<MemberUpdate> suspicion = suspicion_of(p.target);
  send(p.address, ping, out, suspicion ? std::span(&*suspicion, 1) : std::span<const MemberUpdate>{});
}

void SwimMember::verify_ping(const NodeId& id, SwimOutput& out) {
  const Member* m = table_.find(id);
  const std::optional<MemberUpdate> suspicion = suspicion_of(id);
  if (!m || !suspicion) return;
  SwimMessage ping;
  ping.type = SwimType::ping;
  ping.seq = next_seq_++;  // its ack matches no probe: only its updates count
  ping.target = id;
  verify_seqs_.push_back(ping.seq);
  if (verify_seqs_.size() > kVerifySeqsMax) verify_seqs_.pop_front();
  MESHD_ASSERT(verify_seqs_.size() <= kVerifySeqsMax);
  // The suspicion alone: a suspect that is really gone would only waste
  // the retransmissions of whatever else rode along.
  send(m->address, ping, out, std::span(&*suspicion, 1), false);
  ++counters_.suspicion_verify_pings;
}

std::optional<MemberUpdate> SwimMember::suspicion_of(const NodeId& id) const {
  const Member* m = table_.find(id);
  if (!m || m->status != MemberStatus::suspect) return std::nullopt;
  MemberUpdate u;
  u.id = id;
  u.incarnation = m->incarnation;
  u.status = MemberStatus::suspect;
  u.origin = self_.id;
  return u;
}

void SwimMember::finish_probe(bool acked, int64_t now_us, SwimOutput& out) {
  MESHD_ASSERT(probe_);
  const Probe p = *probe_;
  probe_.reset();
  if (acked) {
    adjust_health(-1);
    table_.heard(p.target, now_us);
    next_probe_us_ = p.end_us;
    return;
  }
  ++counters_.probes_failed;
  // Lifeguard: missing nacks blame us, not the target; no helpers: blame us once.
  if (p.nacks_expected > 0) {
    adjust_health(static_cast<int>(p.nacks_expected - std::min(p.nacks_expected, p.nacks_received)));
  } else {
    adjust_health(+1);
  }
  next_probe_us_ = now_us;
  const Member* m = table_.find(p.target);
  if (m && m->active()) {
    MemberUpdate suspect;
    suspect.id = p.target;
    suspect.incarnation = m->incarnation;
    suspect.status = MemberStatus::suspect;
    suspect.origin = self_.id;
    merge(suspect, now_us, out);
  }
  if (auto it = suspicions_.find(p.target); it != suspicions_.end()) {
    it->second.our_probe_failed = true;
    it->second.indirect_probes = p.nacks_expected;
    it->second.nacks_received = p.nacks_received;
  }
}

void SwimMember::tick_relays(int64_t now_us, SwimOutput& out) {
  std::vector<Relay> expired;
  std::erase_if(relays_, [&](const Relay& r) {
    if (r.deadline_us > now_us) return false;
    expired.push_back(r);
    return true;
  });
  for (const Relay& r : expired) {
    SwimMessage nack;
    nack.type = SwimType::nack;
    nack.seq = r.origin_seq;
    send(r.requester, nack, out);
  }
  MESHD_ASSERT(std::none_of(relays_.begin(), relays_.end(), [&](const Relay& r) { return r.deadline_us <= now_us; }));
}

void SwimMember::adjust_health(int delta) {
  const int64_t h = std::clamp<int64_t>(int64_t{health_} + delta, 0, config_.health_max);
  health_ = static_cast<uint32_t>(h);
  MESHD_ASSERT(health_ <= config_.health_max);
}

size_t SwimMember::active_count() const { return table_.count_active(); }

std::optional<NodeId> SwimMember::next_probe_target() {
  for (int pass = 0; pass < 2; ++pass) {
    while (probe_index_ < probe_order_.size()) {
      const NodeId id = probe_order_[probe_index_++];
      const Member* m = table_.find(id);
      if (m && m->active() && id != self_.id) return id;
    }
    // A full pass is done: a fresh order (Fisher-Yates over NodeId order).
    probe_order_.clear();
    probe_index_ = 0;
    for (const auto& [id, m] : table_.members()) {
      if (m.active() && id != self_.id) probe_order_.push_back(id);
    }
    for (size_t i = probe_order_.size(); i > 1; --i) {
      std::swap(probe_order_[i - 1], probe_order_[rng_.below(i)]);
    }
    if (probe_order_.empty()) return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace meshd::membership
