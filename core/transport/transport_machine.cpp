#include "core/transport/transport_machine.h"

#include <algorithm>
#include <array>

namespace meshd::transport {

using wire::DropReason;

TransportMachine::TransportMachine(const crypto::Identity& identity, const crypto::KeyArchive& archive,
                                   const crypto::Psk& psk, RandomStream rng, const SecureTransportConfig& config,
                                   const std::vector<TransportPeer>& peers, WallClock wall_us, Buggify* buggify)
    : identity_(identity),
      archive_(archive),
      rng_(rng),
      config_(config),
      manager_(identity_, archive_, psk, rng_, config.handshake, [this] { return wall_us_(); }),
      wall_us_(std::move(wall_us)),
      buggify_(buggify) {
  MESHD_ASSERT(wall_us_ != nullptr);
  MESHD_ASSERT(config.queue_packets_max > 0 && config.queue_packets_max <= kQueuePacketsConfigMax);
  MESHD_ASSERT(config.silence_rehandshake_us > 0 && config.peer_idle_timeout_us > config.silence_rehandshake_us);
  MESHD_ASSERT(peers.size() <= kTransportPeersMax);
  for (const TransportPeer& p : peers) {
    const NodeId id = p.node_id ? *p.node_id : crypto::node_id_from_public_key(p.key);
    if (id == identity_.node_id()) continue;  // our own entry in a shared peer list
    if (Status s = manager_.add_peer(id, p.address, p.key); !s) {
      startup_logs_.push_back({LogLevel::warn, "transport_peer_rejected",
                               {{"address", p.address.to_string()}, {"error", s.to_string()}}});
      continue;
    }
    PeerState& state = peers_[p.address];
    state.id = id;
    state.configured = true;
    address_of_[id] = p.address;
  }
  check_tables();
}

void TransportMachine::check_tables() const {
  // address_of_ may name an id more than once per address (a peer that
  // moved, an address whose identity changed): it is bounded by the
  // manager's peers, every one of which has a NodeId.
  MESHD_ASSERT(peers_.size() <= kTransportPeersMax && address_of_.size() <= crypto::kPeersMax);
  MESHD_ASSERT(address_of_.size() <= manager_.peer_count());
}

// --- timers -------------------------------------------------------------------

void TransportMachine::on_tick(int64_t now_us, Output& out) {
  crypto::HandshakeOutput hs;
  manager_.on_tick(now_us, hs);
  handle(now_us, hs, out);
  // Peers that went silent on a session we keep sending on: they may
  // have restarted and lost it, so offer a new handshake (once per
  // silence period; the manager ignores it while one is in flight).
  for (auto& [address, peer] : peers_) {
    if (!peer.id || peer.unanswered_since_us < 0) continue;
    if (now_us - peer.unanswered_since_us < config_.silence_rehandshake_us) continue;
    peer.unanswered_since_us = now_us;
    bump(TransportCount::handshakes_forced);
    connect(now_us, address, peer, true, out);
  }
  // The fault point rolls on its own cadence, not per wake-up, so how often
  // it fires does not depend on how often traffic wakes the machine.
  const bool roll = buggify_ != nullptr && now_us >= next_buggify_roll_us_;
  if (roll) next_buggify_roll_us_ = now_us + kBuggifyTickIntervalUs;
  if (roll && !peers_.empty() && fault(BuggifyPoint::transport_early_rekey)) {
    // Rekey one peer's session long before rekey_after, traffic in flight.
    auto it = std::next(peers_.begin(), static_cast<long>(buggify_->below(peers_.size())));
    if (it->second.id && manager_.has_session(*it->second.id, now_us)) connect(now_us, it->first, it->second, true, out);
  }
  evict_idle(now_us);
  MESHD_ASSERT_MSG(next_deadline_us() > now_us, "transport tick left work due: the deadline did not move forward");
}

int64_t TransportMachine::next_deadline_us() const {
  int64_t next = manager_.next_deadline_us();
  for (const auto& [address, peer] : peers_) {
    if (peer.id && peer.unanswered_since_us >= 0) {
      next = std::min(next, peer.unanswered_since_us + config_.silence_rehandshake_us);
    }
    if (evictable(peer)) next = std::min(next, peer.last_active_us + config_.peer_idle_timeout_us);
  }
  if (buggify_ != nullptr) next = std::min(next, next_buggify_roll_us_);
  return next;
}

// --- the peer table -------------------------------------------------------------

bool TransportMachine::evictable(const PeerState& peer) const { return !peer.configured && peer.queue.empty(); }

void TransportMachine::evict(std::map<Address, PeerState>::iterator it) {
  MESHD_ASSERT(it != peers_.end() && evictable(it->second));
  if (it->second.id) {
    auto bound = address_of_.find(*it->second.id);
    if (bound != address_of_.end() && bound->second == it->first) address_of_.erase(bound);
  }
  peers_.erase(it);
}

void TransportMachine::evict_idle(int64_t now_us) {
  for (auto it = peers_.begin(); it != peers_.end();) {
    auto here = it++;
    if (!evictable(here->second) || now_us - here->second.last_active_us < config_.peer_idle_timeout_us) continue;
    evict(here);
    bump(TransportCount::peers_evicted_idle);
  }
  check_tables();
}

TransportMachine::PeerState* TransportMachine::peer_at(const Address& address, int64_t now_us) {
  if (auto it = peers_.find(address); it != peers_.end()) return &it->second;
  if (peers_.size() >= kTransportPeersMax) {
    auto idlest = peers_.end();
    for (auto it = peers_.begin(); it != peers_.end(); ++it) {
      if (!evictable(it->second)) continue;
      if (idlest == peers_.end() || it->second.last_active_us < idlest->second.last_active_us) idlest = it;
    }
    if (idlest == peers_.end()) {
      bump(TransportCount::peers_refused);
      return nullptr;
    }
    evict(idlest);
    bump(TransportCount::peers_evicted_full);
  }
  PeerState& peer = peers_[address];
  peer.last_active_us = now_us;
  check_tables();
  return &peer;
}

size_t TransportMachine::queued(const Address& to) const {
  auto it = peers_.find(to);
  return it == peers_.end() ? 0 : it->second.queue.size();
}

std::optional<NodeId> TransportMachine::peer_id(const Address& address) const {
  auto it = peers_.find(address);
  if (it == peers_.end()) return std::nullopt;
  return it->second.id;
}

// --- sending ----------------------------------------------------------------------

void TransportMachine::transmit(Datagram packet, Output& out) {
  constexpr size_t kTypeOffset = 3;  // docs/protocol.md, header byte 3
  MESHD_ASSERT(packet.bytes.size() <= kDatagramBytesMax);
  if (packet.bytes.size() > kTypeOffset &&
      packet.bytes[kTypeOffset] == static_cast<uint8_t>(wire::PacketType::handshake_initiation) &&
      fault(BuggifyPoint::transport_initiation_lost)) {
    bump(TransportCount::initiations_lost);
    return;  // as if lost on the wire: the retry timer must recover it
  }
  out.send.push_back(std::move(packet));
}

void TransportMachine::connect(int64_t now_us, const Address& address, PeerState& peer, bool force, Output& out) {
  if (peer.id && !force) {
    // We answered the peer's IK moments ago: its first packet will confirm
    // that session, so a handshake of our own would only collide with it.
    const crypto::PeerSessions* s = manager_.sessions(*peer.id);
    if (s != nullptr && s->next() && !s->current() &&
        now_us - s->next()->established_us() < config_.handshake.retry_initial_us) {
      return;
    }
  }
  auto hs = peer.id ? manager_.connect(*peer.id, now_us, wall_us_(), force)
                    : manager_.connect_address(address, now_us, wall_us_());
  if (!hs) {
    out.logs.push_back({LogLevel::debug, "handshake_not_started",
                        {{"peer", address.to_string()}, {"error", hs.status().to_string()}}});
    return;
  }
  handle(now_us, *hs, out);
}

bool TransportMachine::seal_and_send(int64_t now_us, PeerState& peer, const NodeId& id,
                                     std::span<const uint8_t> plaintext, Output& out) {
  peer.last_sent_us = now_us;
  peer.last_active_us = now_us;
  crypto::KeyUse use;
  auto packet = manager_.seal(id, plaintext, now_us, &use);
  if (!packet) return false;
  MESHD_ASSERT(packet->bytes.size() == plaintext.size() + crypto::kSealOverheadBytes &&
               packet->bytes.size() <= kDatagramBytesMax);
  if (observer_ != nullptr) observer_->on_seal(identity_.node_id(), id, use, plaintext);
  bump(TransportCount::sent);
  transmit(std::move(*packet), out);
  return true;
}

Status TransportMachine::send(int64_t now_us, const Address& to, std::span<const uint8_t> bytes, Output& out) {
  if (bytes.size() > kTransportPayloadBytesMax) return Status(Errc::too_large, "datagram too large");
  auto existing = peers_.find(to);
  if (existing == peers_.end() && peers_.size() >= kQueuedPeersMax) {
    bump(TransportCount::queue_overflow);
    return Status(Errc::unavailable, "transport: too many peers");
  }
  PeerState* found = peer_at(to, now_us);
  if (found == nullptr) return Status(Errc::unavailable, "transport: peer table full");
  PeerState& peer = *found;
  if (peer.id && manager_.has_session(*peer.id, now_us)) flush(now_us, peer, out);  // keep order
  if (peer.id && peer.queue.empty() && manager_.has_session(*peer.id, now_us) &&
      seal_and_send(now_us, peer, *peer.id, bytes, out)) {
    // A new silence deadline (next_deadline_us): the driver wakes if it is
    // earlier than the one it sleeps until. Rekeys are the manager's tick.
    if (peer.unanswered_since_us < 0) peer.unanswered_since_us = now_us;
    return Status::ok();
  }
  if (peer.queue.size() >= config_.queue_packets_max) {
    bump(TransportCount::queue_overflow);
    return Status::ok();  // UDP semantics: accepted, then lost (counted)
  }
  peer.queue.emplace_back(bytes.begin(), bytes.end());
  MESHD_ASSERT(peer.queue.size() <= config_.queue_packets_max);
  connect(now_us, to, peer, false, out);
  return Status::ok();
}

void TransportMachine::flush(int64_t now_us, PeerState& peer, Output& out) {
  if (!peer.id) return;
  while (!peer.queue.empty() && manager_.has_session(*peer.id, now_us)) {
    if (!seal_and_send(now_us, peer, *peer.id, peer.queue.front(), out)) break;
    if (peer.unanswered_since_us < 0) peer.unanswered_since_us = now_us;
    peer.queue.pop_front();
  }
  MESHD_ASSERT(peer.queue.size() <= config_.queue_packets_max);
}

// --- handshake output -------------------------------------------------------------

void TransportMachine::handle(int64_t now_us, crypto::HandshakeOutput& hs, Output& out) {
  for (Datagram& p : hs.send) transmit(std::move(p), out);
  if (hs.twin_notice == crypto::TwinNoticeOutcome::sent) bump(TransportCount::twin_notices_sent);
  if (hs.twin_notice == crypto::TwinNoticeOutcome::suppressed) bump(TransportCount::twin_notices_suppressed);
  for (const crypto::HandshakeEvent& e : hs.events) {
    switch (e.kind) {
      case crypto::HandshakeEventKind::established: {
        bump(TransportCount::handshakes_completed);
        PeerState* found = peer_at(e.address, now_us);
        if (found == nullptr) break;  // counted; the session stays in the manager
        PeerState& peer = *found;
        if (peer.id && *peer.id != e.peer) address_of_.erase(*peer.id);
        peer.id = e.peer;
        address_of_[e.peer] = e.address;
        MESHD_ASSERT(peers_.count(e.address) == 1 && address_of_.count(e.peer) == 1);
        out.logs.push_back(
            {LogLevel::debug, "session_established", {{"peer", e.peer.to_hex()}, {"initiator", e.initiator}}});
        const bool had_queue = !peer.queue.empty();
        flush(now_us, peer, out);
        if (e.initiator && !had_queue && manager_.has_session(e.peer, now_us)) {
          bump(TransportCount::keepalives_sent);
          seal_and_send(now_us, peer, e.peer, {}, out);
        }
        break;
      }
      case crypto::HandshakeEventKind::failed: {
        bump(TransportCount::handshakes_failed);
        auto it = peers_.find(e.address);
        if (it != peers_.end()) {
          bump(TransportCount::queue_handshake_failed, it->second.queue.size());
          it->second.queue.clear();
          MESHD_ASSERT(it->second.queue.empty());
        }
        out.logs.push_back({LogLevel::debug, "handshake_failed", {{"peer", e.address.to_string()}}});
        out.refusals.push_back({e.address, DropReason::none});
        break;
      }
      case crypto::HandshakeEventKind::peer_key_learned:
        break;
      case crypto::HandshakeEventKind::twin_refused:
        bump(TransportCount::twin_notices_received);
        out.logs.push_back({LogLevel::debug, "twin_notice",
                            {{"peer", e.peer.to_hex()},
                             {"holder", e.twin.holder.to_string()},
                             {"holder_boot", e.twin.holder_boot}}});
        out.twins.push_back(e.twin);
        break;
    }
  }
  check_tables();
}

// --- receiving ----------------------------------------------------------------------

DropReason TransportMachine::on_datagram(int64_t now_us, const Address& from, std::span<const uint8_t> bytes,
                                         Output& out) {
  const wire::DecodedPacket packet = wire::decode_packet(bytes);
  if (!packet.ok()) return packet.drop;
  if (packet.header.type == wire::PacketType::transport) return on_transport_packet(now_us, from, packet, out);
  crypto::HandshakeOutput hs = manager_.on_handshake_packet(from, packet, now_us, wall_us_());
  const DropReason drop = hs.drop;
  // A collision is the protocol working (both sides initiated; one wins),
  // not a refusal an operator should hear about.
  if (drop != DropReason::none && drop != DropReason::handshake_collision) out.refusals.push_back({from, drop});
  handle(now_us, hs, out);
  // An initiation addressed to a NodeId that is not ours: the sender holds
  // a stale identity for us (we were wiped and re-keyed). If it is also
  // stale for it (both wiped), neither side's IK can ever succeed: treat
  // it as the same hint as an unknown session.
  if (drop == DropReason::not_for_us && packet.header.type == wire::PacketType::handshake_initiation) {
    on_unknown_session(now_us, from, packet.header.source, out);
  }
  return drop;
}

DropReason TransportMachine::on_transport_packet(int64_t now_us, const Address& from,
                                                 const wire::DecodedPacket& packet, Output& out) {
  if (!packet.header.destination.is_zero() && packet.header.destination != identity_.node_id()) {
    on_unknown_session(now_us, from, packet.header.source, out);
    return DropReason::not_for_us;
  }
  if (packet.payload.size() > kDatagramBytesMax) return DropReason::too_large;
  std::array<uint8_t, kDatagramBytesMax> plain;
  size_t plain_bytes = 0;
  NodeId peer_id;
  crypto::KeyUse use;
  const DropReason r = manager_.open(packet, plain, plain_bytes, peer_id, now_us, &use, &from);
  MESHD_ASSERT(plain_bytes <= packet.payload.size() && (r == DropReason::none || plain_bytes == 0));
  if (r != DropReason::none) {
    if (r == DropReason::unknown_session) on_unknown_session(now_us, from, packet.header.source, out);
    return r;
  }
  const std::span<const uint8_t> plaintext(plain.data(), plain_bytes);
  auto known = address_of_.find(peer_id);
  const Address address = known != address_of_.end() ? known->second : from;
  PeerState* found = peer_at(address, now_us);
  if (found == nullptr) {  // counted: deliver, without per-peer bookkeeping
    if (plain_bytes > 0) deliver(address, peer_id, use, plaintext, out);
    return DropReason::none;
  }
  PeerState& peer = *found;
  peer.id = peer_id;
  address_of_[peer_id] = address;
  peer.last_received_us = now_us;
  peer.last_active_us = now_us;
  peer.unanswered_since_us = -1;
  check_tables();
  // An IK responder's session becomes usable only now: send what waited.
  flush(now_us, peer, out);
  if (plain_bytes == 0) return DropReason::none;  // keepalive
  // Passive keepalive: a peer that only ever sends to us must still hear
  // from us, or it would take the silence for a lost session.
  if (now_us - peer.last_sent_us >= config_.silence_rehandshake_us / 2 &&
      !fault(BuggifyPoint::transport_keepalive_skipped)) {
    bump(TransportCount::keepalives_sent);
    seal_and_send(now_us, peer, peer_id, {}, out);
  }
  deliver(address, peer_id, use, plaintext, out);
  return DropReason::none;
}

void TransportMachine::deliver(const Address& address, const NodeId& peer_id, const crypto::KeyUse& use,
                               std::span<const uint8_t> plaintext, Output& out) {
  MESHD_ASSERT(!plaintext.empty() && plaintext.size() <= kDatagramBytesMax);  // keepalives are never delivered
  if (observer_ != nullptr) observer_->on_deliver(identity_.node_id(), peer_id, use, plaintext);
  bump(TransportCount::delivered);
  out.deliver.push_back(Delivery{address, std::vector<uint8_t>(plaintext.begin(), plaintext.end())});
}

void TransportMachine::on_unknown_session(int64_t now_us, const Address& from, const NodeId& claimed, Output& out) {
  // Unauthenticated, so only a hint, acted on only for addresses we talk
  // to and at most once per retry_initial_us each: the peer there holds a
  // session we lack (we restarted), or a different identity now answers
  // at that address (the peer was wiped): either way, handshake now
  // rather than after silence_rehandshake_us.
  auto it = peers_.find(from);
  if (it == peers_.end()) return;
  PeerState& peer = it->second;
  if (peer.last_hint_us >= 0 && now_us - peer.last_hint_us < config_.handshake.retry_initial_us) return;
  peer.last_hint_us = now_us;
  if (peer.id && *peer.id == claimed) {
    // Forced even if we hold a session: the peer is sending on a session
    // we lack, or lacks the one we send on (found by swarm seed smoke/39:
    // two crossed first-contact handshakes left each side sending on a
    // session the other had already dropped). A fresh handshake puts both
    // on one session; until it completes the old one stays in use.
    connect(now_us, from, peer, true, out);
    return;
  }
  auto hs = manager_.connect_address(from, now_us, wall_us_());
  if (!hs) return;
  handle(now_us, *hs, out);
}

void TransportMachine::rotate_identity(const crypto::Identity& identity, const crypto::KeyArchive& archive) {
  MESHD_ASSERT(identity.node_id() == identity_.node_id());
  identity_ = identity;
  archive_ = archive;
}

nlohmann::json TransportMachine::status() const {
  nlohmann::json sessions = nlohmann::json::array();
  for (const auto& [id, address] : address_of_) {
    const crypto::PeerSessions* s = manager_.sessions(id);
    sessions.push_back({{"node_id", id.to_hex()},
                        {"address", address.to_string()},
                        {"session", s != nullptr && s->current().has_value()},
                        {"handshake_in_flight", manager_.handshake_in_flight(id)}});
  }
  return {{"node_id", identity_.node_id().to_hex()},
          {"sent", count(TransportCount::sent)},
          {"delivered", count(TransportCount::delivered)},
          {"handshakes_completed", count(TransportCount::handshakes_completed)},
          {"handshakes_failed", count(TransportCount::handshakes_failed)},
          {"queue_dropped", count(TransportCount::queue_overflow) + count(TransportCount::queue_handshake_failed)},
          {"peers", sessions}};
}

}  // namespace meshd::transport
