// HandshakeManager, responder side: one gate (pattern, size, mac1, rate
// limiter and cookies) before any DH, then the IKpsk2 and XXpsk3 halves,
// XX message 3, and the twin rule's refusals (twin_rule.h) with their
// signed notices (twin_notice.h).
#include <algorithm>

#include "core/crypto/handshake_manager.h"
#include "core/env/assert.h"

namespace meshd::crypto {

using wire::DropReason;
using wire::PacketType;

HandshakeOutput HandshakeManager::on_initiation(const Address& from, const wire::DecodedPacket& packet,
                                                int64_t now_us, int64_t now_wall_us) {
  HandshakeOutput out;
  const auto admitted = admit_initiation(from, packet, now_us, out);
  if (!admitted) return out;
  const auto step = parse_handshake_counter(packet.header.counter);
  MESHD_ASSERT(step && step->message == 0);  // the gate checked it
  if (step->pattern == MeshPattern::xx) {
    return on_xx_initiation(from, packet, *admitted, now_us, now_wall_us, std::move(out));
  }
  return on_ik_initiation(from, packet, *admitted, now_us, now_wall_us, std::move(out));
}

std::optional<HandshakeManager::Admitted> HandshakeManager::admit_initiation(const Address& from,
                                                                             const wire::DecodedPacket& packet,
                                                                             int64_t now_us, HandshakeOutput& out) {
  const auto& h = packet.header;
  const auto step = parse_handshake_counter(h.counter);
  if (!step || step->message != 0) {
    out.drop = DropReason::handshake_failed;
    return std::nullopt;
  }
  const auto macs = split_initiation(packet.payload);
  if (!macs) {
    out.drop = DropReason::truncated;
    return std::nullopt;
  }
  const auto covered = mac_input(packet.header_bytes, macs->message);
  // mac1 first: non-members are rejected for the price of one hash.
  if (!cookies_.mac1_valid(covered, macs->mac1)) {
    out.drop = DropReason::bad_cookie;
    return std::nullopt;
  }
  if (!limiter_.take(now_us)) {
    const bool cookie_ok = (h.flags & wire::kFlagCookieAttached) != 0 &&
                           cookies_.mac2_valid(covered, macs->mac1, macs->mac2, from, now_us);
    if (!cookie_ok) {
      const CookieReply reply = cookies_.make_reply(from, macs->mac1, now_us);
      out.send.push_back(make_packet(from, h.source, PacketType::cookie_reply, h.session_id, 0, reply));
      out.drop = DropReason::cookie_required;
      return std::nullopt;
    }
  }
  return Admitted{macs->message, macs->mac1};
}

HandshakeOutput HandshakeManager::on_xx_initiation(const Address& from, const wire::DecodedPacket& packet,
                                                   const Admitted& admitted, int64_t now_us, int64_t now_wall_us,
                                                   HandshakeOutput out) {
  const auto& h = packet.header;
  auto hs = responder_state(kProtocolXx, identity_.dh_private(), h.source, h.destination);
  MESHD_ASSERT(hs.is_ok());
  // Message 1 is unauthenticated: only the index is checked.
  std::vector<uint8_t> plain;
  if (!hs->read_message(admitted.message, plain)) return dropped(out, DropReason::handshake_failed);
  const auto payload = decode_handshake_payload(plain);
  if (!payload || payload->index != h.session_id) return dropped(out, DropReason::handshake_failed);
  if (collision_keeps_ours(from, h.source, {.abandon_lost_pending = false, .probes = true}, now_us, now_wall_us,
                           out)) {
    return out;
  }
  const uint32_t local_index = allocate_index(h.source);
  HandshakePayload reply;
  reply.index = local_index;
  reply.key = identity_.public_key();
  std::vector<uint8_t> body;
  if (!hs->write_message(encode_handshake_payload(reply), body)) return dropped(out, DropReason::handshake_failed);
  add_responder(local_index, Responding{std::move(*hs), h.source, from, h.session_id, now_us});
  out.send.push_back(make_packet(from, h.source, PacketType::handshake_response, h.session_id,
                                    handshake_counter({MeshPattern::xx, 1}), body));
  return out;
}

void HandshakeManager::add_responder(uint32_t local_index, Responding responding) {
  if (responding_.size() >= kPendingRespondersMax) {
    // Evict the oldest half-open responder (bounded scan of 64 entries).
    auto oldest = responding_.begin();
    for (auto r = responding_.begin(); r != responding_.end(); ++r) {
      if (r->second.started_us < oldest->second.started_us) oldest = r;
    }
    sessions_.release_index(oldest->first);
    responding_.erase(oldest);
  }
  const bool added = responding_.emplace(local_index, std::move(responding)).second;
  MESHD_ASSERT(added && responding_.size() <= kPendingRespondersMax);
}

HandshakeOutput HandshakeManager::on_ik_initiation(const Address& from, const wire::DecodedPacket& packet,
                                                   const Admitted& admitted, int64_t now_us, int64_t now_wall_us,
                                                   HandshakeOutput out) {
  const auto& h = packet.header;
  // IKpsk2: try our current static key, then archived keys in their grace.
  std::optional<HandshakeState> accepted;
  std::optional<HandshakePayload> payload;
  const Identity* as = &identity_;
  std::vector<const Identity*> candidates{&identity_};
  for (const ArchivedKey& k : archive_.entries()) candidates.push_back(&k.identity);
  for (const Identity* candidate : candidates) {
    if (candidate != &identity_ && archive_.find_by_dh_public(candidate->dh_public(), now_wall_us) == nullptr) continue;
    auto hs = responder_state(kProtocolIk, candidate->dh_private(), h.source, h.destination);
    MESHD_ASSERT(hs.is_ok());
    std::vector<uint8_t> plain;
    if (hs->read_message(admitted.message, plain)) {
      payload = verified_payload(*hs, plain, h.source, h.session_id);
      accepted = std::move(*hs);
      as = candidate;
      break;
    }
  }
  if (!accepted || !payload) return dropped(out, DropReason::handshake_failed);
  Peer* found = admit_peer(h.source, from, payload->key, out);
  if (found == nullptr) return out;
  Peer& peer = *found;
  const TwinVerdict verdict = judge_initiation(liveness_of(h.source, peer), from, payload->freshness,
                                               config_.twin_policy, now_us, config_.stale_grace_us);
  if (verdict != TwinVerdict::accept) {
    refuse(verdict, peer, h.source, from, h.session_id, admitted.mac1, *as, now_us, out);  // signed by the key it knows
    return out;
  }
  // The initiator encrypted to `as`: a key of ours it knows, so our own
  // initiations to it present that one (until it learns a newer one).
  if (const auto index = own_key_index(as, now_wall_us)) peer.static_choice = *index;
  if (collision_keeps_ours(from, h.source, {.abandon_lost_pending = true, .probes = true}, now_us, now_wall_us, out,
                           as)) {
    return out;
  }
  peer.last_freshness = payload->freshness;
  peer.address = from;
  if (!peer.key) peer.key = payload->key;
  const uint32_t local_index = allocate_index(h.source);
  HandshakePayload reply;
  reply.index = local_index;
  reply.key = as->public_key();
  std::vector<uint8_t> body;
  if (!accepted->write_message(encode_handshake_payload(reply), body)) {
    return dropped(out, DropReason::handshake_failed);
  }
  auto [send, receive] = accepted->split();
  sessions_.sessions(h.source).install_unconfirmed(
      Session(SessionKeys{send.key(), receive.key()}, local_index, h.session_id, false, now_us, config_.session));
  out.send.push_back(make_packet(from, h.source, PacketType::handshake_response, h.session_id,
                                    handshake_counter({MeshPattern::ik, 1}), body));
  out.events.push_back(HandshakeEvent{HandshakeEventKind::established, h.source, false, from});
  return out;
}

HandshakeOutput HandshakeManager::on_xx_final(const wire::DecodedPacket& packet, int64_t now_us,
                                              int64_t now_wall_us) {
  HandshakeOutput out;
  const auto& h = packet.header;
  auto r = responding_.find(h.session_id);
  if (r == responding_.end() || r->second.peer != h.source) return dropped(out, DropReason::unexpected_handshake);
  HandshakeState trial = r->second.hs;
  const auto payload = read_authenticated(trial, packet.payload, h.source, r->second.remote_index);
  if (!payload) return dropped(out, DropReason::handshake_failed);
  const Responding responding = std::move(r->second);
  responding_.erase(r);
  const bool known = peers_.count(h.source) != 0;
  Peer* found = admit_peer(h.source, responding.address, payload->key, out);
  if (found == nullptr) return out;
  if (!known) {
    out.events.push_back(HandshakeEvent{HandshakeEventKind::peer_key_learned, h.source, false, responding.address});
  }
  Peer& peer = *found;
  const TwinVerdict verdict = judge_initiation(liveness_of(h.source, peer), responding.address, payload->freshness,
                                               config_.twin_policy, now_us, config_.stale_grace_us);
  if (verdict != TwinVerdict::accept) {
    // The binding is message 3's mac1-style MAC; an XX responder presented
    // (and signs with) its current key.
    const Mac binding = message_binding(psk_, packet.header_bytes, packet.payload);
    refuse(verdict, peer, h.source, responding.address, responding.remote_index, binding, identity_, now_us, out);
    return out;
  }
  if (collision_keeps_ours(responding.address, h.source, {.abandon_lost_pending = true, .probes = false}, now_us,
                           now_wall_us, out)) {
    return out;
  }
  peer.last_freshness = payload->freshness;
  peer.address = responding.address;
  if (!peer.key) peer.key = payload->key;
  auto [send, receive] = trial.split();
  // Message 3 came from the initiator and authenticated: keys are confirmed.
  sessions_.sessions(h.source).install_confirmed(Session(SessionKeys{send.key(), receive.key()}, h.session_id,
                                                         responding.remote_index, false, now_us, config_.session),
                                                 now_us);
  out.events.push_back(HandshakeEvent{HandshakeEventKind::established, h.source, false, peer.address});
  return out;
}

Result<HandshakeState> HandshakeManager::responder_state(std::string_view protocol, const DhPrivate& static_key,
                                                         const NodeId& initiator, const NodeId& responder) const {
  HandshakeConfig c;
  c.protocol_name = std::string(protocol);
  c.initiator = false;
  c.prologue = handshake_prologue(initiator, responder);
  c.local_static = static_key;
  c.psks = {psk_};
  c.rng = &rng_;
  return HandshakeState::create(c);
}

void HandshakeManager::refuse(TwinVerdict verdict, Peer& peer, const NodeId& id, const Address& from,
                              uint32_t initiator_index, const Mac& binding, const Identity& signer, int64_t now_us,
                              HandshakeOutput& out) {
  out.drop = refusal_drop(verdict);
  if (!refusal_notifies(verdict)) return;  // from the holder's own address: nobody to tell
  if (now_us - peer.last_twin_notice_us < kTwinNoticeIntervalUs) {
    out.twin_notice = TwinNoticeOutcome::suppressed;
    return;
  }
  peer.last_twin_notice_us = now_us;
  const TwinNoticeFields fields{peer.address, peer.last_freshness.boot, binding};
  Datagram notice = make_packet(from, id, PacketType::twin_notice, initiator_index, 0, encode_twin_notice(fields));
  seal_twin_notice(notice.bytes, signer, psk_);
  out.send.push_back(std::move(notice));
  out.twin_notice = TwinNoticeOutcome::sent;
}

}  // namespace meshd::crypto
