#include "sim/member_attacker.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/crypto/identity.h"
#include "core/membership/swim_wire.h"
#include "core/node/node.h"
#include "sim/scenario/oracle.h"

namespace meshd::sim {

using membership::Member;
using membership::MemberStatus;
using membership::MemberUpdate;

namespace {

// The entry's identity as the alive update its owner signed.
MemberUpdate identity_update(const Member& m) {
  MemberUpdate u = membership::identity_of(m);
  u.id = m.id;
  u.status = MemberStatus::alive;
  return u;
}

}  // namespace

MemberAttacker::MemberAttacker(World& world, std::vector<MemberAttackerSpec> specs, NodeFn node)
    : world_(world), specs_(std::move(specs)), node_(std::move(node)),
      rng_(world.random().stream("member_attacker", "choices")) {
  for (const MemberAttackerSpec& s : specs_) insiders_.insert(s.insider);
}

void MemberAttacker::on_key(size_t node, const NodeId& id, const membership::PublicKeyBytes& key) {
  owner_[id] = node;
  keys_[id].insert(key);
}

void MemberAttacker::schedule() {
  for (size_t i = 0; i < specs_.size(); ++i) world_.at(specs_[i].from_us, [this, i] { fire(i); });
  if (!polling_) {
    polling_ = true;
    world_.at(kMemberIdentityPollUs, [this] { poll(); });
  }
}

void MemberAttacker::fire(size_t i) {
  const MemberAttackerSpec& spec = specs_[i];
  if (world_.now_us() >= spec.until_us) return;
  const MemberAttackKind kind = spec.kinds[rng_.below(spec.kinds.size())];
  if (inject(spec, kind)) ++injected_[static_cast<size_t>(kind)];
  const int64_t interval_us = std::max<int64_t>(1, 1'000'000 / spec.rate_per_s);
  const int64_t next_us = world_.now_us() + interval_us / 2 + rng_.range(0, interval_us);
  if (next_us < spec.until_us) world_.at(next_us, [this, i] { fire(i); });
}

bool MemberAttacker::inject(const MemberAttackerSpec& spec, MemberAttackKind kind) {
  Node* insider = node_(spec.insider);
  if (insider == nullptr || insider->swim() == nullptr || insider->transport() == nullptr) return false;
  const membership::MemberTable& table = insider->swim()->member().table();
  // A victim (who receives) and a subject (whom the update is about):
  // two other members the insider knows, drawn from its table.
  std::vector<const Member*> known;
  for (const auto& [id, m] : table.members()) {
    if (m.has_identity && owner_.count(id) && owner_[id] != spec.insider) known.push_back(&m);
  }
  if (known.size() < 2) return false;
  const Member& victim = *known[rng_.below(known.size())];
  const Member* subject = known[rng_.below(known.size())];
  if (subject == &victim) subject = known[(std::find(known.begin(), known.end(), subject) - known.begin() + 1) % known.size()];
  // Remember genuine signed updates for replay_update (a ring).
  if (auto genuine = table.update_of(subject->id); genuine && genuine->status == MemberStatus::alive) {
    if (recorded_.size() < kRecordedUpdatesMax) {
      recorded_.push_back(*genuine);
    } else {
      recorded_[recorded_next_++ % kRecordedUpdatesMax] = *genuine;
    }
  }
  MemberUpdate u;
  switch (kind) {
    case MemberAttackKind::suspect_spam:
      u.id = subject->id;
      u.incarnation = subject->incarnation;
      u.status = MemberStatus::suspect;
      u.origin = insider->swim()->member().id();
      break;
    case MemberAttackKind::claim_identity: {
      u = identity_update(*subject);
      u.incarnation = subject->incarnation + 1;
      const auto& key = insider->transport()->identity().public_key();
      std::copy(key.begin(), key.end(), u.public_key.begin());
      u.address = world_.address_of(spec.insider);
      const auto sig = insider->transport()->identity().sign(membership::update_signing_bytes(u));
      std::copy(sig.begin(), sig.end(), u.signature.begin());
      break;
    }
    case MemberAttackKind::forge_endpoint:
      u = identity_update(*subject);
      u.address = world_.address_of(spec.insider);
      break;
    case MemberAttackKind::replay_update:
      if (recorded_.empty()) return false;
      u = recorded_[rng_.below(recorded_.size())];
      break;
  }
  membership::SwimMessage msg;
  msg.type = membership::SwimType::gossip;
  msg.sender = insider->swim()->member().id();
  msg.updates.push_back(u);
  const size_t to = owner_[victim.id];
  return insider->transport()->send(world_.address_of(to), membership::encode(msg)).is_ok();
}

void MemberAttacker::violate(std::string text) {
  ++violation_count_;
  if (violations_.size() < kViolationsMax) violations_.push_back(std::move(text));
}

void MemberAttacker::check_entry(size_t observer, const Member& m) {
  if (!m.has_identity) return;
  auto owner = owner_.find(m.id);
  if (owner == owner_.end()) return;  // not a node of this run (cannot be judged)
  ++entries_checked_;
  const bool key_ok = keys_[m.id].count(m.public_key) > 0;
  // Verify each distinct signed fact once (the tables repeat them).
  std::vector<uint8_t> fact_bytes = membership::update_signing_bytes(identity_update(m));
  const size_t signing_size = fact_bytes.size();
  fact_bytes.insert(fact_bytes.end(), m.signature.begin(), m.signature.end());
  fact_bytes.insert(fact_bytes.end(), m.public_key.begin(), m.public_key.end());
  bool signed_ok = verified_.count(fact_bytes) > 0;
  if (!signed_ok) {
    crypto::SigningPublic key{};
    std::copy(m.public_key.begin(), m.public_key.end(), key.begin());
    crypto::Signature sig{};
    std::copy(m.signature.begin(), m.signature.end(), sig.begin());
    signed_ok = crypto::verify_signature(key, std::span(fact_bytes).first(signing_size), sig);
    if (signed_ok) verified_.insert(std::move(fact_bytes));
  }
  if (key_ok && signed_ok) return;
  const std::string fact = fmt::format("{}:{}:{}:{}", observer, m.id.to_hex(), m.identity_incarnation,
                                       key_ok ? "sig" : "key");
  if (!reported_.insert(fact).second) return;
  violate(fmt::format("[member_identity] t={:.3f}s node {}'s entry for node {} (incarnation {}, endpoint {}) holds {} "
                      "(rule: no member entry holds a key, endpoint or digest its owner did not sign)",
                      world_.now_us() / 1e6, observer, owner->second, m.identity_incarnation, m.address.to_string(),
                      key_ok ? "fields its owner's signature does not cover" : "a key its owner never held"));
}

void MemberAttacker::poll() {
  for (size_t i = 0; i < world_.node_count(); ++i) {
    if (insiders_.count(i)) continue;  // the attacker's own table proves nothing
    Node* n = node_(i);
    if (n == nullptr || n->swim() == nullptr) continue;
    for (const auto& [id, m] : n->swim()->member().table().members()) check_entry(i, m);
  }
  world_.at(world_.now_us() + kMemberIdentityPollUs, [this] { poll(); });
}

}  // namespace meshd::sim
