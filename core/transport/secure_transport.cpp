#include "core/transport/secure_transport.h"

#include <algorithm>
#include <array>

namespace meshd::transport {

using wire::DropReason;

namespace {

uint64_t& counter(Metrics& m, std::string_view series, std::string_view help) { return m.counter(series, help); }

}  // namespace

SecureTransport::SecureTransport(Env& env, const crypto::Identity& identity, const crypto::KeyArchive& archive,
                                 const crypto::Psk& psk, const SecureTransportConfig& config,
                                 const std::vector<TransportPeer>& peers)
    : env_(env),
      identity_(identity),
      archive_(archive),
      rng_(env.random.stream("transport", "handshake")),
      config_(config),
      manager_(identity_, archive_, psk, rng_, config.handshake),
      drops_(env.metrics),
      wake_(env.runtime),
      sent_(counter(env.metrics, "meshd_transport_sent_total", "transport packets sealed and sent")),
      delivered_(counter(env.metrics, "meshd_transport_delivered_total",
                         "authenticated datagrams delivered to upper layers")),
      keepalives_sent_(counter(env.metrics, "meshd_transport_keepalives_sent_total",
                               "empty packets sent to confirm a new session")),
      queue_overflow_(counter(env.metrics, "meshd_transport_queue_dropped_total{reason=\"overflow\"}",
                              "datagrams dropped: per-peer handshake queue full")),
      queue_failed_(counter(env.metrics, "meshd_transport_queue_dropped_total{reason=\"handshake_failed\"}",
                            "datagrams dropped: the handshake they waited for failed")),
      handshakes_completed_(counter(env.metrics, "meshd_handshakes_completed_total", "sessions established")),
      handshakes_failed_(counter(env.metrics, "meshd_handshakes_failed_total", "handshakes that timed out")),
      handshakes_forced_(counter(env.metrics, "meshd_handshakes_forced_total",
                                 "new handshakes started because a peer went silent")),
      send_failed_(counter(env.metrics, "meshd_transport_send_failed_total",
                           "packets the lower network refused")),
      twin_notices_received_(counter(env.metrics, "meshd_transport_twin_notices_total{result=\"received\"}",
                                     "authenticated twin notices: a peer refused us, our identity is live elsewhere")),
      twin_notices_sent_(counter(env.metrics, "meshd_transport_twin_notices_total{result=\"sent\"}",
                                 "twin notices sent to a refused twin initiation")),
      twin_notices_suppressed_(counter(env.metrics, "meshd_transport_twin_notices_total{result=\"suppressed\"}",
                                       "twin notices not sent: over one per NodeId per second")),
      peers_evicted_idle_(counter(env.metrics, "meshd_transport_peers_evicted_total{reason=\"idle\"}",
                                  "peer entries evicted after peer_idle_timeout_us without traffic")),
      peers_evicted_full_(counter(env.metrics, "meshd_transport_peers_evicted_total{reason=\"full\"}",
                                  "idlest peer entries evicted to make room for a new address")),
      peers_refused_(counter(env.metrics, "meshd_transport_peers_refused_total",
                             "new addresses refused: the peer table is full of busy entries")) {
  MESHD_ASSERT(config.queue_packets_max > 0 && config.queue_packets_max <= kQueuedPacketsPerPeerMax * 16);
  MESHD_ASSERT(config.silence_rehandshake_us > 0 && config.peer_idle_timeout_us > config.silence_rehandshake_us);
  MESHD_ASSERT(peers.size() <= kTransportPeersMax);
  for (const TransportPeer& p : peers) {
    const NodeId id = p.node_id ? *p.node_id : crypto::node_id_from_public_key(p.key);
    if (id == identity_.node_id()) continue;  // our own entry in a shared peer list
    if (Status s = manager_.add_peer(id, p.address, p.key); !s) {
      env_.log.warn("transport_peer_rejected", {{"address", p.address.to_string()}, {"error", s.to_string()}});
      continue;
    }
    PeerState& state = peers_[p.address];
    state.id = id;
    state.configured = true;
    address_of_[id] = p.address;
  }
}

SecureTransport::~SecureTransport() { stop(); }

Status SecureTransport::start() {
  auto id = env_.runtime.spawn("transport", [this] { run(); });
  if (!id) return id.status();
  fiber_ = *id;
  return Status::ok();
}

void SecureTransport::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (fiber_ && env_.runtime.alive(*fiber_)) env_.runtime.cancel(*fiber_);
  fiber_.reset();
}

void SecureTransport::run() {
  while (!stopped_) {
    const int64_t now_us = env_.clock.monotonic_us();
    int64_t deadline_us = next_deadline_us();
    if (env_.buggify != nullptr) deadline_us = std::min(deadline_us, std::max(now_us, next_buggify_roll_us_));
    wake_.reset();
    sleep_until_us_ = deadline_us;
    Status s = deadline_us == INT64_MAX ? wake_.wait() : wake_.wait(deadline_us);
    if (s.code() == Errc::cancelled || stopped_) return;
    tick(env_.clock.monotonic_us());
  }
}

void SecureTransport::tick(int64_t t_us) {
  crypto::HandshakeOutput out = manager_.tick(t_us, env_.clock.wall_us());
  handle(out);
  // Peers that went silent on a session we keep sending on: they may
  // have restarted and lost it, so offer a new handshake (once per
  // silence period; the manager ignores it while one is in flight).
  for (auto& [address, peer] : peers_) {
    if (!peer.id || peer.unanswered_since_us < 0) continue;
    if (t_us - peer.unanswered_since_us < config_.silence_rehandshake_us) continue;
    peer.unanswered_since_us = t_us;
    ++handshakes_forced_;
    connect(address, peer, true);
  }
  // The fault point rolls on its own cadence, not per wake-up, so how often
  // it fires does not depend on how often traffic wakes the fiber.
  const bool roll = env_.buggify != nullptr && t_us >= next_buggify_roll_us_;
  if (roll) next_buggify_roll_us_ = t_us + kBuggifyTickIntervalUs;
  if (roll && !peers_.empty() && buggify(env_, BuggifyPoint::transport_early_rekey)) {
    // Rekey one peer's session long before rekey_after, traffic in flight.
    auto it = std::next(peers_.begin(), static_cast<long>(env_.buggify->below(peers_.size())));
    if (it->second.id && manager_.has_session(*it->second.id, t_us)) connect(it->first, it->second, true);
  }
  evict_idle(t_us);
  MESHD_ASSERT_MSG(next_deadline_us() > t_us, "transport tick left work due: the deadline did not move forward");
}

int64_t SecureTransport::next_deadline_us() const {
  int64_t next = manager_.next_deadline_us();
  for (const auto& [address, peer] : peers_) {
    if (peer.id && peer.unanswered_since_us >= 0) {
      next = std::min(next, peer.unanswered_since_us + config_.silence_rehandshake_us);
    }
    if (evictable(peer)) next = std::min(next, peer.last_active_us + config_.peer_idle_timeout_us);
  }
  return next;
}

bool SecureTransport::evictable(const PeerState& peer) const { return !peer.configured && peer.queue.empty(); }

void SecureTransport::evict(std::map<Address, PeerState>::iterator it) {
  MESHD_ASSERT(it != peers_.end() && evictable(it->second));
  if (it->second.id) {
    auto bound = address_of_.find(*it->second.id);
    if (bound != address_of_.end() && bound->second == it->first) address_of_.erase(bound);
  }
  peers_.erase(it);
}

void SecureTransport::evict_idle(int64_t now_us) {
  for (auto it = peers_.begin(); it != peers_.end();) {
    auto here = it++;
    if (!evictable(here->second) || now_us - here->second.last_active_us < config_.peer_idle_timeout_us) continue;
    evict(here);
    ++peers_evicted_idle_;
  }
  MESHD_ASSERT(peers_.size() <= kTransportPeersMax && address_of_.size() <= crypto::kPeersMax);
}

SecureTransport::PeerState* SecureTransport::peer_at(const Address& address, int64_t now_us) {
  if (auto it = peers_.find(address); it != peers_.end()) return &it->second;
  if (peers_.size() >= kTransportPeersMax) {
    auto idlest = peers_.end();
    for (auto it = peers_.begin(); it != peers_.end(); ++it) {
      if (!evictable(it->second)) continue;
      if (idlest == peers_.end() || it->second.last_active_us < idlest->second.last_active_us) idlest = it;
    }
    if (idlest == peers_.end()) {
      ++peers_refused_;
      return nullptr;
    }
    evict(idlest);
    ++peers_evicted_full_;
  }
  PeerState& peer = peers_[address];
  peer.last_active_us = now_us;
  MESHD_ASSERT(peers_.size() <= kTransportPeersMax);
  return &peer;
}

size_t SecureTransport::queued(const Address& to) const {
  auto it = peers_.find(to);
  return it == peers_.end() ? 0 : it->second.queue.size();
}

void SecureTransport::transmit(const crypto::OutPacket& packet) {
  constexpr size_t kTypeOffset = 3;  // docs/protocol.md, header byte 3
  if (packet.bytes.size() > kTypeOffset &&
      packet.bytes[kTypeOffset] == static_cast<uint8_t>(wire::PacketType::handshake_initiation) &&
      buggify(env_, BuggifyPoint::transport_initiation_lost)) {
    return;  // as if lost on the wire: the retry timer must recover it
  }
  if (!env_.network.send(packet.to, packet.bytes)) ++send_failed_;
}

void SecureTransport::connect(const Address& address, PeerState& peer, bool force) {
  const int64_t now_us = env_.clock.monotonic_us();
  if (peer.id && !force) {
    // We answered the peer's IK moments ago: its first packet will confirm
    // that session, so a handshake of our own would only collide with it.
    const crypto::PeerSessions* s = manager_.sessions(*peer.id);
    if (s != nullptr && s->next() && !s->current() &&
        now_us - s->next()->established_us() < config_.handshake.retry_initial_us) {
      return;
    }
  }
  auto out = peer.id ? manager_.connect(*peer.id, now_us, env_.clock.wall_us(), force)
                     : manager_.connect_address(address, now_us, env_.clock.wall_us());
  if (!out) {
    env_.log.debug("handshake_not_started", {{"peer", address.to_string()}, {"error", out.status().to_string()}});
    return;
  }
  if (out->packets.empty() && out->events.empty()) return;
  handle(*out);
  wake();  // the fiber must re-read the manager's deadline
}

bool SecureTransport::seal_and_send(PeerState& peer, const NodeId& id, std::span<const uint8_t> plaintext) {
  const int64_t now_us = env_.clock.monotonic_us();
  peer.last_sent_us = now_us;
  peer.last_active_us = now_us;
  crypto::KeyUse use;
  auto packet = manager_.seal(id, plaintext, now_us, &use);
  if (!packet) return false;
  MESHD_ASSERT(packet->bytes.size() == plaintext.size() + crypto::kSealOverheadBytes &&
               packet->bytes.size() <= kDatagramBytesMax);
  if (observer_ != nullptr) observer_->on_seal(identity_.node_id(), id, use, plaintext);
  ++sent_;
  transmit(*packet);
  return true;
}

Status SecureTransport::send(const Address& to, std::span<const uint8_t> bytes) {
  if (stopped_) return Status(Errc::closed, "transport stopped");
  if (bytes.size() > kTransportPayloadBytesMax) return Status(Errc::too_large, "datagram too large");
  auto existing = peers_.find(to);
  if (existing == peers_.end() && peers_.size() >= kQueuedPeersMax) {
    ++queue_overflow_;
    return Status(Errc::unavailable, "transport: too many peers");
  }
  const int64_t now_us = env_.clock.monotonic_us();
  PeerState* found = peer_at(to, now_us);
  if (found == nullptr) return Status(Errc::unavailable, "transport: peer table full");
  PeerState& peer = *found;
  const bool was_answered = peer.unanswered_since_us < 0;
  if (peer.id && manager_.has_session(*peer.id, now_us)) flush(to, peer);  // keep order
  if (peer.id && peer.queue.empty() && manager_.has_session(*peer.id, now_us) &&
      seal_and_send(peer, *peer.id, bytes)) {
    if (peer.unanswered_since_us < 0) peer.unanswered_since_us = now_us;
    // A new silence deadline: wake the timer fiber if it sleeps past it.
    // Rekeys are the manager's tick(): it staggers initiator and responder.
    if (was_answered && now_us + config_.silence_rehandshake_us < sleep_until_us_) wake();
    return Status::ok();
  }
  if (peer.queue.size() >= config_.queue_packets_max) {
    ++queue_overflow_;
    return Status::ok();  // UDP semantics: accepted, then lost (counted)
  }
  peer.queue.emplace_back(bytes.begin(), bytes.end());
  MESHD_ASSERT(peer.queue.size() <= config_.queue_packets_max);
  connect(to, peer, false);
  return Status::ok();
}

void SecureTransport::flush(const Address& address, PeerState& peer) {
  (void)address;
  if (!peer.id) return;
  const int64_t now_us = env_.clock.monotonic_us();
  while (!peer.queue.empty() && manager_.has_session(*peer.id, now_us)) {
    if (!seal_and_send(peer, *peer.id, peer.queue.front())) break;
    if (peer.unanswered_since_us < 0) peer.unanswered_since_us = now_us;
    peer.queue.pop_front();
  }
  MESHD_ASSERT(peer.queue.size() <= config_.queue_packets_max);
}

void SecureTransport::handle(crypto::HandshakeOutput& out) {
  for (const crypto::OutPacket& p : out.packets) transmit(p);
  if (out.twin_notice == crypto::TwinNoticeOutcome::sent) ++twin_notices_sent_;
  if (out.twin_notice == crypto::TwinNoticeOutcome::suppressed) ++twin_notices_suppressed_;
  for (const crypto::HandshakeEvent& e : out.events) {
    switch (e.kind) {
      case crypto::HandshakeEventKind::established: {
        ++handshakes_completed_;
        PeerState* found = peer_at(e.address, env_.clock.monotonic_us());
        if (found == nullptr) break;  // counted; the session stays in the manager
        PeerState& peer = *found;
        if (peer.id && *peer.id != e.peer) address_of_.erase(*peer.id);
        peer.id = e.peer;
        address_of_[e.peer] = e.address;
        MESHD_ASSERT(peers_.count(e.address) == 1 && address_of_.count(e.peer) == 1);
        env_.log.debug("session_established", {{"peer", e.peer.to_hex()}, {"initiator", e.initiator}});
        const bool had_queue = !peer.queue.empty();
        flush(e.address, peer);
        if (e.initiator && !had_queue && manager_.has_session(e.peer, env_.clock.monotonic_us())) {
          ++keepalives_sent_;
          seal_and_send(peer, e.peer, {});
        }
        break;
      }
      case crypto::HandshakeEventKind::failed: {
        ++handshakes_failed_;
        auto it = peers_.find(e.address);
        if (it != peers_.end()) {
          queue_failed_ += it->second.queue.size();
          it->second.queue.clear();
          MESHD_ASSERT(it->second.queue.empty());
        }
        env_.log.debug("handshake_failed", {{"peer", e.address.to_string()}});
        if (refusal_observer_) refusal_observer_(e.address, DropReason::none);
        break;
      }
      case crypto::HandshakeEventKind::peer_key_learned:
        break;
      case crypto::HandshakeEventKind::twin_refused:
        ++twin_notices_received_;
        env_.log.debug("twin_notice", {{"peer", e.peer.to_hex()},
                                       {"holder", e.twin.holder.to_string()},
                                       {"holder_boot", e.twin.holder_boot}});
        if (twin_handler_) twin_handler_(e.twin);
        break;
    }
  }
}

void SecureTransport::on_datagram(const Address& from, std::span<const uint8_t> bytes) {
  if (stopped_) return;
  const wire::DecodedPacket packet = wire::decode_packet(bytes);
  if (!packet.ok()) {
    drops_.count(packet.drop);
    return;
  }
  if (packet.header.type == wire::PacketType::transport) {
    on_transport_packet(from, packet);
    return;
  }
  const int64_t now_us = env_.clock.monotonic_us();
  crypto::HandshakeOutput out = manager_.on_handshake_packet(from, packet, now_us, env_.clock.wall_us());
  drops_.count(out.drop);
  if (out.drop != DropReason::none && refusal_observer_) refusal_observer_(from, out.drop);
  handle(out);
  // An initiation addressed to a NodeId that is not ours: the sender holds
  // a stale identity for us (we were wiped and re-keyed). If it is also
  // stale for it (both wiped), neither side's IK can ever succeed: treat
  // it as the same hint as an unknown session.
  if (out.drop == DropReason::not_for_us && packet.header.type == wire::PacketType::handshake_initiation) {
    on_unknown_session(from, packet.header.source);
  }
  wake();
}

void SecureTransport::on_transport_packet(const Address& from, const wire::DecodedPacket& packet) {
  if (!packet.header.destination.is_zero() && packet.header.destination != identity_.node_id()) {
    drops_.count(DropReason::not_for_us);
    on_unknown_session(from, packet.header.source);
    return;
  }
  if (packet.payload.size() > kDatagramBytesMax) {
    drops_.count(DropReason::too_large);
    return;
  }
  std::array<uint8_t, kDatagramBytesMax> plain;
  size_t plain_bytes = 0;
  NodeId peer_id;
  crypto::KeyUse use;
  const int64_t now_us = env_.clock.monotonic_us();
  const DropReason r = manager_.open(packet, plain, plain_bytes, peer_id, now_us, &use, &from);
  MESHD_ASSERT(plain_bytes <= packet.payload.size() && (r == DropReason::none || plain_bytes == 0));
  if (r != DropReason::none) {
    drops_.count(r);
    if (r == DropReason::unknown_session) on_unknown_session(from, packet.header.source);
    return;
  }
  auto known = address_of_.find(peer_id);
  const Address address = known != address_of_.end() ? known->second : from;
  PeerState* found = peer_at(address, now_us);
  if (found == nullptr) {  // counted: deliver, without per-peer bookkeeping
    if (plain_bytes > 0) deliver(address, peer_id, use, std::span<const uint8_t>(plain.data(), plain_bytes));
    return;
  }
  PeerState& peer = *found;
  peer.id = peer_id;
  address_of_[peer_id] = address;
  peer.last_received_us = now_us;
  peer.last_active_us = now_us;
  peer.unanswered_since_us = -1;
  // An IK responder's session becomes usable only now: send what waited.
  flush(address, peer);
  if (plain_bytes == 0) return;  // keepalive
  // Passive keepalive: a peer that only ever sends to us must still hear
  // from us, or it would take the silence for a lost session.
  if (now_us - peer.last_sent_us >= config_.silence_rehandshake_us / 2 &&
      !buggify(env_, BuggifyPoint::transport_keepalive_skipped)) {
    ++keepalives_sent_;
    seal_and_send(peer, peer_id, {});
  }
  deliver(address, peer_id, use, std::span<const uint8_t>(plain.data(), plain_bytes));
}

void SecureTransport::deliver(const Address& address, const NodeId& peer_id, const crypto::KeyUse& use,
                              std::span<const uint8_t> plaintext) {
  MESHD_ASSERT(!plaintext.empty() && plaintext.size() <= kDatagramBytesMax);  // keepalives are never delivered
  if (observer_ != nullptr) observer_->on_deliver(identity_.node_id(), peer_id, use, plaintext);
  ++delivered_;
  if (handler_) handler_(address, plaintext);
}

void SecureTransport::on_unknown_session(const Address& from, const NodeId& claimed) {
  // Unauthenticated, so only a hint, acted on only for addresses we talk
  // to and at most once per retry_initial_us each: the peer there holds a
  // session we lack (we restarted), or a different identity now answers
  // at that address (the peer was wiped): either way, handshake now
  // rather than after silence_rehandshake_us.
  auto it = peers_.find(from);
  if (it == peers_.end()) return;
  PeerState& peer = it->second;
  const int64_t now_us = env_.clock.monotonic_us();
  if (peer.last_hint_us >= 0 && now_us - peer.last_hint_us < config_.handshake.retry_initial_us) return;
  peer.last_hint_us = now_us;
  if (peer.id && *peer.id == claimed) {
    // Forced even if we hold a session: the peer is sending on a session
    // we lack, or lacks the one we send on (found by swarm seed smoke/39:
    // two crossed first-contact handshakes left each side sending on a
    // session the other had already dropped). A fresh handshake puts both
    // on one session; until it completes the old one stays in use.
    connect(from, peer, true);
    return;
  }
  auto out = manager_.connect_address(from, now_us, env_.clock.wall_us());
  if (!out) return;
  handle(*out);
  wake();
}

void SecureTransport::rotate_identity(const crypto::Identity& identity, const crypto::KeyArchive& archive) {
  MESHD_ASSERT(identity.node_id() == identity_.node_id());
  identity_ = identity;
  archive_ = archive;
}

nlohmann::json SecureTransport::status() const {
  nlohmann::json drops = nlohmann::json::object();
  for (size_t i = 1; i < wire::kDropReasonCount; ++i) {
    const auto reason = static_cast<DropReason>(i);
    if (const uint64_t n = drops_.value(reason); n > 0) drops[std::string(wire::drop_reason_name(reason))] = n;
  }
  nlohmann::json sessions = nlohmann::json::array();
  for (const auto& [id, address] : address_of_) {
    const crypto::PeerSessions* s = manager_.sessions(id);
    sessions.push_back({{"node_id", id.to_hex()},
                        {"address", address.to_string()},
                        {"session", s != nullptr && s->current().has_value()},
                        {"handshake_in_flight", manager_.handshake_in_flight(id)}});
  }
  return {{"node_id", identity_.node_id().to_hex()},
          {"sent", sent_},
          {"delivered", delivered_},
          {"handshakes_completed", handshakes_completed_},
          {"handshakes_failed", handshakes_failed_},
          {"queue_dropped", queue_overflow_ + queue_failed_},
          {"dropped", drops}, {"peers", sessions}};
}

std::optional<NodeId> SecureTransport::peer_id(const Address& address) const {
  auto it = peers_.find(address);
  if (it == peers_.end()) return std::nullopt;
  return it->second.id;
}

}  // namespace meshd::transport
