// SwimMember: construction, the protocol shape (on_tick, on_datagram,
// next_deadline_us, finished) and leaving. The rest of the member is split
// by job: swim_gossip.cpp (sending, dissemination, anti-entropy),
// swim_probe.cpp (probing, relays, verify pings), swim_merge.cpp (merging
// updates, suspicions, reaping), swim_self.cpp (our own identity: signing,
// refutation, twins, announcements), swim_admission.cpp (identity rules).
#include "core/membership/swim.h"

#include <algorithm>

#include "core/env/assert.h"

namespace meshd::membership {

SwimMember::SwimMember(const SwimConfig& config, const SwimIdentity& self,
                       std::vector<Address> seeds, RandomStream rng, int64_t now_us,
                       UpdateSigner signer, SwimVerifier verifier, Buggify* buggify)
    : config_(config), self_(self), signer_(std::move(signer)), verifier_(std::move(verifier)),
      buggify_(buggify), seeds_(std::move(seeds)), rng_(std::move(rng)), table_(config.members_max) {
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
  MESHD_ASSERT(config_.members_max >= 1 && config_.members_max <= kMembersMax);
  MESHD_ASSERT(config_.retransmit_mult >= 1);
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
  MESHD_ASSERT(table_.find(self_.id) != nullptr && next_deadline_us() >= now_us);
}

int64_t SwimMember::next_deadline_us() const {
  if (leave_expired_) return kNoDeadline;  // finished: nothing more to do
  int64_t t = next_gossip_us_;
  if (displaced_) return t;  // nothing else runs; gossip ticks are no-ops
  if (leaving_) {
    t = std::min(t, leave_deadline_us_);
  } else {
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
  if (leave_expired_) return;
  if (leaving_ && now_us >= leave_deadline_us_) {
    // The drain limit passed: we are done, drained or not (finished()).
    leave_expired_ = true;
    return;
  }
  if (displaced_) {
    next_gossip_us_ = now_us + config_.gossip_interval_us;
    MESHD_ASSERT(next_deadline_us() > now_us);
    return;
  }
  const size_t sends_before = out.send.size();
  tick_relays(now_us, out);
  tick_probe(now_us, out);
  tick_join(now_us, out);
  tick_push_pull(now_us, out);
  tick_reannounce(now_us, out);
  // After probing: a failed probe may confirm a suspicion into the past.
  tick_suspicions(now_us, out);
  tick_gossip(now_us, out);  // last: carries whatever this tick learned
  // Never spin: a tick moves the next deadline past the `now` it was given
  // (not past the clock: real time moves on while the tick runs).
  MESHD_ASSERT_MSG(next_deadline_us() > now_us, "swim tick did not advance");
  MESHD_ASSERT(relays_.size() <= kRelaysMax && broadcasts_.size() <= kBroadcastQueueMax &&
               verify_seqs_.size() <= kVerifySeqsMax);
  MESHD_ASSERT(out.send.size() >= sends_before);
}

SwimDrop SwimMember::count_drop(SwimDrop drop) {
  MESHD_ASSERT(static_cast<size_t>(drop) < kSwimDropReasons);
  if (drop != SwimDrop::none) ++counters_.dropped[static_cast<size_t>(drop)];
  return drop;
}

bool SwimMember::admitted(const Address& from, const SwimMessage& m, SwimOutput& out, SwimDrop& drop) {
  AdmissionResult a = admit(verifier_, table_, from, m);
  counters_.signatures_verified += a.signatures_verified;
  if (a.drop == SwimDrop::none) return true;
  MESHD_ASSERT(a.rejection && a.rejection->reason == a.drop);
  ++counters_.identity_rejections;
  out.rejections.push_back(std::move(*a.rejection));
  drop = a.drop;
  return false;
}

SwimDrop SwimMember::on_datagram(int64_t now_us, const Address& from, std::span<const uint8_t> bytes,
                                 SwimOutput& out) {
  SwimDrop drop = SwimDrop::none;
  std::optional<SwimMessage> m = decode_swim(bytes, &drop);  // the only decode
  if (!m) return count_drop(drop);
  // The identity rules come before anything else, even before we notice
  // that we yielded our identity: a rejected datagram is a security event.
  if (!admitted(from, *m, out, drop)) return count_drop(drop);
  if (displaced_) return count_drop(SwimDrop::displaced);
  if (m->sender == self_.id) {
    // A twin (our identity on another endpoint) talks to us: its own
    // alive update is the news (refute() applies the policy).
    for (const MemberUpdate& u : m->updates) {
      if (u.id == self_.id) merge(u, now_us, out);
    }
    return count_drop(SwimDrop::from_self);
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
  return count_drop(drop);
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
  // Fault point: refused as if full, so the requester sees no nack from us
  // and takes the blame itself (Lifeguard), as with a really full table.
  if (relays_.size() >= kRelaysMax || fault(BuggifyPoint::swim_relay_refused)) {
    drop = SwimDrop::relay_full;
    return;
  }
  Relay r;
  r.local_seq = next_seq_++;
  r.origin_seq = m.seq;
  r.requester = from;
  r.deadline_us = now_us + config_.probe_timeout_us;
  relays_.push_back(r);
  MESHD_ASSERT(relays_.size() <= kRelaysMax);
  SwimMessage ping;
  ping.type = SwimType::ping;
  ping.seq = r.local_seq;
  ping.target = m.target;
  send(m.target_address, ping, out);
}

void SwimMember::leave(int64_t now_us, SwimOutput& out) {
  if (leaving_ || displaced_) return;
  leaving_ = true;
  leave_deadline_us_ = now_us + kLeaveDrainMaxUs;
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

std::optional<SuspicionEvidence> SwimMember::suspicion_evidence(const NodeId& id) const {
  auto it = suspicions_.find(id);
  if (it == suspicions_.end()) return std::nullopt;
  const Suspicion& s = it->second;
  MESHD_ASSERT(!s.confirmers.empty());
  SuspicionEvidence e;
  e.incarnation = s.incarnation;
  e.since_us = s.start_us;
  e.deadline_us = s.deadline_us;
  e.accuser = s.confirmers.front();
  e.confirmers.assign(s.confirmers.begin() + 1, s.confirmers.end());
  e.expected_confirmations = s.bounds.expected_confirmations;
  e.our_probe_failed = s.our_probe_failed;
  e.indirect_probes = s.indirect_probes;
  e.nacks_received = s.nacks_received;
  e.verify_pings_left = s.verify_pings_left;
  return e;
}

void SwimMember::reconfigure(const SwimConfig& config, std::vector<Address> seeds, int64_t now_us,
                             SwimOutput& out) {
  MESHD_ASSERT_MSG(config.members_max == config_.members_max && config.identity_policy == config_.identity_policy,
                   "SwimMember::reconfigure: members_max and identity_policy are fixed for a life");
  MESHD_ASSERT(seeds.size() <= kSeedsMax);
  const std::vector<Address> before = std::move(seeds_);
  config_ = config;
  seeds_ = std::move(seeds);
  if (leaving_ || displaced()) return;
  for (const Address& seed : seeds_) {
    if (seed == self_.address || std::find(before.begin(), before.end(), seed) != before.end()) continue;
    send_full_state(seed, kPushPullRequest | kPushPullJoin, out);
  }
  (void)now_us;
}

}  // namespace meshd::membership
