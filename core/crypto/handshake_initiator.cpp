// HandshakeManager, initiator side: our initiations (to known peers and
// first-contact probes), the responses and cookie replies they get, the
// twin notices that refuse them, and the simultaneous-initiation rule.
#include <algorithm>

#include "core/crypto/handshake_manager.h"
#include "core/env/assert.h"

namespace meshd::crypto {

using wire::DropReason;
using wire::PacketType;

Result<PendingInitiation> HandshakeManager::build_initiation(
    const NodeId& destination, const Address& address, const std::optional<SigningPublic>& key, CookieJar& jar,
    uint32_t local_index, int64_t now_us, int64_t now_wall_us, uint32_t attempts, int64_t started_us,
    uint32_t static_index, Datagram& packet) {
  const bool xx = !key;
  const std::vector<const Identity*> keys = own_keys(now_wall_us);
  static_index %= static_cast<uint32_t>(keys.size());
  const Identity& as = *keys[static_index];
  HandshakeConfig c;
  c.protocol_name = std::string(xx ? kProtocolXx : kProtocolIk);
  c.initiator = true;
  c.prologue = handshake_prologue(identity_.node_id(), destination);
  c.local_static = as.dh_private();
  if (!xx) {
    auto rs = dh_public_of(*key);
    if (!rs) return Status(Errc::invalid, "peer key is not a valid Ed25519 key");
    c.remote_static = *rs;
  }
  c.psks = {psk_};
  c.rng = &rng_;
  auto hs = HandshakeState::create(c);
  if (!hs) return hs.status();
  HandshakePayload payload;
  payload.index = local_index;
  if (!xx) {  // XX message 1 is unauthenticated: reveal nothing but the index
    payload.freshness = next_freshness(now_wall_us);
    payload.key = as.public_key();
  }
  std::vector<uint8_t> body;
  if (Status s = hs->write_message(encode_handshake_payload(payload), body); !s) return s;
  const size_t message_bytes = body.size();
  body.resize(message_bytes + kInitiationTrailerBytes);
  const bool cookie = jar.has_cookie(now_us);
  const HandshakeStep step{xx ? MeshPattern::xx : MeshPattern::ik, 0};
  packet = make_packet(address, destination, PacketType::handshake_initiation, local_index,
                       handshake_counter(step), body, cookie ? wire::kFlagCookieAttached : 0);
  const auto message = std::span(packet.bytes).subspan(wire::kHeaderBytes, message_bytes);
  const CookieJar::Macs macs = jar.macs_for(mac_input(packet.bytes, message), now_us);
  write_initiation_macs(packet.bytes, macs.mac1, macs.mac2);
  return PendingInitiation{std::move(*hs), local_index, 0,        xx,           started_us, now_us + backoff_us(attempts),
                           attempts,       static_index, now_us, macs.mac1, false};
}

Result<HandshakeOutput> HandshakeManager::start(const NodeId& id, Peer& peer, int64_t now_us,
                                                int64_t now_wall_us, uint32_t attempts, int64_t started_us,
                                                std::optional<uint32_t> static_index) {
  if (peer.key && !dh_public_of(*peer.key)) {
    return Status(Errc::invalid, "peer key is not a valid Ed25519 key");
  }
  const uint32_t local_index = allocate_index(id);
  Datagram packet;
  auto pending = build_initiation(id, peer.address, peer.key, peer.jar, local_index, now_us, now_wall_us,
                                  attempts, started_us,
                                  static_index ? *static_index : peer.static_choice + attempts, packet);
  if (!pending) return pending.status();
  peer.pending = std::move(*pending);
  MESHD_ASSERT(peer.pending->next_retry_us > now_us && peer.pending->local_index == local_index);
  HandshakeOutput result;
  result.send.push_back(std::move(packet));
  return result;
}

Result<HandshakeOutput> HandshakeManager::start_probe(const Address& address, bool existing, int64_t now_us,
                                                      int64_t now_wall_us, uint32_t attempts,
                                                      int64_t started_us) {
  Probe* probe = existing ? probes_.find(address) : nullptr;
  MESHD_ASSERT(existing == (probe != nullptr));
  CookieJar fresh(psk_);
  CookieJar& jar = probe != nullptr ? probe->jar : fresh;
  // Index owner zero marks a probe (no NodeId yet); probes_ maps it.
  const uint32_t local_index = allocate_index(NodeId{});
  Datagram packet;
  auto pending = build_initiation(NodeId{}, address, std::nullopt, jar, local_index, now_us, now_wall_us,
                                  attempts, started_us, attempts, packet);
  if (!pending) return pending.status();
  if (probe != nullptr) {
    probes_.replace(address, std::move(*pending));
  } else {
    probes_.insert(address, std::move(*pending), std::move(fresh));
  }
  MESHD_ASSERT(probes_.address_of(local_index) == address);
  HandshakeOutput result;
  result.send.push_back(std::move(packet));
  return result;
}

HandshakeOutput HandshakeManager::on_response(const wire::DecodedPacket& packet, int64_t now_us,
                                              int64_t now_wall_us) {
  HandshakeOutput out;
  const auto& h = packet.header;
  const auto step = parse_handshake_counter(h.counter);
  if (step && *step == HandshakeStep{MeshPattern::xx, 2}) return on_xx_final(packet, now_us, now_wall_us);
  if (!step || step->message != 1) return dropped(out, DropReason::handshake_failed);
  const bool xx = step->pattern == MeshPattern::xx;
  const NodeId* owner = sessions_.owner_of(h.session_id);
  if (owner != nullptr && owner->is_zero()) {
    if (!promote_probe(packet, now_us, out)) return out;
    owner = sessions_.owner_of(h.session_id);
  }
  if (owner == nullptr || *owner != h.source) return dropped(out, DropReason::unexpected_handshake);
  auto it = peers_.find(*owner);
  if (it == peers_.end() || !it->second.pending || it->second.pending->local_index != h.session_id ||
      it->second.pending->xx != xx) {
    return dropped(out, DropReason::unexpected_handshake);
  }
  const NodeId id = it->first;
  Peer& peer = it->second;
  PendingInitiation& pending = *peer.pending;
  // Read on a copy: a forged response must not spoil the real handshake.
  HandshakeState trial = pending.hs;
  const auto payload = read_authenticated(trial, packet.payload, id, std::nullopt);
  if (!payload) return dropped(out, DropReason::handshake_failed);
  const uint32_t local_index = pending.local_index;
  if (!pending.xx) {
    MESHD_ASSERT(trial.is_complete());
    establish_initiated(id, peer, trial, local_index, payload->index, now_us, out);
    return out;
  }
  HandshakePayload final_payload;
  final_payload.index = local_index;
  final_payload.freshness = next_freshness(now_wall_us);
  const std::vector<const Identity*> keys = own_keys(now_wall_us);
  final_payload.key = keys[pending.static_index % keys.size()]->public_key();
  std::vector<uint8_t> body;
  if (!trial.write_message(encode_handshake_payload(final_payload), body)) {
    return dropped(out, DropReason::handshake_failed);
  }
  MESHD_ASSERT(trial.is_complete());
  if (!peer.key) {
    peer.key = payload->key;
    out.events.push_back(HandshakeEvent{HandshakeEventKind::peer_key_learned, id, true, peer.address});
  }
  out.send.push_back(make_packet(peer.address, id, PacketType::handshake_response, payload->index,
                                    handshake_counter({MeshPattern::xx, 2}), body));
  // What a twin notice refusing this message must name (on_xx_final).
  const std::span<const uint8_t> sent(out.send.back().bytes);
  peer.sent_final = SentFinal{local_index, message_binding(psk_, sent, sent.subspan(wire::kHeaderBytes))};
  establish_initiated(id, peer, trial, local_index, payload->index, now_us, out);
  return out;
}

bool HandshakeManager::promote_probe(const wire::DecodedPacket& packet, int64_t now_us, HandshakeOutput& out) {
  const auto& h = packet.header;
  const auto at = probes_.address_of(h.session_id);
  if (!at || parse_handshake_counter(h.counter) != HandshakeStep{MeshPattern::xx, 1}) {
    out.drop = DropReason::unexpected_handshake;
    return false;
  }
  const Address address = *at;
  Probe* found = probes_.find(address);
  MESHD_ASSERT(found != nullptr && found->pending.local_index == h.session_id);
  HandshakeState trial = found->pending.hs;  // a forged response must not spoil the probe
  if (!read_authenticated(trial, packet.payload, h.source, std::nullopt)) {
    out.drop = DropReason::handshake_failed;
    return false;
  }
  Probe probe = probes_.take(address);
  if (auto known = peers_.find(h.source);
      known != peers_.end() &&
      twin_at(liveness_of(known->first, known->second), address, now_us, config_.stale_grace_us)) {
    // Our probe found a twin of a peer whose live session is elsewhere:
    // promoting it would hand the identity to the twin (and move the
    // peer) behind the responder rule's back. The twin's own initiations
    // go through that rule instead; the probe ends here.
    out.drop = DropReason::twin_refused;
    out.events.push_back(HandshakeEvent{HandshakeEventKind::failed, NodeId{}, true, address});
    return false;
  }
  if (!add_peer(h.source, address, std::nullopt)) {
    out.drop = DropReason::peer_table_full;
    return false;
  }
  Peer& peer = peers_.find(h.source)->second;
  peer.pending = std::move(probe.pending);  // replaces any id-based attempt
  sessions_.reassign_index(h.session_id, h.source);
  MESHD_ASSERT(!probes_.owns_index(h.session_id) && *sessions_.owner_of(h.session_id) == h.source);
  return true;
}

HandshakeOutput HandshakeManager::on_cookie_reply(const wire::DecodedPacket& packet, int64_t now_us,
                                                  int64_t now_wall_us) {
  HandshakeOutput out;
  const auto& h = packet.header;
  const NodeId* owner = sessions_.owner_of(h.session_id);
  if (owner != nullptr && owner->is_zero()) {
    const auto at = probes_.address_of(h.session_id);
    if (!at) return dropped(out, DropReason::unexpected_handshake);
    Probe& probe = *probes_.find(*at);
    if (!probe.jar.consume_reply(packet.payload, now_us)) return dropped(out, DropReason::bad_cookie);
    auto again = start_probe(*at, true, now_us, now_wall_us, probe.pending.attempts, probe.pending.started_us);
    if (again) return std::move(*again);
    return dropped(out, DropReason::handshake_failed);
  }
  if (owner == nullptr || *owner != h.source) return dropped(out, DropReason::unexpected_handshake);
  auto it = peers_.find(*owner);
  if (it == peers_.end() || !it->second.pending || it->second.pending->local_index != h.session_id) {
    return dropped(out, DropReason::unexpected_handshake);
  }
  Peer& peer = it->second;
  if (!peer.jar.consume_reply(packet.payload, now_us)) return dropped(out, DropReason::bad_cookie);
  // Resend at once with the cookie (one resend per authentic reply).
  auto again = start(it->first, peer, now_us, now_wall_us, peer.pending->attempts, peer.pending->started_us);
  if (again) return std::move(*again);
  return dropped(out, DropReason::handshake_failed);
}

HandshakeOutput HandshakeManager::on_twin_notice(const Address& from, const wire::DecodedPacket& packet) {
  HandshakeOutput out;
  const auto& h = packet.header;
  if (const DropReason size = twin_notice_size_check(packet.payload.size()); size != DropReason::none) {
    return dropped(out, size);
  }
  const auto body = decode_twin_notice(packet.payload);
  MESHD_ASSERT(body.has_value());  // the size check above
  // The PSK-keyed mac first: junk costs one hash, never a signature check.
  if (!twin_notice_mac_valid(cookies_, packet.header_bytes, packet.payload, body->mac)) {
    return dropped(out, DropReason::bad_cookie);
  }
  // Bound to one of our own unanswered messages to that responder: the
  // IK initiation in flight (its mac1) or the XX message 3 we sent last.
  // Bindings went out in the clear, so a plain comparison leaks nothing.
  const NodeId* owner = sessions_.owner_of(h.session_id);
  auto it = owner == nullptr || *owner != h.source ? peers_.end() : peers_.find(h.source);
  if (it == peers_.end() || !it->second.key) return dropped(out, DropReason::unexpected_handshake);
  Peer& peer = it->second;
  const Mac& binding = body->fields.binding;
  const bool names_initiation = peer.pending && !peer.pending->xx && !peer.pending->noticed &&
                                peer.pending->local_index == h.session_id && peer.pending->binding == binding;
  const bool names_final =
      peer.sent_final && peer.sent_final->local_index == h.session_id && peer.sent_final->binding == binding;
  if (!names_initiation && !names_final) return dropped(out, DropReason::unexpected_handshake);
  if (!twin_notice_signature_valid(*peer.key, packet.header_bytes, packet.payload, body->signature)) {
    return dropped(out, DropReason::auth_failure);
  }
  // One notice per message: a replay of this one finds nothing to name.
  if (names_initiation) peer.pending->noticed = true;
  if (names_final) peer.sent_final.reset();
  TwinNotice notice;
  notice.responder = h.source;
  notice.responder_address = from;
  notice.holder = body->fields.holder;
  notice.holder_boot = body->fields.holder_boot;
  out.events.push_back(HandshakeEvent{HandshakeEventKind::twin_refused, h.source, true, peer.address, notice});
  return out;
}

void HandshakeManager::establish_initiated(const NodeId& id, Peer& peer, const HandshakeState& hs,
                                           uint32_t local_index, uint32_t remote_index, int64_t now_us,
                                           HandshakeOutput& out) {
  MESHD_ASSERT(hs.is_complete());
  auto [send, receive] = hs.split();
  PeerSessions& sessions = sessions_.sessions(id);
  sessions.install_confirmed(
      Session(SessionKeys{send.key(), receive.key()}, local_index, remote_index, true, now_us, config_.session),
      now_us);
  if (peer.pending) peer.static_choice = peer.pending->static_index;
  peer.pending.reset();
  MESHD_ASSERT(sessions.current() && sessions.current()->local_index() == local_index);
  out.events.push_back(HandshakeEvent{HandshakeEventKind::established, id, true, peer.address});
}

bool HandshakeManager::collision_keeps_ours(const Address& from, const NodeId& id, CollisionRule rule,
                                            int64_t now_us, int64_t now_wall_us, HandshakeOutput& out,
                                            const Identity* peer_knows) {
  const bool smaller = identity_.node_id() < id;
  bool ours = false;
  if (auto known = peers_.find(id); known != peers_.end() && known->second.pending) {
    if (smaller) {
      ours = true;
    } else if (rule.abandon_lost_pending) {
      known->second.pending.reset();  // theirs wins: answer it instead
    }
  }
  if (!ours && rule.probes && probes_.contains(from)) {
    // Our probe to `from` against their initiation from there.
    if (smaller) {
      ours = true;
    } else {
      probes_.erase(from);  // theirs wins: answer it instead
    }
  }
  if (!ours) return false;
  out.drop = DropReason::handshake_collision;  // ours wins; the peer answers it
  resend_winner(from, id, now_us, now_wall_us, out, peer_knows);
  return true;
}

void HandshakeManager::resend_winner(const Address& from, const NodeId& peer_id, int64_t now_us,
                                     int64_t now_wall_us, HandshakeOutput& out, const Identity* peer_knows) {
  // The loser answers our initiation, so it must have one. A recent one
  // is presumably on its way (resending would make the loser answer twice
  // and keep only the second); an older one may have gone to a peer that
  // was down then, with our next retry backed off for seconds: resend it
  // now (fresh ephemeral), at most once per colliding initiation received.
  Result<HandshakeOutput> again = Status(Errc::not_found);
  const int64_t recent_us = config_.retry_initial_us / 2;
  auto known = peers_.find(peer_id);
  if (known != peers_.end() && known->second.pending) {
    const PendingInitiation& p = *known->second.pending;
    if (now_us - p.sent_us < recent_us) return;
    // Present the key the loser addressed, if we know it; otherwise the
    // next of our keys (attempts + 1), in case the loser rejected the one
    // we presented (it may know only a key we have since rotated).
    const std::optional<uint32_t> index =
        peer_knows != nullptr ? own_key_index(peer_knows, now_wall_us) : std::nullopt;
    again = start(peer_id, known->second, now_us, now_wall_us, p.attempts + 1, p.started_us, index);
  } else if (const Probe* probe = probes_.find(from); probe != nullptr) {
    const PendingInitiation& p = probe->pending;
    if (now_us - p.sent_us < recent_us) return;
    again = start_probe(from, true, now_us, now_wall_us, p.attempts, p.started_us);
  }
  if (!again) return;
  for (auto& pkt : again->send) out.send.push_back(std::move(pkt));
}

}  // namespace meshd::crypto
