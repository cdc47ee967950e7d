// HandshakeManager: peers, timers, routing and the helpers the initiator
// and responder halves share (handshake_initiator.cpp,
// handshake_responder.cpp).
#include "core/crypto/handshake_manager.h"

#include <algorithm>
#include <climits>

#include "core/env/assert.h"

namespace meshd::crypto {

using wire::DropReason;
using wire::PacketType;

HandshakeManager::HandshakeManager(const Identity& identity, const KeyArchive& archive, const Psk& psk,
                                   RandomStream& rng, const HandshakeManagerConfig& config, WallClock wall_us)
    : identity_(identity),
      archive_(archive),
      wall_us_(std::move(wall_us)),
      psk_(psk),
      rng_(rng),
      config_(config),
      cookies_(psk, rng),
      limiter_(config.handshake_rate_per_s, config.handshake_burst),
      sessions_(identity.node_id(), config.session, config.hop_limit, rng) {
  MESHD_ASSERT(config.retry_initial_us > 0 && config.retry_max_us >= config.retry_initial_us);
  MESHD_ASSERT(config.handshake_timeout_us > 0 && config.stale_grace_us > 0);
  MESHD_ASSERT(config.hop_limit > 0 && config.hop_limit <= wire::kHopLimitMax);
}

Status HandshakeManager::add_peer(const NodeId& id, const Address& address, std::optional<SigningPublic> key) {
  if (id == identity_.node_id()) return Status(Errc::invalid, "peer is this node");
  if (id.is_zero()) return Status(Errc::invalid, "peer NodeId is zero");
  if (key && !dh_public_of(*key)) return Status(Errc::invalid, "peer key is not a valid Ed25519 key");
  auto it = peers_.find(id);
  if (it == peers_.end()) {
    if (peers_.size() >= kPeersMax) return Status(Errc::too_large, "peer table full");
    peers_.emplace(id, Peer{address, key, std::nullopt, CookieJar(psk_), HandshakeFreshness{}, 0});
    sessions_.add_peer(id);
    MESHD_ASSERT(peers_.size() == sessions_.peer_count() && peers_.size() <= kPeersMax);
    return Status::ok();
  }
  it->second.address = address;
  if (key) it->second.key = key;
  return Status::ok();
}

HandshakeManager::Peer* HandshakeManager::admit_peer(const NodeId& id, const Address& address,
                                                     const std::optional<SigningPublic>& key, HandshakeOutput& out) {
  if (auto it = peers_.find(id); it != peers_.end()) return &it->second;
  if (!add_peer(id, address, key)) {
    out.drop = DropReason::peer_table_full;
    return nullptr;
  }
  return &peers_.find(id)->second;
}

Result<HandshakeOutput> HandshakeManager::connect(const NodeId& id, int64_t now_us, int64_t now_wall_us,
                                                  bool force) {
  auto it = peers_.find(id);
  if (it == peers_.end()) return Status(Errc::not_found, "unknown peer " + id.to_hex());
  Peer& peer = it->second;
  if (peer.pending) {
    // Forced while our initiation waits out its backoff: the caller just
    // heard from the peer (a hint), so it is reachable now — resend at
    // once rather than after up to retry_max (found by swarm seed
    // smoke/193: an initiation lost just before a link came back cost a
    // full backoff period). At most once per retry_initial / 2.
    const PendingInitiation& p = *peer.pending;
    if (!force || now_us - p.sent_us < config_.retry_initial_us / 2) return HandshakeOutput{};
    return start(id, peer, now_us, now_wall_us, p.attempts + 1, p.started_us);
  }
  const Session* current = sessions_.sessions(id).sending(now_us);
  if (!force && current != nullptr && !current->needs_rekey(now_us)) return HandshakeOutput{};
  return start(id, peer, now_us, now_wall_us, 0, now_us);
}

Result<HandshakeOutput> HandshakeManager::connect_address(const Address& address, int64_t now_us,
                                                          int64_t now_wall_us) {
  if (probes_.contains(address)) return HandshakeOutput{};
  if (probes_.full()) return Status(Errc::too_large, "too many first-contact handshakes");
  return start_probe(address, false, now_us, now_wall_us, 0, now_us);
}

HandshakeOutput HandshakeManager::on_handshake_packet(const Address& from, const wire::DecodedPacket& packet,
                                                      int64_t now_us, int64_t now_wall_us) {
  MESHD_ASSERT(packet.ok());
  HandshakeOutput out;
  const auto& h = packet.header;
  if (h.source == identity_.node_id()) return dropped(out, DropReason::handshake_failed);  // reflected back at us
  if (!h.destination.is_zero() && h.destination != identity_.node_id()) return dropped(out, DropReason::not_for_us);
  switch (h.type) {
    case PacketType::handshake_initiation: return on_initiation(from, packet, now_us, now_wall_us);
    case PacketType::handshake_response: return on_response(packet, now_us, now_wall_us);
    case PacketType::cookie_reply: return on_cookie_reply(packet, now_us, now_wall_us);
    case PacketType::twin_notice: return on_twin_notice(from, packet);
    case PacketType::transport: break;
  }
  return dropped(out, DropReason::unknown_type);
}

// --- the one shape ---------------------------------------------------------------

namespace {
// Appends `more` to `out` (a sub-step's output into the caller's).
void append(HandshakeOutput& out, HandshakeOutput&& more) {
  for (auto& d : more.send) out.send.push_back(std::move(d));
  for (auto& e : more.events) out.events.push_back(std::move(e));
  if (more.drop != DropReason::none) out.drop = more.drop;
  if (more.twin_notice != TwinNoticeOutcome::none) out.twin_notice = more.twin_notice;
}
}  // namespace

void HandshakeManager::on_tick(int64_t now_us, HandshakeOutput& out) {
  MESHD_ASSERT_MSG(wall_us_ != nullptr, "on_tick needs the WallClock given at construction");
  append(out, tick(now_us, wall_us_()));
}

DropReason HandshakeManager::on_datagram(int64_t now_us, const Address& from, std::span<const uint8_t> bytes,
                                         HandshakeOutput& out) {
  MESHD_ASSERT_MSG(wall_us_ != nullptr, "on_datagram needs the WallClock given at construction");
  const wire::DecodedPacket packet = wire::decode_packet(bytes);
  if (!packet.ok()) return out.drop = packet.drop;
  if (packet.header.type == PacketType::transport) return out.drop = DropReason::unknown_type;  // open()'s
  append(out, on_handshake_packet(from, packet, now_us, wall_us_()));
  return out.drop;
}

// --- timers -------------------------------------------------------------------

int64_t HandshakeManager::rekey_due_us(const Peer& peer, const NodeId& id) const {
  if (peer.pending) return INT64_MAX;  // a handshake is already under way
  const PeerSessions* s = sessions_.find(id);
  MESHD_ASSERT(s != nullptr);
  const auto& current = s->current();
  if (!current) return INT64_MAX;
  if (current->sent_count() >= config_.session.rekey_after_messages) return current->established_us();  // due now
  // The session's initiator rekeys first; the responder only later, so
  // both sides rarely start at once (and the tie-break settles it if so).
  const int64_t due_after_us = current->initiator()
                                   ? config_.session.rekey_after_us
                                   : (config_.session.rekey_after_us + config_.session.reject_after_us) / 2;
  return current->established_us() + due_after_us;
}

void HandshakeManager::tick_peer(const NodeId& id, Peer& peer, int64_t now_us, int64_t now_wall_us,
                                 HandshakeOutput& out) {
  Result<HandshakeOutput> again = Status(Errc::not_found);
  if (peer.pending && now_us - peer.pending->started_us >= config_.handshake_timeout_us) {
    peer.pending.reset();
    out.events.push_back(HandshakeEvent{HandshakeEventKind::failed, id, true, peer.address});
    // Falls through: a session due for a rekey starts a new attempt now
    // (the deadline must move past now_us).
  }
  if (peer.pending) {
    const PendingInitiation& p = *peer.pending;
    if (now_us < p.next_retry_us) return;
    const uint32_t attempts = p.attempts;
    again = start(id, peer, now_us, now_wall_us, attempts + 1, p.started_us);
    // A retry that could not be built waits out another backoff.
    if (!again) peer.pending->next_retry_us = now_us + backoff_us(attempts);
  } else if (now_us >= rekey_due_us(peer, id)) {
    again = start(id, peer, now_us, now_wall_us, 0, now_us);
    MESHD_ASSERT_MSG(again.is_ok(), "rekey of an established peer failed to start");
  }
  if (!again) return;
  for (auto& pkt : again->send) out.send.push_back(std::move(pkt));
}

HandshakeOutput HandshakeManager::tick(int64_t now_us, int64_t now_wall_us) {
  HandshakeOutput out;
  sessions_.expire(now_us);
  for (auto& [id, peer] : peers_) tick_peer(id, peer, now_us, now_wall_us, out);
  tick_probes(now_us, now_wall_us, out);
  std::erase_if(responding_, [&](const auto& entry) {
    return now_us - entry.second.started_us >= config_.handshake_timeout_us;
  });
  release_unused_indices();
  MESHD_ASSERT(responding_.size() <= kPendingRespondersMax && peers_.size() == sessions_.peer_count());
  MESHD_ASSERT_MSG(next_deadline_us() > now_us, "tick left work due: the deadline did not move forward");
  return out;
}

void HandshakeManager::tick_probes(int64_t now_us, int64_t now_wall_us, HandshakeOutput& out) {
  for (const Address& address : probes_.addresses()) {
    const PendingInitiation& p = probes_.find(address)->pending;
    if (now_us - p.started_us >= config_.handshake_timeout_us) {
      out.events.push_back(HandshakeEvent{HandshakeEventKind::failed, NodeId{}, true, address});
      probes_.erase(address);
      continue;
    }
    if (now_us < p.next_retry_us) continue;
    const uint32_t attempts = p.attempts;
    auto again = start_probe(address, true, now_us, now_wall_us, attempts + 1, p.started_us);
    if (!again) {
      probes_.find(address)->pending.next_retry_us = now_us + backoff_us(attempts);
      continue;
    }
    for (auto& pkt : again->send) out.send.push_back(std::move(pkt));
  }
}

int64_t HandshakeManager::next_deadline_us() const {
  int64_t next = std::min(sessions_.next_expiry_us(), probes_.next_deadline_us(config_.handshake_timeout_us));
  for (const auto& [id, peer] : peers_) {
    if (peer.pending) next = std::min(next, peer.pending->deadline_us(config_.handshake_timeout_us));
    next = std::min(next, rekey_due_us(peer, id));
  }
  for (const auto& [index, r] : responding_) next = std::min(next, r.started_us + config_.handshake_timeout_us);
  return next;
}

// --- helpers ------------------------------------------------------------------

uint32_t HandshakeManager::allocate_index(const NodeId& owner) {
  // Indices of evicted responders and replaced sessions are reclaimed at
  // tick(); a burst between ticks reclaims them here first.
  if (sessions_.index_count() >= kIndicesMax) release_unused_indices();
  return sessions_.allocate_index(owner);
}

void HandshakeManager::release_unused_indices() {
  sessions_.release_unused([&](uint32_t index, const NodeId& owner) {
    if (responding_.count(index) != 0) return true;
    if (owner.is_zero()) return probes_.owns_index(index);
    auto it = peers_.find(owner);
    return it != peers_.end() && it->second.pending && it->second.pending->local_index == index;
  });
}

HandshakeFreshness HandshakeManager::next_freshness(int64_t now_wall_us) {
  // Strictly increasing even if the wall clock steps back, so our own
  // retries are never mistaken for replays by the peer; across a restart
  // the persisted boot count orders them (the timestamp alone would not
  // if the clock stepped back before the restart).
  const uint64_t before = last_timestamp_sent_;
  const uint64_t wall = now_wall_us > 0 ? static_cast<uint64_t>(now_wall_us) : 0;
  last_timestamp_sent_ = std::max(wall, last_timestamp_sent_ + 1);
  MESHD_ASSERT(last_timestamp_sent_ > before);
  return HandshakeFreshness{config_.boot, last_timestamp_sent_};
}

int64_t HandshakeManager::backoff_us(uint32_t attempts) {
  int64_t base = config_.retry_initial_us;
  for (uint32_t i = 0; i < attempts && base < config_.retry_max_us; ++i) base *= 2;
  base = std::min(base, config_.retry_max_us);
  const int64_t backoff = base + static_cast<int64_t>(rng_.below(static_cast<uint64_t>(base / 3) + 1));
  MESHD_ASSERT(backoff >= config_.retry_initial_us && backoff <= config_.retry_max_us + config_.retry_max_us / 3);
  return backoff;
}

std::vector<const Identity*> HandshakeManager::own_keys(int64_t now_wall_us) const {
  std::vector<const Identity*> keys{&identity_};
  const auto& entries = archive_.entries();
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    if (archive_.find_by_dh_public(it->identity.dh_public(), now_wall_us) != nullptr) keys.push_back(&it->identity);
  }
  return keys;
}

std::optional<uint32_t> HandshakeManager::own_key_index(const Identity* key, int64_t now_wall_us) const {
  const auto keys = own_keys(now_wall_us);
  std::optional<uint32_t> index;
  for (uint32_t i = 0; i < keys.size(); ++i) {
    if (keys[i] == key) index = i;
  }
  return index;
}

std::optional<DhPublic> HandshakeManager::dh_public_of(const SigningPublic& key) const {
  auto it = dh_cache_.find(key);
  if (it != dh_cache_.end()) return it->second;
  if (dh_cache_.size() >= kDhCacheEntriesMax) dh_cache_.clear();  // bounded; refills from use
  const auto converted = dh_public_from_signing_public(key);
  dh_cache_.emplace(key, converted);
  MESHD_ASSERT(dh_cache_.size() <= kDhCacheEntriesMax);
  return converted;
}

bool HandshakeManager::identity_ok(const NodeId& claimed, const SigningPublic& key,
                                   const DhPublic& noise_static) const {
  const auto converted = dh_public_of(key);
  if (!converted || *converted != noise_static) return false;
  auto it = peers_.find(claimed);
  if (it != peers_.end() && it->second.key) return *it->second.key == key;
  // First contact: the NodeId must be the one this key derives.
  return node_id_from_public_key(key) == claimed;
}

std::optional<HandshakePayload> HandshakeManager::read_authenticated(HandshakeState& hs,
                                                                     std::span<const uint8_t> message,
                                                                     const NodeId& claimed,
                                                                     std::optional<uint32_t> expected_index) const {
  std::vector<uint8_t> plain;
  if (!hs.read_message(message, plain)) return std::nullopt;
  return verified_payload(hs, plain, claimed, expected_index);
}

std::optional<HandshakePayload> HandshakeManager::verified_payload(const HandshakeState& hs,
                                                                   std::span<const uint8_t> plain,
                                                                   const NodeId& claimed,
                                                                   std::optional<uint32_t> expected_index) const {
  const auto payload = decode_handshake_payload(plain);
  if (!payload || (expected_index && payload->index != *expected_index)) return std::nullopt;
  if (!hs.remote_static() || !identity_ok(claimed, payload->key, *hs.remote_static())) return std::nullopt;
  return payload;
}

Datagram HandshakeManager::make_packet(const Address& to, const NodeId& destination, PacketType type,
                                        uint32_t session_id, uint64_t counter, std::span<const uint8_t> body,
                                        uint8_t flags) const {
  MESHD_ASSERT(body.size() <= wire::kPayloadBytesMax);
  wire::PacketHeader h;
  h.type = type;
  h.flags = flags;
  h.hop_limit = config_.hop_limit;
  h.source = identity_.node_id();
  h.destination = destination;
  h.session_id = session_id;
  h.counter = counter;
  h.payload_length = static_cast<uint16_t>(body.size());
  Datagram p{to, std::vector<uint8_t>(wire::kHeaderBytes + body.size())};
  wire::encode_header(h, std::span<uint8_t, wire::kHeaderBytes>(p.bytes.data(), wire::kHeaderBytes));
  std::copy(body.begin(), body.end(), p.bytes.begin() + wire::kHeaderBytes);
  return p;
}

LivenessView HandshakeManager::liveness_of(const NodeId& id, const Peer& peer) const {
  LivenessView view = sessions_.liveness(id);
  view.holder = peer.address;
  view.last_freshness = peer.last_freshness;
  return view;
}

// --- transport packets and queries ----------------------------------------------

Result<Datagram> HandshakeManager::seal(const NodeId& id, std::span<const uint8_t> plaintext, int64_t now_us,
                                         KeyUse* used) {
  auto it = peers_.find(id);
  if (it == peers_.end()) return Status(Errc::not_found, "unknown peer");
  return sessions_.seal(id, it->second.address, plaintext, now_us, used);
}

DropReason HandshakeManager::open(const wire::DecodedPacket& packet, std::span<uint8_t> out,
                                  size_t& plaintext_bytes, NodeId& from, int64_t now_us, KeyUse* used,
                                  const Address* from_address) {
  return sessions_.open(packet, out, plaintext_bytes, from, now_us, used, from_address);
}

bool HandshakeManager::has_session(const NodeId& id, int64_t now_us) {
  return sessions_.has_peer(id) && sessions_.sessions(id).sending(now_us) != nullptr;
}

bool HandshakeManager::handshake_in_flight(const NodeId& id) const {
  auto it = peers_.find(id);
  return it != peers_.end() && it->second.pending.has_value();
}

std::optional<SigningPublic> HandshakeManager::peer_key(const NodeId& id) const {
  auto it = peers_.find(id);
  if (it == peers_.end()) return std::nullopt;
  return it->second.key;
}

const PeerSessions* HandshakeManager::sessions(const NodeId& id) const { return sessions_.find(id); }

}  // namespace meshd::crypto
