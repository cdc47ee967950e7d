#include "core/crypto/session_table.h"

#include <algorithm>
#include <climits>

#include "core/env/assert.h"

namespace meshd::crypto {

using wire::DropReason;

namespace {
constexpr uint32_t kIndexAllocationTries = 64;
}  // namespace

SessionTable::SessionTable(const NodeId& self, const SessionConfig& config, uint8_t hop_limit, RandomStream& rng)
    : self_(self), config_(config), hop_limit_(hop_limit), rng_(rng) {
  MESHD_ASSERT(config.reject_after_us > 0 && config.rekey_after_us < config.reject_after_us);
}

void SessionTable::add_peer(const NodeId& peer) {
  MESHD_ASSERT(peers_.size() < kPeersMax);
  MESHD_ASSERT(!peer.is_zero() && peer != self_);
  const bool added = peers_.emplace(peer, Entry{PeerSessions(config_), {}, kLivenessNeverUs}).second;
  MESHD_ASSERT(added);
}

PeerSessions& SessionTable::sessions(const NodeId& peer) {
  auto it = peers_.find(peer);
  MESHD_ASSERT(it != peers_.end());
  return it->second.sessions;
}

const PeerSessions* SessionTable::find(const NodeId& peer) const {
  auto it = peers_.find(peer);
  return it == peers_.end() ? nullptr : &it->second.sessions;
}

LivenessView SessionTable::liveness(const NodeId& peer) const {
  auto it = peers_.find(peer);
  MESHD_ASSERT(it != peers_.end());
  LivenessView view;
  view.last_opened_us = it->second.sessions.last_opened_us();
  view.last_opened_from = it->second.last_opened_from;
  view.last_opened_from_us = it->second.last_opened_from_us;
  return view;
}

uint32_t SessionTable::allocate_index(const NodeId& owner) {
  MESHD_ASSERT(index_owner_.size() < kIndicesMax);
  for (uint32_t i = 0; i < kIndexAllocationTries; ++i) {
    const auto v = static_cast<uint32_t>(rng_.next_u64());
    if (v != 0 && index_owner_.count(v) == 0) {
      index_owner_.emplace(v, owner);
      return v;
    }
  }
  MESHD_ASSERT_MSG(false, "session index space exhausted");
  return 0;
}

const NodeId* SessionTable::owner_of(uint32_t index) const {
  auto it = index_owner_.find(index);
  return it == index_owner_.end() ? nullptr : &it->second;
}

void SessionTable::reassign_index(uint32_t index, const NodeId& owner) {
  auto it = index_owner_.find(index);
  MESHD_ASSERT(it != index_owner_.end());
  it->second = owner;
}

void SessionTable::release_unused(const std::function<bool(uint32_t, const NodeId&)>& held) {
  std::erase_if(index_owner_, [&](const auto& entry) {
    const auto& [index, owner] = entry;
    if (held(index, owner)) return false;
    auto it = peers_.find(owner);
    return it == peers_.end() || !it->second.sessions.owns_index(index);
  });
  MESHD_ASSERT(index_owner_.size() <= kIndicesMax);
}

Result<Datagram> SessionTable::seal(const NodeId& peer, const Address& to, std::span<const uint8_t> plaintext,
                                     int64_t now_us, KeyUse* used) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return Status(Errc::not_found, "unknown peer");
  Session* session = it->second.sessions.sending(now_us);
  if (session == nullptr) return Status(Errc::unavailable, "no session with peer");
  wire::PacketHeader h;
  h.hop_limit = hop_limit_;
  h.source = self_;
  h.destination = peer;
  Datagram out{to, std::vector<uint8_t>(plaintext.size() + kSealOverheadBytes)};
  const uint64_t counter = session->sent_count();
  auto n = session->seal(h, plaintext, out.bytes, now_us);
  if (!n) return n.status();
  MESHD_ASSERT(*n <= out.bytes.size() && session->sent_count() == counter + 1);  // a nonce is never reused
  if (used != nullptr) *used = KeyUse{session->send_key_id(), counter};
  out.bytes.resize(*n);
  return out;
}

DropReason SessionTable::open(const wire::DecodedPacket& packet, std::span<uint8_t> out, size_t& plaintext_bytes,
                              NodeId& from, int64_t now_us, KeyUse* used, const Address* from_address) {
  plaintext_bytes = 0;
  auto owner = index_owner_.find(packet.header.session_id);
  if (owner == index_owner_.end() || owner->second != packet.header.source) return DropReason::unknown_session;
  auto it = peers_.find(owner->second);
  if (it == peers_.end()) return DropReason::unknown_session;
  uint64_t key_id = 0;
  const DropReason r = it->second.sessions.open(packet, out, plaintext_bytes, now_us, &key_id);
  if (r != DropReason::none) return r;
  MESHD_ASSERT(plaintext_bytes <= out.size() && it->second.sessions.last_opened_us() == now_us);
  from = owner->second;
  if (from_address != nullptr) {
    it->second.last_opened_from = *from_address;
    it->second.last_opened_from_us = now_us;
  }
  if (used != nullptr) *used = KeyUse{key_id, packet.header.counter};
  return r;
}

void SessionTable::expire(int64_t now_us) {
  for (auto& [id, entry] : peers_) entry.sessions.expire(now_us);
  MESHD_ASSERT(next_expiry_us() > now_us);
}

int64_t SessionTable::next_expiry_us() const {
  int64_t next = INT64_MAX;
  for (const auto& [id, entry] : peers_) next = std::min(next, entry.sessions.next_expiry_us());
  return next;
}

}  // namespace meshd::crypto
