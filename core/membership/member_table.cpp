#include "core/membership/member_table.h"

#include "core/env/assert.h"
#include "core/membership/rtt.h"

namespace meshd::membership {

std::string_view member_status_name(MemberStatus status) {
  switch (status) {
    case MemberStatus::alive: return "alive";
    case MemberStatus::suspect: return "suspect";
    case MemberStatus::failed: return "failed";
    case MemberStatus::left: return "left";
  }
  return "invalid";
}

namespace {
template <class T>
int three_way(const T& a, const T& b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}
}  // namespace

int compare_verdict(uint64_t inc_a, MemberStatus a, uint64_t inc_b, MemberStatus b) {
  if (int c = three_way(inc_a, inc_b)) return c;
  return three_way(static_cast<uint8_t>(a), static_cast<uint8_t>(b));
}

int compare_endpoints(const AltEndpoints& a, const AltEndpoints& b) {
  if (int c = three_way(a.count, b.count)) return c;
  for (size_t i = 0; i < a.count; ++i) {
    if (int c = three_way(a.at[i], b.at[i])) return c;
  }
  return 0;
}

// Every identity byte takes part, so that two claims at one incarnation
// are ordered the same way whatever order they arrive in.
int compare_identity(const MemberUpdate& a, const MemberUpdate& b) {
  if (int c = three_way(a.incarnation, b.incarnation)) return c;
  if (int c = three_way(a.address, b.address)) return c;
  if (int c = compare_endpoints(a.alt_endpoints, b.alt_endpoints)) return c;
  if (int c = three_way(a.instance, b.instance)) return c;
  if (int c = three_way(a.public_key, b.public_key)) return c;
  if (int c = three_way(a.hostname, b.hostname)) return c;
  if (int c = three_way(a.fingerprint_digest, b.fingerprint_digest)) return c;
  if (int c = three_way(a.capability_digest, b.capability_digest)) return c;
  return three_way(a.signature, b.signature);
}

MemberTable::MemberTable(size_t capacity) : capacity_(capacity) {
  MESHD_ASSERT(capacity_ > 0 && capacity_ <= kMembersMax);
}

namespace {

// The identity part of an alive update, into the entry.
void take_identity(Member& m, const MemberUpdate& u) {
  m.has_identity = true;
  m.identity_incarnation = u.incarnation;
  copy_identity_fields(u, m);
  m.signature = u.signature;
}

// The verdict part of an update, into the entry (a left update keeps the
// owner's key and signature so it can be relayed as signed).
void take_verdict(Member& m, const MemberUpdate& u) {
  m.incarnation = u.incarnation;
  m.status = u.status;
  // Only the current verdict's leave is kept (else an overtaken leave
  // would linger depending on arrival order).
  m.left_key = u.status == MemberStatus::left ? u.public_key : PublicKeyBytes{};
  m.left_signature = u.status == MemberStatus::left ? u.signature : SignatureBytes{};
}

}  // namespace

MemberUpdate identity_of(const Member& m) {
  MemberUpdate u;
  u.incarnation = m.identity_incarnation;
  copy_identity_fields(m, u);
  u.signature = m.signature;
  return u;
}

MergeResult MemberTable::apply(const MemberUpdate& u, int64_t now_us) {
  MESHD_ASSERT(u.hostname.size() <= kHostnameBytesMax);
  MergeResult r;
  auto it = members_.find(u.id);
  if (it == members_.end()) {
    if (members_.size() >= capacity_) {
      ++overflow_;
      r.rejected_overflow = true;
      return r;
    }
    Member m;
    m.id = u.id;
    take_verdict(m, u);
    m.status_since_us = now_us;
    m.first_seen_us = now_us;
    if (u.status == MemberStatus::alive) {
      take_identity(m, u);
      m.last_heard_us = now_us;
      r.gained_identity = true;
      r.identity_changed = true;
    }
    members_.emplace(u.id, std::move(m));
    MESHD_ASSERT(members_.size() <= capacity_);
    r.created = true;
    r.verdict_changed = true;
    r.status_changed = true;
    r.old_status = u.status;
    return r;
  }
  Member& m = it->second;
  r.old_status = m.status;
  if (u.status == MemberStatus::alive) {
    if (!m.has_identity || compare_identity(u, identity_of(m)) > 0) {
      r.gained_identity = !m.has_identity;
      take_identity(m, u);
      r.identity_changed = true;
    }
  }
  if (compare_verdict(u.incarnation, u.status, m.incarnation, m.status) > 0) {
    r.verdict_changed = true;
    r.status_changed = u.status != m.status;
    take_verdict(m, u);
    if (r.status_changed) m.status_since_us = now_us;
    MESHD_ASSERT(m.incarnation == u.incarnation && m.status == u.status);
  }
  // An accepted alive at the current incarnation is a heartbeat.
  if (u.status == MemberStatus::alive && m.status == MemberStatus::alive &&
      u.incarnation == m.incarnation && (r.verdict_changed || r.identity_changed)) {
    m.last_heard_us = now_us;
  }
  // An alive verdict always has the identity that came with it.
  MESHD_ASSERT(m.status != MemberStatus::alive || m.has_identity);
  MESHD_ASSERT(!r.gained_identity || r.identity_changed);
  return r;
}

void MemberTable::heard(const NodeId& id, int64_t now_us) {
  auto it = members_.find(id);
  if (it != members_.end() && now_us > it->second.last_heard_us) it->second.last_heard_us = now_us;
}

void MemberTable::rtt_sample(const NodeId& id, int64_t rtt_us) {
  MESHD_ASSERT(rtt_us >= 0);
  auto it = members_.find(id);
  if (it == members_.end()) return;
  fold_rtt_sample(it->second.srtt_us, it->second.rttvar_us, rtt_us);
}

std::vector<NodeId> MemberTable::reap(int64_t now_us, int64_t reap_after_us) {
  MESHD_ASSERT(reap_after_us > 0);
  const size_t before = members_.size();
  std::vector<NodeId> reaped;
  for (auto it = members_.begin(); it != members_.end();) {
    const Member& m = it->second;
    const bool dead = m.status == MemberStatus::failed || m.status == MemberStatus::left ||
                      !m.has_identity;
    if (dead && now_us - m.status_since_us >= reap_after_us) {
      reaped.push_back(it->first);
      it = members_.erase(it);
    } else {
      ++it;
    }
  }
  MESHD_ASSERT(members_.size() + reaped.size() == before);
  return reaped;
}

std::optional<MemberUpdate> MemberTable::update_of(const NodeId& id) const {
  const Member* m = find(id);
  if (!m) return std::nullopt;
  MemberUpdate u;
  if (m->status == MemberStatus::alive) {
    // An alive verdict only ever comes from an alive update, which also
    // set the identity at the same incarnation.
    MESHD_ASSERT(m->has_identity && m->identity_incarnation == m->incarnation);
    u = identity_of(*m);
  } else if (m->status == MemberStatus::left) {
    u.public_key = m->left_key;
    u.signature = m->left_signature;
  }
  u.id = m->id;
  u.incarnation = m->incarnation;
  u.status = m->status;
  return u;
}

const Member* MemberTable::find(const NodeId& id) const {
  auto it = members_.find(id);
  return it == members_.end() ? nullptr : &it->second;
}

std::optional<NodeId> MemberTable::resolve_hostname(std::string_view hostname) const {
  const Member* best = nullptr;
  for (const auto& [id, m] : members_) {
    if (!m.active() || m.hostname != hostname) continue;
    if (!best || m.last_heard_us > best->last_heard_us ||
        (m.last_heard_us == best->last_heard_us && m.incarnation > best->incarnation)) {
      best = &m;  // map order: on a full tie the lower NodeId stays
    }
  }
  if (!best) return std::nullopt;
  return best->id;
}

size_t MemberTable::count_active() const {
  size_t n = 0;
  for (const auto& [id, m] : members_) n += m.active() ? 1 : 0;
  MESHD_ASSERT(n <= members_.size());
  return n;
}

}  // namespace meshd::membership
