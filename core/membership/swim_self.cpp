// SwimMember: our own identity — signing, refutation, twins
// (IdentityPolicy) and announcements.
#include "core/membership/swim.h"

#include <algorithm>

#include "core/env/assert.h"

namespace meshd::membership {

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

void SwimMember::sign(MemberUpdate& u) const {
  u.signature = {};
  if (signer_) u.signature = signer_(update_signing_bytes(u));
}

MemberUpdate unsigned_alive(const SwimIdentity& self) {
  MemberUpdate me;
  me.id = self.id;
  me.incarnation = self.incarnation;
  copy_identity_fields(self, me);
  return me;
}

void SwimMember::update_self() {
  MESHD_ASSERT(self_.hostname.size() <= kHostnameBytesMax);
  MemberUpdate me = unsigned_alive(self_);
  sign(me);
  self_update_ = std::move(me);
  MESHD_ASSERT(self_update_.id == self_.id && self_update_.incarnation == self_.incarnation);
}

void SwimMember::reassert(uint64_t incarnation, int64_t now_us) {
  MESHD_ASSERT(incarnation > self_.incarnation);
  self_.incarnation = incarnation;
  update_self();
  table_.apply(self_alive(), now_us);
  enqueue(self_alive());
  last_announce_us_ = now_us;
  MESHD_ASSERT(table_.find(self_.id) != nullptr && table_.find(self_.id)->incarnation == incarnation);
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
      MESHD_ASSERT(displaced());
      break;
    case IdentityConflict::Action::concurrent: break;  // no war: the higher incarnation is reached
  }
}

AnnounceResult SwimMember::announce(int64_t now_us, const SwimAnnouncement& content, SwimOutput& out) {
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

}  // namespace meshd::membership
