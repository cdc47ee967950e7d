#include "core/membership/swim.h"

#include <algorithm>
#include <numeric>

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

std::string_view identity_policy_name(IdentityPolicy policy) {
  switch (policy) {
    case IdentityPolicy::prefer_newest: return "prefer_newest";
    case IdentityPolicy::prefer_oldest: return "prefer_oldest";
    case IdentityPolicy::allow_concurrent: return "allow_concurrent";
  }
  return "invalid";
}

std::optional<IdentityPolicy> identity_policy_from_name(std::string_view name) {
  for (auto p : {IdentityPolicy::prefer_newest, IdentityPolicy::prefer_oldest, IdentityPolicy::allow_concurrent}) {
    if (identity_policy_name(p) == name) return p;
  }
  return std::nullopt;
}

std::string_view announce_result_name(AnnounceResult result) {
  switch (result) {
    case AnnounceResult::changed: return "changed";
    case AnnounceResult::refreshed: return "refreshed";
    case AnnounceResult::throttled: return "throttled";
    case AnnounceResult::not_running: return "not_running";
  }
  return "invalid";
}

std::string_view conflict_action_name(IdentityConflict::Action action) {
  switch (action) {
    case IdentityConflict::Action::kept: return "kept";
    case IdentityConflict::Action::yielded: return "yielded";
    case IdentityConflict::Action::concurrent: return "concurrent";
  }
  return "invalid";
}

namespace {
std::optional<MemberStatus> visible(const Member* m) {
  if (!m || !m->has_identity) return std::nullopt;
  return m->status;
}
}  // namespace

SwimMember::SwimMember(const SwimConfig& config, const SwimIdentity& self,
                       std::vector<Address> seeds, RandomStream rng, int64_t now_us,
                       UpdateSigner signer)
    : config_(config), self_(self), signer_(std::move(signer)), seeds_(std::move(seeds)),
      rng_(std::move(rng)), table_(config.members_max) {
  MESHD_ASSERT(config_.protocol_period_us > 0 && config_.probe_timeout_us > 0);
  MESHD_ASSERT_MSG(config_.probe_timeout_us < config_.protocol_period_us,
                   "the indirect phase needs time before the period ends");
  MESHD_ASSERT(config_.indirect_probes <= kIndirectProbesMax);
  MESHD_ASSERT(config_.gossip_fanout <= kGossipFanoutMax);
  MESHD_ASSERT(config_.health_max <= kHealthMaxLimit);
  MESHD_ASSERT(config_.suspicion_verify_pings <= kSuspicionVerifyPingsMax);
  MESHD_ASSERT(config_.suspicion_mult >= 1 && config_.suspicion_max_timeout_mult >= 1);
  MESHD_ASSERT(config_.gossip_interval_us > 0 && config_.push_pull_interval_us > 0 &&
               config_.join_retry_us > 0 && config_.reap_after_us > 0 &&
               config_.reannounce_interval_us > 0);
  MESHD_ASSERT(seeds_.size() <= kSeedsMax);
  MESHD_ASSERT(config_.datagram_bytes_max >= kSwimDatagramBytesMin &&
               config_.datagram_bytes_max <= kDatagramBytesMax);
  MESHD_ASSERT(!self_.id.is_zero() && self_.hostname.size() <= kHostnameBytesMax);
  update_self();
  table_.apply(self_alive(), now_us);
  last_announce_us_ = now_us;
  next_reannounce_us_ = now_us + config_.reannounce_interval_us;
  joined_ = std::none_of(seeds_.begin(), seeds_.end(),
                         [&](const Address& a) { return a != self_.address; });
  // Random phases so that nodes booted together do not probe in lockstep.
  next_probe_us_ = now_us + rng_.range(0, config_.protocol_period_us - 1);
  next_gossip_us_ = now_us + rng_.range(1, config_.gossip_interval_us);
  next_push_pull_us_ = now_us + rng_.range(1, config_.push_pull_interval_us);
  next_join_us_ = now_us;
}

// --- sending -------------------------------------------------------------------

void SwimMember::send(const Address& to, SwimMessage m, SwimOutput& out,
                      std::span<const MemberUpdate> first, bool piggyback) {
  m.sender = self_.id;
  std::vector<size_t> order(piggyback ? broadcasts_.size() : 0);
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const Broadcast& x = broadcasts_[a];
    const Broadcast& y = broadcasts_[b];
    return x.transmits != y.transmits ? x.transmits < y.transmits : x.order > y.order;
  });
  if (order.size() > kUpdatesPerMessageMax) order.resize(kUpdatesPerMessageMax);
  std::vector<MemberUpdate> updates;
  updates.reserve(order.size() + first.size());
  updates.insert(updates.end(), first.begin(), first.end());
  // carried[k]: the queue entry updates[k] transmits, if any. A queued fact
  // that is also in `first` goes once, and counts as sent if `first` did.
  std::vector<std::optional<size_t>> carried(first.size());
  for (size_t i : order) {
    const MemberUpdate& q = broadcasts_[i].update;
    auto same = std::find_if(first.begin(), first.end(), [&](const MemberUpdate& f) {
      return f.id == q.id && f.status == q.status && f.incarnation == q.incarnation && f.origin == q.origin;
    });
    if (same != first.end()) {
      carried[static_cast<size_t>(same - first.begin())] = i;
      continue;
    }
    updates.push_back(q);
    carried.push_back(i);
  }
  size_t written = 0;
  std::vector<uint8_t> bytes = encode(m, updates, &written, config_.datagram_bytes_max);
  if (m.type == SwimType::gossip && written == 0) return;
  const uint32_t limit = retransmit_limit(config_.retransmit_mult, active_count());
  for (size_t k = 0; k < written; ++k) {
    if (carried[k]) ++broadcasts_[*carried[k]].transmits;
  }
  std::erase_if(broadcasts_, [&](const Broadcast& b) { return b.transmits >= limit; });
  out.send.push_back(SwimDatagram{to, m.type, std::move(bytes)});
}

void SwimMember::send_full_state(const Address& to, uint8_t flags, SwimOutput& out) {
  std::vector<MemberUpdate> state;
  state.reserve(table_.size());
  for (const auto& [id, m] : table_.members()) {
    if (auto u = table_.update_of(id)) state.push_back(std::move(*u));
  }
  size_t offset = 0;
  bool first = true;
  do {
    SwimMessage m;
    m.type = SwimType::push_pull;
    m.sender = self_.id;
    m.flags = first ? flags : 0;  // one answer per exchange, not per chunk
    size_t written = 0;
    std::vector<uint8_t> bytes =
        encode(m, std::span(state).subspan(offset), &written, config_.datagram_bytes_max);
    MESHD_ASSERT(written > 0 || offset == state.size());
    offset += written;
    out.send.push_back(SwimDatagram{to, SwimType::push_pull, std::move(bytes)});
    first = false;
  } while (offset < state.size());
  ++counters_.push_pulls_sent;
}

void SwimMember::enqueue(const MemberUpdate& u) {
  for (Broadcast& b : broadcasts_) {
    if (b.update.id == u.id) {  // the newer fact about a node replaces the older
      b.update = u;
      b.transmits = 0;
      b.order = next_order_++;
      return;
    }
  }
  if (broadcasts_.size() >= kBroadcastQueueMax) {
    auto victim = std::max_element(broadcasts_.begin(), broadcasts_.end(),
                                   [](const Broadcast& a, const Broadcast& b) {
                                     return a.transmits != b.transmits ? a.transmits < b.transmits
                                                                       : a.order > b.order;
                                   });
    broadcasts_.erase(victim);
    ++counters_.broadcast_overflow;
  }
  broadcasts_.push_back(Broadcast{u, 0, next_order_++});
}

// --- state ---------------------------------------------------------------------

void SwimMember::adjust_health(int delta) {
  const int64_t h = std::clamp<int64_t>(int64_t{health_} + delta, 0, config_.health_max);
  health_ = static_cast<uint32_t>(h);
}

size_t SwimMember::active_count() const { return table_.count_active(); }

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

void SwimMember::sign(MemberUpdate& u) const {
  u.signature = {};
  if (signer_) u.signature = signer_(update_signing_bytes(u));
}

MemberUpdate unsigned_alive(const SwimIdentity& self) {
  MemberUpdate me;
  me.id = self.id;
  me.incarnation = self.incarnation;
  me.instance = self.instance;
  me.address = self.address;
  me.alt_endpoints = self.alt_endpoints;
  me.public_key = self.public_key;
  me.hostname = self.hostname;
  me.fingerprint_digest = self.fingerprint_digest;
  me.capability_digest = self.capability_digest;
  return me;
}

void SwimMember::update_self() {
  MESHD_ASSERT(self_.hostname.size() <= kHostnameBytesMax);
  MemberUpdate me = unsigned_alive(self_);
  sign(me);
  self_update_ = std::move(me);
}

void SwimMember::reassert(uint64_t incarnation, int64_t now_us) {
  MESHD_ASSERT(incarnation > self_.incarnation);
  self_.incarnation = incarnation;
  update_self();
  table_.apply(self_alive(), now_us);
  enqueue(self_alive());
  last_announce_us_ = now_us;
}

void SwimMember::refute(const MemberUpdate& u, int64_t now_us, SwimOutput& out) {
  if (leaving_ || displaced_) return;  // our own `left` must not be undone
  if (u.status == MemberStatus::alive && u.address != self_.address && u.incarnation >= self_.incarnation) {
    // Another endpoint speaks as us at least as recently as we do. (A
    // past life of ours that moved announced a lower incarnation: a
    // restart starts above anything its earlier life said.)
    on_twin(u, now_us, out);
    return;
  }
  const bool accused = u.status != MemberStatus::alive && u.incarnation >= self_.incarnation;
  const bool overtaken = u.status == MemberStatus::alive && u.incarnation > self_.incarnation;
  if (u.status != MemberStatus::alive && !accused) stale_accusation_ = true;
  if (!accused && !overtaken) return;
  if (u.status == MemberStatus::suspect || u.status == MemberStatus::failed) adjust_health(+1);
  reassert(u.incarnation + 1, now_us);
  ++counters_.refutations;
}

void SwimMember::on_twin(const MemberUpdate& u, int64_t now_us, SwimOutput& out) {
  IdentityConflict c;
  c.other_address = u.address;
  c.other_instance = u.instance;
  c.other_incarnation = u.incarnation;
  // Ages are (instance, address): a higher instance started later; two
  // copies of one data directory tie on instance and the address decides,
  // the same way on both sides.
  const bool other_newer = std::pair(u.instance, u.address) > std::pair(self_.instance, self_.address);
  switch (config_.identity_policy) {
    case IdentityPolicy::prefer_newest:
      c.action = other_newer ? IdentityConflict::Action::yielded : IdentityConflict::Action::kept;
      break;
    case IdentityPolicy::prefer_oldest:
      c.action = other_newer ? IdentityConflict::Action::kept : IdentityConflict::Action::yielded;
      break;
    case IdentityPolicy::allow_concurrent: c.action = IdentityConflict::Action::concurrent; break;
  }
  const std::pair<Address, uint64_t> twin{u.address, u.instance};
  if (last_twin_ != twin || c.action == IdentityConflict::Action::yielded) {
    last_twin_ = twin;
    ++counters_.identity_conflicts;
    out.conflicts.push_back(c);
  }
  switch (c.action) {
    case IdentityConflict::Action::kept:
      reassert(u.incarnation + 1, now_us);  // outbid the twin everywhere
      ++counters_.refutations;
      break;
    case IdentityConflict::Action::yielded:
      displaced_ = c;
      probe_.reset();
      relays_.clear();
      broadcasts_.clear();
      suspicions_.clear();
      break;
    case IdentityConflict::Action::concurrent: break;  // no war: the higher incarnation is reached
  }
}

AnnounceResult SwimMember::announce(const SwimAnnouncement& content, int64_t now_us, SwimOutput& out) {
  if (leaving_ || displaced_) return AnnounceResult::not_running;
  MESHD_ASSERT(content.hostname.size() <= kHostnameBytesMax);
  if (static_cast<const SwimAnnouncement&>(self_) != content) {
    static_cast<SwimAnnouncement&>(self_) = content;
    reassert(self_.incarnation + 1, now_us);
    ++counters_.announces_changed;
    gossip_to_random_members(out);
    return AnnounceResult::changed;
  }
  if (now_us - last_announce_us_ < config_.reannounce_interval_us) {
    ++counters_.announces_throttled;
    return AnnounceResult::throttled;
  }
  last_announce_us_ = now_us;
  enqueue(self_alive());
  ++counters_.announces_refreshed;
  gossip_to_random_members(out);
  return AnnounceResult::refreshed;
}

void SwimMember::tick_reannounce(int64_t now_us, SwimOutput& out) {
  if (leaving_ || displaced_ || now_us < next_reannounce_us_) return;
  next_reannounce_us_ = now_us + config_.reannounce_interval_us;
  if (now_us - last_announce_us_ < config_.reannounce_interval_us) return;  // news went out lately
  last_announce_us_ = now_us;
  enqueue(self_alive());  // piggybacked from now on; no extra datagram
  ++counters_.announces_refreshed;
  (void)out;
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
  suspicions_[u.id] = std::move(s);
  ++counters_.suspicions_started;
}

void SwimMember::confirm_suspicion(Suspicion& s, const NodeId& origin, const MemberUpdate& u) {
  if (std::find(s.confirmers.begin(), s.confirmers.end(), origin) != s.confirmers.end()) return;
  if (s.confirmers.size() > s.bounds.expected_confirmations) return;  // already K: at min
  s.confirmers.push_back(origin);
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

// --- ticking ---------------------------------------------------------------------

int64_t SwimMember::next_tick_us() const {
  int64_t t = next_gossip_us_;
  if (displaced_) return t;  // nothing else runs; gossip ticks are no-ops
  if (!leaving_) {
    t = std::min(t, next_reannounce_us_);
    if (probe_) {
      t = std::min(t, probe_->end_us);
      if (!probe_->indirect_sent) t = std::min(t, probe_->indirect_at_us);
    } else {
      t = std::min(t, next_probe_us_);
    }
    t = std::min(t, next_push_pull_us_);
    if (!joined_) t = std::min(t, next_join_us_);
  }
  for (const auto& [id, s] : suspicions_) t = std::min({t, s.deadline_us, verify_ping_at_us(s)});
  for (const Relay& r : relays_) t = std::min(t, r.deadline_us);
  return t;
}

void SwimMember::on_tick(int64_t now_us, SwimOutput& out) {
  if (displaced_) {
    next_gossip_us_ = now_us + config_.gossip_interval_us;
    return;
  }
  tick_relays(now_us, out);
  tick_probe(now_us, out);
  tick_join(now_us, out);
  tick_push_pull(now_us, out);
  tick_reannounce(now_us, out);
  // After probing: a failed probe may confirm a suspicion into the past.
  tick_suspicions(now_us, out);
  tick_gossip(now_us, out);  // last: carries whatever this tick learned
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
    if (!m || m->status != MemberStatus::suspect || m->incarnation != incarnation) continue;
    MemberUpdate failed;
    failed.id = id;
    failed.incarnation = incarnation;
    failed.status = MemberStatus::failed;
    failed.origin = self_.id;
    ++counters_.declared_failed;
    merge(failed, now_us, out);
  }
}

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
}

void SwimMember::tick_join(int64_t now_us, SwimOutput& out) {
  if (joined_ || leaving_ || now_us < next_join_us_) return;
  next_join_us_ = now_us + config_.join_retry_us;
  for (const Address& seed : seeds_) {
    if (seed != self_.address) send_full_state(seed, kPushPullRequest | kPushPullJoin, out);
  }
}

void SwimMember::tick_push_pull(int64_t now_us, SwimOutput& out) {
  if (leaving_ || now_us < next_push_pull_us_) return;
  next_push_pull_us_ =
      now_us + config_.push_pull_interval_us * static_cast<int64_t>(push_pull_scale(active_count()));
  auto live = random_members(1, nullptr, false);
  if (!live.empty()) send_full_state(live[0]->address, kPushPullRequest, out);
  auto failed = random_members(1, nullptr, true);
  if (!failed.empty()) send_full_state(failed[0]->address, kPushPullRequest, out);
}

void SwimMember::gossip_to_random_members(SwimOutput& out) {
  // Addresses first: the Member pointers need not survive send().
  std::vector<Address> targets;
  for (const Member* m : random_members(config_.gossip_fanout, nullptr, false)) {
    targets.push_back(m->address);
  }
  for (const Address& a : targets) {
    SwimMessage g;
    g.type = SwimType::gossip;
    send(a, g, out);
  }
}

void SwimMember::tick_gossip(int64_t now_us, SwimOutput& out) {
  if (now_us < next_gossip_us_) return;
  next_gossip_us_ = now_us + config_.gossip_interval_us;
  if (broadcasts_.empty()) return;
  gossip_to_random_members(out);
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

void SwimMember::leave(int64_t now_us, SwimOutput& out) {
  if (leaving_ || displaced_) return;
  leaving_ = true;
  probe_.reset();
  MemberUpdate me;
  me.id = self_.id;
  me.incarnation = self_.incarnation;
  me.status = MemberStatus::left;
  me.public_key = self_.public_key;
  sign(me);
  table_.apply(me, now_us);
  enqueue(me);
  gossip_to_random_members(out);
}

bool SwimMember::leave_drained() const {
  return leaving_ && std::none_of(broadcasts_.begin(), broadcasts_.end(), [&](const Broadcast& b) {
           return b.update.id == self_.id;
         });
}

std::optional<int64_t> SwimMember::suspicion_deadline_us(const NodeId& id) const {
  auto it = suspicions_.find(id);
  if (it == suspicions_.end()) return std::nullopt;
  return it->second.deadline_us;
}

// --- helpers -----------------------------------------------------------------------

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

std::vector<const Member*> SwimMember::random_members(size_t count, const NodeId* exclude,
                                                      bool failed_instead) {
  std::vector<const Member*> candidates;
  for (const auto& [id, m] : table_.members()) {
    if (id == self_.id || (exclude && id == *exclude)) continue;
    const bool wanted = failed_instead ? (m.has_identity && m.status == MemberStatus::failed)
                                       : m.active();
    if (wanted) candidates.push_back(&m);
  }
  // Partial Fisher-Yates: the first `count` are a uniform sample.
  const size_t n = std::min(count, candidates.size());
  for (size_t i = 0; i < n; ++i) {
    const size_t j = i + static_cast<size_t>(rng_.below(candidates.size() - i));
    std::swap(candidates[i], candidates[j]);
  }
  candidates.resize(n);
  return candidates;
}

// --- receiving ---------------------------------------------------------------------

SwimDrop SwimMember::on_datagram(const Address& from, std::span<const uint8_t> bytes,
                                 int64_t now_us, SwimOutput& out) {
  SwimDrop drop = SwimDrop::none;
  std::optional<SwimMessage> m = decode_swim(bytes, &drop);
  if (!m) {
    ++counters_.dropped[static_cast<size_t>(drop)];
    return drop;
  }
  if (displaced_) {
    ++counters_.dropped[static_cast<size_t>(SwimDrop::displaced)];
    return SwimDrop::displaced;
  }
  if (m->sender == self_.id) {
    // A twin (our identity on another endpoint) talks to us: its own
    // alive update is the news (refute() applies the policy).
    for (const MemberUpdate& u : m->updates) {
      if (u.id == self_.id) merge(u, now_us, out);
    }
    ++counters_.dropped[static_cast<size_t>(SwimDrop::from_self)];
    return SwimDrop::from_self;
  }
  table_.heard(m->sender, now_us);
  // Piggybacked updates are facts about the mesh whatever the carrier's
  // own purpose turns out to be: merge them first (an ack may carry the
  // refutation that matters).
  stale_accusation_ = false;
  for (const MemberUpdate& u : m->updates) merge(u, now_us, out);
  // The sender still accuses a past incarnation of ours: answer it with
  // the present one (stale_view_repair), in the ack if this is a ping.
  const bool repair = stale_accusation_ && config_.stale_view_repair && !leaving_ && !displaced_;
  stale_accusation_ = false;
  if (repair) ++counters_.stale_view_repairs;
  std::vector<MemberUpdate> first;
  if (repair) first.push_back(self_alive());
  switch (m->type) {
    case SwimType::ping:
      if (m->target != self_.id) {
        drop = SwimDrop::not_for_us;  // an old address of someone else
      } else {
        SwimMessage ack;
        ack.type = SwimType::ack;
        ack.seq = m->seq;
        // A member we suspect is talking to us: tell it, so it refutes now
        // rather than when our gossip (maybe retired) happens to reach it.
        if (const std::optional<MemberUpdate> suspicion = suspicion_of(m->sender)) first.push_back(*suspicion);
        send(from, ack, out, first);
        first.clear();
      }
      break;
    case SwimType::ack: handle_ack(*m, now_us, out, drop); break;
    case SwimType::nack:
      if (probe_ && probe_->indirect_sent && m->seq == probe_->seq) {
        ++probe_->nacks_received;
      } else {
        drop = SwimDrop::unexpected_ack;
      }
      break;
    case SwimType::ping_req: handle_ping_req(from, *m, now_us, out, drop); break;
    case SwimType::push_pull:
      if ((m->flags & kPushPullRequest) == 0) joined_ = true;
      if ((m->flags & kPushPullRequest) != 0 && !leaving_) send_full_state(from, 0, out);
      break;
    case SwimType::gossip: break;
  }
  if (!first.empty()) {
    SwimMessage g;
    g.type = SwimType::gossip;
    send(from, g, out, first);
  }
  if (drop != SwimDrop::none) ++counters_.dropped[static_cast<size_t>(drop)];
  return drop;
}

void SwimMember::handle_ack(const SwimMessage& m, int64_t now_us, SwimOutput& out,
                            SwimDrop& drop) {
  if (probe_ && m.seq == probe_->seq) {
    // The target's own ack (not a relay's): a direct round trip.
    if (m.sender == probe_->target) table_.rtt_sample(probe_->target, now_us - probe_->start_us);
    finish_probe(true, now_us, out);
    return;
  }
  for (auto it = relays_.begin(); it != relays_.end(); ++it) {
    if (it->local_seq != m.seq) continue;
    SwimMessage ack;
    ack.type = SwimType::ack;
    ack.seq = it->origin_seq;
    const Address requester = it->requester;
    relays_.erase(it);
    send(requester, ack, out);
    return;
  }
  // The answer to a verify ping: its updates were merged, nothing else to do.
  if (std::find(verify_seqs_.begin(), verify_seqs_.end(), m.seq) != verify_seqs_.end()) return;
  drop = SwimDrop::unexpected_ack;
}

void SwimMember::handle_ping_req(const Address& from, const SwimMessage& m, int64_t now_us,
                                 SwimOutput& out, SwimDrop& drop) {
  if (relays_.size() >= kRelaysMax) {
    drop = SwimDrop::relay_full;
    return;
  }
  Relay r;
  r.local_seq = next_seq_++;
  r.origin_seq = m.seq;
  r.requester = from;
  r.deadline_us = now_us + config_.probe_timeout_us;
  relays_.push_back(r);
  SwimMessage ping;
  ping.type = SwimType::ping;
  ping.seq = r.local_seq;
  ping.target = m.target;
  send(m.target_address, ping, out);
}

}  // namespace meshd::membership
