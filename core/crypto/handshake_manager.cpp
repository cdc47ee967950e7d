#include "core/crypto/handshake_manager.h"

#include <algorithm>
#include <climits>
#include <cstring>

#include "core/env/assert.h"
#include "core/wire/byte_io.h"

namespace meshd::crypto {

using wire::DropReason;
using wire::PacketType;

namespace {

// Handshake packets carry (pattern << 8 | message index) in the header
// counter so the responder knows which Noise pattern to run.
constexpr uint64_t kPatternIk = 1;
constexpr uint64_t kPatternXx = 2;
constexpr uint64_t handshake_counter(uint64_t pattern, uint64_t message) { return pattern << 8 | message; }
constexpr uint32_t kIndexAllocationTries = 64;

struct Payload {
  uint32_t index = 0;
  HandshakeFreshness freshness;
  SigningPublic key{};
};

std::vector<uint8_t> encode_payload(const Payload& p) {
  std::vector<uint8_t> out(kHandshakePayloadBytes);
  wire::Writer w(out);
  w.write_u32(p.index);
  w.write_u64(p.freshness.boot);
  w.write_u64(p.freshness.timestamp);
  w.write_bytes(p.key);
  MESHD_ASSERT(w.ok() && w.size() == out.size());
  return out;
}

std::optional<Payload> decode_payload(std::span<const uint8_t> bytes) {
  if (bytes.size() != kHandshakePayloadBytes) return std::nullopt;
  wire::Reader r(bytes);
  Payload p;
  r.read_u32(p.index);
  r.read_u64(p.freshness.boot);
  r.read_u64(p.freshness.timestamp);
  r.read_bytes(p.key);
  if (!r.ok()) return std::nullopt;
  return p;
}

std::vector<uint8_t> concat(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  // memcpy with explicit sizes: gcc 12's -Warray-bounds misfires on
  // vector::insert from a std::array-backed span here.
  std::vector<uint8_t> out(a.size() + b.size());
  if (!a.empty()) std::memcpy(out.data(), a.data(), a.size());
  if (!b.empty()) std::memcpy(out.data() + a.size(), b.data(), b.size());
  return out;
}

wire::HeaderBytes aad_of(std::span<const uint8_t> header_bytes) {
  wire::HeaderBytes aad{};
  wire::header_aad(header_bytes.first<wire::kHeaderBytes>(), aad);
  return aad;
}

}  // namespace

std::vector<uint8_t> handshake_prologue(const NodeId& initiator, const NodeId& responder) {
  std::vector<uint8_t> p{'m', 'e', 's', 'h', 'd', wire::kWireVersion};
  p.insert(p.end(), initiator.bytes.begin(), initiator.bytes.end());
  p.insert(p.end(), responder.bytes.begin(), responder.bytes.end());
  return p;
}

HandshakeManager::HandshakeManager(const Identity& identity, const KeyArchive& archive, const Psk& psk,
                                   RandomStream& rng, const HandshakeManagerConfig& config)
    : identity_(identity),
      archive_(archive),
      psk_(psk),
      rng_(rng),
      config_(config),
      cookies_(psk, rng),
      limiter_(config.handshake_rate_per_s, config.handshake_burst) {
  MESHD_ASSERT(config.retry_initial_us > 0 && config.retry_max_us >= config.retry_initial_us);
}

Status HandshakeManager::add_peer(const NodeId& id, const Address& address, std::optional<SigningPublic> key) {
  if (id == identity_.node_id()) return Status(Errc::invalid, "peer is this node");
  if (key && !dh_public_of(*key)) return Status(Errc::invalid, "peer key is not a valid Ed25519 key");
  auto it = peers_.find(id);
  if (it == peers_.end()) {
    if (peers_.size() >= kPeersMax) return Status(Errc::too_large, "peer table full");
    it = peers_.emplace(id, Peer{address, key, std::nullopt, PeerSessions(config_.session), CookieJar(psk_), HandshakeFreshness{}, 0}).first;
    return Status::ok();
  }
  it->second.address = address;
  if (key) it->second.key = key;
  return Status::ok();
}

bool HandshakeManager::holder_live(const Peer& peer, int64_t now_us) const {
  return now_us - peer.sessions.last_opened_us() < config_.stale_grace_us;
}

bool HandshakeManager::twin_at(const Peer& peer, const Address& from, int64_t now_us) const {
  // Packets from `from` itself open on the peer's sessions: the peer moved
  // there (a new source address for the same process), it is no twin.
  const bool speaks_from_here =
      from == peer.last_opened_from && now_us - peer.last_opened_from_us < config_.stale_grace_us;
  return holder_live(peer, now_us) && from != peer.address && !speaks_from_here;
}

HandshakeManager::Verdict HandshakeManager::judge(const Peer& peer, const Address& from,
                                                  const HandshakeFreshness& freshness, int64_t now_us) const {
  const bool live = holder_live(peer, now_us);
  const bool twin = twin_at(peer, from, now_us);
  if (twin && config_.twin_policy != TwinPolicy::prefer_newest) return Verdict::twin_refused;
  if (freshness > peer.last_freshness) return Verdict::accept;
  // Stale, but nothing has opened from the peer for stale_grace_us: accept
  // it from any address. Either the peer lost its state and its boot count
  // went back (a corrupt incarnation record re-derived from a clock that
  // stepped back), or the copy that held the identity died and a twin
  // (a standby under allow_concurrent, possibly with the lower boot) takes
  // over. A replay gains nothing here: the holder is already silent, an IK
  // responder session waits unconfirmed (PeerSessions::next) until the
  // initiator proves the keys, so nothing working is displaced, and the
  // real peer's next (fresher) handshake takes its address back. Until
  // then our packets for a silent peer may go to the replay's source.
  if (!live) return Verdict::accept;
  return twin ? Verdict::twin_stale : Verdict::replay;
}

void HandshakeManager::refuse(Verdict verdict, Peer& peer, const NodeId& id, const Address& from,
                              uint32_t initiator_index, const Mac& binding, const Identity& signer, int64_t now_us,
                              HandshakeOutput& out) {
  MESHD_ASSERT(verdict != Verdict::accept);
  out.drop = verdict == Verdict::twin_refused ? DropReason::twin_refused : DropReason::stale_handshake;
  if (verdict == Verdict::replay) return;  // from the holder's own address: nobody to tell
  if (now_us - peer.last_twin_notice_us < kTwinNoticeIntervalUs) {
    out.twin_notice = TwinNoticeOutcome::suppressed;
    return;
  }
  peer.last_twin_notice_us = now_us;
  out.packets.push_back(make_twin_notice(from, id, initiator_index, peer, binding, signer));
  out.twin_notice = TwinNoticeOutcome::sent;
}

namespace {

// The bytes a twin notice's signature covers: domain || header AAD ||
// holder address, boot and binding (the header binds both NodeIds and the
// initiator's index).
std::vector<uint8_t> twin_notice_signed(std::span<const uint8_t> header_bytes, std::span<const uint8_t> fields) {
  std::vector<uint8_t> message(kTwinNoticeDomain.begin(), kTwinNoticeDomain.end());
  const auto aad = aad_of(header_bytes);
  message.insert(message.end(), aad.begin(), aad.end());
  message.insert(message.end(), fields.begin(), fields.end());
  return message;
}

}  // namespace

OutPacket HandshakeManager::make_twin_notice(const Address& to, const NodeId& initiator, uint32_t initiator_index,
                                             const Peer& holder, const Mac& binding, const Identity& signer) const {
  std::vector<uint8_t> body(kTwinNoticeBytes);
  wire::Writer w(body);
  w.write_u32(holder.address.ipv4);
  w.write_u16(holder.address.port);
  w.write_u64(holder.last_freshness.boot);
  w.write_bytes(binding);
  MESHD_ASSERT(w.ok() && w.size() == kTwinNoticeSignedBytes);
  OutPacket packet = make_packet(to, initiator, PacketType::twin_notice, initiator_index, 0, body);
  const std::span<uint8_t> bytes(packet.bytes);
  const auto fields = bytes.subspan(wire::kHeaderBytes, kTwinNoticeSignedBytes);
  const Signature signature = signer.sign(twin_notice_signed(bytes.first(wire::kHeaderBytes), fields));
  std::copy(signature.begin(), signature.end(), fields.end());
  const auto mac_input = concat(aad_of(bytes), bytes.subspan(wire::kHeaderBytes, kTwinNoticeBytes - kMacBytes));
  const Mac mac = compute_mac1(psk_, mac_input);
  std::copy(mac.begin(), mac.end(), bytes.end() - kMacBytes);
  return packet;
}

HandshakeOutput HandshakeManager::on_twin_notice(const Address& from, const wire::DecodedPacket& packet) {
  HandshakeOutput out;
  const auto& h = packet.header;
  if (packet.payload.size() != kTwinNoticeBytes) {
    out.drop = packet.payload.size() < kTwinNoticeBytes ? DropReason::truncated : DropReason::too_large;
    return out;
  }
  // The PSK-keyed mac first: junk costs one hash, never a signature check.
  Mac mac{};
  std::copy_n(packet.payload.end() - kMacBytes, kMacBytes, mac.begin());
  if (!cookies_.mac1_valid(concat(aad_of(packet.header_bytes), packet.payload.first(kTwinNoticeBytes - kMacBytes)),
                           mac)) {
    out.drop = DropReason::bad_cookie;
    return out;
  }
  const auto fields = packet.payload.first(kTwinNoticeSignedBytes);
  TwinNotice notice;
  Mac binding{};
  Signature signature{};
  wire::Reader r(packet.payload);
  r.read_u32(notice.holder.ipv4);
  r.read_u16(notice.holder.port);
  r.read_u64(notice.holder_boot);
  r.read_bytes(binding);
  r.read_bytes(signature);
  MESHD_ASSERT(r.ok());
  // Bound to one of our own unanswered messages to that responder: the
  // IK initiation in flight (its mac1) or the XX message 3 we sent last.
  // Bindings went out in the clear, so a plain comparison leaks nothing.
  auto owner = index_owner_.find(h.session_id);
  auto it = owner == index_owner_.end() || owner->second != h.source ? peers_.end() : peers_.find(h.source);
  if (it == peers_.end() || !it->second.key) {
    out.drop = DropReason::unexpected_handshake;
    return out;
  }
  Peer& peer = it->second;
  const bool names_initiation = peer.pending && !peer.pending->xx && !peer.pending->noticed &&
                                peer.pending->local_index == h.session_id &&
                                peer.pending->binding == binding;
  const bool names_final = peer.sent_final && peer.sent_final->local_index == h.session_id &&
                           peer.sent_final->binding == binding;
  if (!names_initiation && !names_final) {
    out.drop = DropReason::unexpected_handshake;
    return out;
  }
  if (!verify_signature(*peer.key, twin_notice_signed(packet.header_bytes, fields), signature)) {
    out.drop = DropReason::auth_failure;
    return out;
  }
  // One notice per message: a replay of this one finds nothing to name.
  if (names_initiation) peer.pending->noticed = true;
  if (names_final) peer.sent_final.reset();
  notice.responder = h.source;
  notice.responder_address = from;
  out.events.push_back(HandshakeEvent{HandshakeEventKind::twin_refused, h.source, true, peer.address, notice});
  return out;
}

HandshakeFreshness HandshakeManager::next_freshness(int64_t now_wall_us) {
  // Strictly increasing even if the wall clock steps back, so our own
  // retries are never mistaken for replays by the peer; across a restart
  // the persisted boot count orders them (the timestamp alone would not
  // if the clock stepped back before the restart).
  const uint64_t wall = now_wall_us > 0 ? static_cast<uint64_t>(now_wall_us) : 0;
  last_timestamp_sent_ = std::max(wall, last_timestamp_sent_ + 1);
  return HandshakeFreshness{config_.boot, last_timestamp_sent_};
}

int64_t HandshakeManager::backoff_us(uint32_t attempts) {
  int64_t base = config_.retry_initial_us;
  for (uint32_t i = 0; i < attempts && base < config_.retry_max_us; ++i) base *= 2;
  base = std::min(base, config_.retry_max_us);
  return base + static_cast<int64_t>(rng_.below(static_cast<uint64_t>(base / 3) + 1));
}

uint32_t HandshakeManager::allocate_index(const NodeId& owner) {
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

OutPacket HandshakeManager::make_packet(const Address& to, const NodeId& destination, PacketType type,
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
  OutPacket p{to, std::vector<uint8_t>(wire::kHeaderBytes + body.size())};
  wire::encode_header(h, std::span<uint8_t, wire::kHeaderBytes>(p.bytes.data(), wire::kHeaderBytes));
  std::copy(body.begin(), body.end(), p.bytes.begin() + wire::kHeaderBytes);
  return p;
}

Result<HandshakeManager::Pending> HandshakeManager::build_initiation(
    const NodeId& destination, const Address& address, const std::optional<SigningPublic>& key, CookieJar& jar,
    uint32_t local_index, int64_t now_us, int64_t now_wall_us, uint32_t attempts, int64_t started_us,
    uint32_t static_index, OutPacket& packet) {
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
  Payload payload;
  payload.index = local_index;
  if (!xx) {  // XX message 1 is unauthenticated: reveal nothing but the index
    payload.freshness = next_freshness(now_wall_us);
    payload.key = as.public_key();
  }
  std::vector<uint8_t> body;
  if (Status s = hs->write_message(encode_payload(payload), body); !s) return s;
  const size_t message_bytes = body.size();
  body.resize(message_bytes + kInitiationTrailerBytes);
  const bool cookie = jar.has_cookie(now_us);
  packet = make_packet(address, destination, PacketType::handshake_initiation, local_index,
                       handshake_counter(xx ? kPatternXx : kPatternIk, 0), body,
                       cookie ? wire::kFlagCookieAttached : 0);
  const auto aad = aad_of(packet.bytes);
  const auto mac_input = concat(aad, std::span(packet.bytes).subspan(wire::kHeaderBytes, message_bytes));
  const CookieJar::Macs macs = jar.macs_for(mac_input, now_us);
  std::copy(macs.mac1.begin(), macs.mac1.end(), packet.bytes.end() - kInitiationTrailerBytes);
  std::copy(macs.mac2.begin(), macs.mac2.end(), packet.bytes.end() - kMacBytes);
  return Pending{std::move(*hs), local_index, 0, xx, started_us, now_us + backoff_us(attempts), attempts,
                 static_index, now_us, macs.mac1};
}

std::optional<DhPublic> HandshakeManager::dh_public_of(const SigningPublic& key) const {
  auto it = dh_cache_.find(key);
  if (it != dh_cache_.end()) return it->second;
  if (dh_cache_.size() >= kDhCacheEntriesMax) dh_cache_.clear();  // bounded; refills from use
  const auto converted = dh_public_from_signing_public(key);
  dh_cache_.emplace(key, converted);
  return converted;
}

std::vector<const Identity*> HandshakeManager::own_keys(int64_t now_wall_us) const {
  std::vector<const Identity*> keys{&identity_};
  const auto& entries = archive_.entries();
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    if (archive_.find_by_dh_public(it->identity.dh_public(), now_wall_us) != nullptr) keys.push_back(&it->identity);
  }
  return keys;
}

Result<HandshakeOutput> HandshakeManager::start(const NodeId& id, Peer& peer, int64_t now_us,
                                                int64_t now_wall_us, uint32_t attempts, int64_t started_us,
                                                std::optional<uint32_t> static_index) {
  if (peer.key && !dh_public_of(*peer.key)) {
    return Status(Errc::invalid, "peer key is not a valid Ed25519 key");
  }
  const uint32_t local_index = allocate_index(id);
  OutPacket packet;
  auto pending = build_initiation(id, peer.address, peer.key, peer.jar, local_index, now_us, now_wall_us,
                                  attempts, started_us,
                                  static_index ? *static_index : peer.static_choice + attempts, packet);
  if (!pending) return pending.status();
  peer.pending = std::move(*pending);
  HandshakeOutput result;
  result.packets.push_back(std::move(packet));
  return result;
}

Result<HandshakeOutput> HandshakeManager::start_probe(const Address& address, Probe* existing, int64_t now_us,
                                                      int64_t now_wall_us, uint32_t attempts,
                                                      int64_t started_us) {
  CookieJar fresh(psk_);
  CookieJar& jar = existing != nullptr ? existing->jar : fresh;
  // Index owner zero marks a probe (no NodeId yet); probe_index_ maps it.
  const uint32_t local_index = allocate_index(NodeId{});
  OutPacket packet;
  auto pending = build_initiation(NodeId{}, address, std::nullopt, jar, local_index, now_us, now_wall_us,
                                  attempts, started_us, attempts, packet);
  if (!pending) return pending.status();
  if (existing != nullptr) {
    probe_index_.erase(existing->pending.local_index);
    existing->pending = std::move(*pending);
  } else {
    probes_.emplace(address, Probe{std::move(*pending), std::move(fresh)});
  }
  probe_index_[local_index] = address;
  HandshakeOutput result;
  result.packets.push_back(std::move(packet));
  return result;
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
    const Pending& p = *peer.pending;
    if (!force || now_us - p.sent_us < config_.retry_initial_us / 2) return HandshakeOutput{};
    return start(id, peer, now_us, now_wall_us, p.attempts + 1, p.started_us);
  }
  const Session* current = peer.sessions.sending(now_us);
  if (!force && current != nullptr && !current->needs_rekey(now_us)) return HandshakeOutput{};
  return start(id, peer, now_us, now_wall_us, 0, now_us);
}

Result<HandshakeOutput> HandshakeManager::connect_address(const Address& address, int64_t now_us,
                                                          int64_t now_wall_us) {
  if (probes_.count(address) != 0) return HandshakeOutput{};
  if (probes_.size() >= kProbesMax) return Status(Errc::too_large, "too many first-contact handshakes");
  return start_probe(address, nullptr, now_us, now_wall_us, 0, now_us);
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
    const Pending& p = *known->second.pending;
    if (now_us - p.sent_us < recent_us) return;
    // Present the key the loser addressed, if we know it; otherwise the
    // next of our keys (attempts + 1), in case the loser rejected the one
    // we presented (it may know only a key we have since rotated).
    std::optional<uint32_t> index;
    if (peer_knows != nullptr) {
      const auto keys = own_keys(now_wall_us);
      for (uint32_t i = 0; i < keys.size(); ++i) {
        if (keys[i] == peer_knows) index = i;
      }
    }
    again = start(peer_id, known->second, now_us, now_wall_us, p.attempts + 1, p.started_us, index);
  } else if (auto probe = probes_.find(from); probe != probes_.end()) {
    const Pending& p = probe->second.pending;
    if (now_us - p.sent_us < recent_us) return;
    again = start_probe(from, &probe->second, now_us, now_wall_us, p.attempts, p.started_us);
  }
  if (!again) return;
  for (auto& pkt : again->packets) out.packets.push_back(std::move(pkt));
}

bool HandshakeManager::probe_wins(const Address& from, const NodeId& peer) {
  auto it = probes_.find(from);
  if (it == probes_.end()) return false;
  if (identity_.node_id() < peer) return true;
  probe_index_.erase(it->second.pending.local_index);
  probes_.erase(it);  // theirs wins: answer it instead
  return false;
}

bool HandshakeManager::promote_probe(const wire::DecodedPacket& packet, int64_t now_us, HandshakeOutput& out) {
  const auto& h = packet.header;
  auto at = probe_index_.find(h.session_id);
  if (at == probe_index_.end() || (h.counter >> 8) != kPatternXx || (h.counter & 0xff) != 1) {
    out.drop = DropReason::unexpected_handshake;
    return false;
  }
  auto pit = probes_.find(at->second);
  MESHD_ASSERT(pit != probes_.end() && pit->second.pending.local_index == h.session_id);
  HandshakeState trial = pit->second.pending.hs;  // a forged response must not spoil the probe
  std::vector<uint8_t> plain;
  if (!trial.read_message(packet.payload, plain)) {
    out.drop = DropReason::handshake_failed;
    return false;
  }
  const auto payload = decode_payload(plain);
  if (!payload || !trial.remote_static() || !identity_ok(h.source, payload->key, *trial.remote_static())) {
    out.drop = DropReason::handshake_failed;
    return false;
  }
  const Address address = pit->first;
  Probe probe = std::move(pit->second);
  probes_.erase(pit);
  probe_index_.erase(at);
  if (auto known = peers_.find(h.source); known != peers_.end() && twin_at(known->second, address, now_us)) {
    // Our probe found a twin of a peer whose live session is elsewhere:
    // promoting it would hand the identity to the twin (and move the
    // peer) behind the responder rule's back. The twin's own initiations
    // go through that rule instead; the probe ends here.
    out.drop = DropReason::twin_refused;
    out.events.push_back(HandshakeEvent{HandshakeEventKind::failed, NodeId{}, true, address});
    return false;
  }
  if (!add_peer(h.source, address, std::nullopt)) {
    out.drop = DropReason::rate_limited;
    return false;
  }
  Peer& peer = peers_.find(h.source)->second;
  peer.pending = std::move(probe.pending);  // replaces any id-based attempt
  index_owner_[h.session_id] = h.source;
  return true;
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

void HandshakeManager::establish_initiated(const NodeId& id, Peer& peer, const HandshakeState& hs,
                                           uint32_t local_index, uint32_t remote_index, int64_t now_us,
                                           HandshakeOutput& out) {
  auto [send, receive] = hs.split();
  peer.sessions.install_confirmed(
      Session(SessionKeys{send.key(), receive.key()}, local_index, remote_index, true, now_us, config_.session),
      now_us);
  if (peer.pending) peer.static_choice = peer.pending->static_index;
  peer.pending.reset();
  out.events.push_back(HandshakeEvent{HandshakeEventKind::established, id, true, peer.address});
}

HandshakeOutput HandshakeManager::on_handshake_packet(const Address& from, const wire::DecodedPacket& packet,
                                                      int64_t now_us, int64_t now_wall_us) {
  MESHD_ASSERT(packet.ok());
  HandshakeOutput out;
  const auto& h = packet.header;
  if (h.source == identity_.node_id()) {  // reflected back at us
    out.drop = DropReason::handshake_failed;
    return out;
  }
  if (!h.destination.is_zero() && h.destination != identity_.node_id()) {
    out.drop = DropReason::not_for_us;
    return out;
  }
  switch (h.type) {
    case PacketType::handshake_initiation: return on_initiation(from, packet, now_us, now_wall_us);
    case PacketType::handshake_response: return on_response(packet, now_us, now_wall_us);
    case PacketType::cookie_reply: return on_cookie_reply(packet, now_us, now_wall_us);
    case PacketType::twin_notice: return on_twin_notice(from, packet);
    case PacketType::transport: break;
  }
  out.drop = DropReason::unknown_type;
  return out;
}

HandshakeOutput HandshakeManager::on_initiation(const Address& from, const wire::DecodedPacket& packet,
                                                int64_t now_us, int64_t now_wall_us) {
  HandshakeOutput out;
  const auto& h = packet.header;
  const uint64_t pattern = h.counter >> 8;
  if ((h.counter & 0xff) != 0 || (pattern != kPatternIk && pattern != kPatternXx)) {
    out.drop = DropReason::handshake_failed;
    return out;
  }
  if (packet.payload.size() < kInitiationTrailerBytes) {
    out.drop = DropReason::truncated;
    return out;
  }
  const auto message = packet.payload.first(packet.payload.size() - kInitiationTrailerBytes);
  Mac mac1{}, mac2{};
  std::copy_n(packet.payload.end() - kInitiationTrailerBytes, kMacBytes, mac1.begin());
  std::copy_n(packet.payload.end() - kMacBytes, kMacBytes, mac2.begin());
  const auto mac_input = concat(aad_of(packet.header_bytes), message);
  // mac1 first: non-members are rejected for the price of one hash.
  if (!cookies_.mac1_valid(mac_input, mac1)) {
    out.drop = DropReason::bad_cookie;
    return out;
  }
  if (!limiter_.take(now_us)) {
    const bool cookie_ok = (h.flags & wire::kFlagCookieAttached) != 0 &&
                           cookies_.mac2_valid(mac_input, mac1, mac2, from, now_us);
    if (!cookie_ok) {
      const CookieReply reply = cookies_.make_reply(from, mac1, now_us);
      out.packets.push_back(packet_for_cookie(from, h, reply));
      out.drop = DropReason::cookie_required;
      return out;
    }
  }
  if (pattern == kPatternXx) {
    auto hs = responder_state(kProtocolXx, identity_.dh_private(), h.source, h.destination);
    MESHD_ASSERT(hs.is_ok());
    std::vector<uint8_t> plain;
    if (!hs->read_message(message, plain)) {
      out.drop = DropReason::handshake_failed;
      return out;
    }
    const auto payload = decode_payload(plain);
    if (!payload || payload->index != h.session_id) {
      out.drop = DropReason::handshake_failed;
      return out;
    }
    auto known = peers_.find(h.source);
    if ((known != peers_.end() && known->second.pending && identity_.node_id() < h.source) ||
        probe_wins(from, h.source)) {
      out.drop = DropReason::handshake_collision;  // ours wins; the peer answers it
      resend_winner(from, h.source, now_us, now_wall_us, out);
      return out;
    }
    if (responding_.size() >= kPendingRespondersMax) {
      // Evict the oldest half-open responder (bounded scan of 64 entries).
      auto oldest = responding_.begin();
      for (auto r = responding_.begin(); r != responding_.end(); ++r) {
        if (r->second.started_us < oldest->second.started_us) oldest = r;
      }
      responding_.erase(oldest);
    }
    const uint32_t local_index = allocate_index(h.source);
    Payload reply;
    reply.index = local_index;
    reply.key = identity_.public_key();
    std::vector<uint8_t> body;
    if (!hs->write_message(encode_payload(reply), body)) {
      out.drop = DropReason::handshake_failed;
      return out;
    }
    responding_.emplace(local_index, Responding{std::move(*hs), h.source, from, h.session_id, now_us});
    out.packets.push_back(make_packet(from, h.source, PacketType::handshake_response, h.session_id,
                                 handshake_counter(kPatternXx, 1), body));
    return out;
  }

  // IKpsk2: try our current static key, then archived keys in their grace.
  std::optional<HandshakeState> accepted;
  std::vector<uint8_t> plain;
  const Identity* as = &identity_;
  std::vector<const Identity*> candidates{&identity_};
  for (const ArchivedKey& k : archive_.entries()) candidates.push_back(&k.identity);
  for (const Identity* candidate : candidates) {
    if (candidate != &identity_ && archive_.find_by_dh_public(candidate->dh_public(), now_wall_us) == nullptr) continue;
    auto hs = responder_state(kProtocolIk, candidate->dh_private(), h.source, h.destination);
    MESHD_ASSERT(hs.is_ok());
    if (hs->read_message(message, plain)) {
      accepted = std::move(*hs);
      as = candidate;
      break;
    }
  }
  if (!accepted) {
    out.drop = DropReason::handshake_failed;
    return out;
  }
  const auto payload = decode_payload(plain);
  if (!payload || payload->index != h.session_id || !accepted->remote_static() ||
      !identity_ok(h.source, payload->key, *accepted->remote_static())) {
    out.drop = DropReason::handshake_failed;
    return out;
  }
  auto it = peers_.find(h.source);
  if (it == peers_.end()) {
    if (!add_peer(h.source, from, payload->key)) {
      out.drop = DropReason::rate_limited;
      return out;
    }
    it = peers_.find(h.source);
  }
  Peer& peer = it->second;
  if (const Verdict v = judge(peer, from, payload->freshness, now_us); v != Verdict::accept) {
    refuse(v, peer, h.source, from, h.session_id, mac1, *as, now_us, out);  // signed by the key it knows
    return out;
  }
  // The initiator encrypted to `as`: a key of ours it knows, so our own
  // initiations to it present that one (until it learns a newer one).
  {
    const auto keys = own_keys(now_wall_us);
    for (uint32_t i = 0; i < keys.size(); ++i) {
      if (keys[i] == as) peer.static_choice = i;
    }
  }
  if (peer.pending) {
    if (identity_.node_id() < h.source) {
      out.drop = DropReason::handshake_collision;
      resend_winner(from, h.source, now_us, now_wall_us, out, as);
      return out;
    }
    peer.pending.reset();  // theirs wins: answer it instead
  }
  if (probe_wins(from, h.source)) {
    out.drop = DropReason::handshake_collision;
    resend_winner(from, h.source, now_us, now_wall_us, out, as);
    return out;
  }
  peer.last_freshness = payload->freshness;
  peer.address = from;
  if (!peer.key) peer.key = payload->key;
  const uint32_t local_index = allocate_index(h.source);
  Payload reply;
  reply.index = local_index;
  reply.key = as->public_key();
  std::vector<uint8_t> body;
  if (!accepted->write_message(encode_payload(reply), body)) {
    out.drop = DropReason::handshake_failed;
    return out;
  }
  auto [send, receive] = accepted->split();
  peer.sessions.install_unconfirmed(Session(SessionKeys{send.key(), receive.key()}, local_index, h.session_id,
                                            false, now_us, config_.session));
  out.packets.push_back(make_packet(from, h.source, PacketType::handshake_response, h.session_id,
                               handshake_counter(kPatternIk, 1), body));
  out.events.push_back(HandshakeEvent{HandshakeEventKind::established, h.source, false, from});
  return out;
}

OutPacket HandshakeManager::packet_for_cookie(const Address& to, const wire::PacketHeader& initiation,
                                              const CookieReply& reply) const {
  return make_packet(to, initiation.source, PacketType::cookie_reply, initiation.session_id, 0, reply);
}

HandshakeOutput HandshakeManager::on_response(const wire::DecodedPacket& packet, int64_t now_us,
                                              int64_t now_wall_us) {
  HandshakeOutput out;
  const auto& h = packet.header;
  const uint64_t pattern = h.counter >> 8;
  const uint64_t message = h.counter & 0xff;
  if (pattern == kPatternXx && message == 2) return on_xx_final(packet, now_us, now_wall_us);
  if ((pattern != kPatternIk && pattern != kPatternXx) || message != 1) {
    out.drop = DropReason::handshake_failed;
    return out;
  }
  auto owner = index_owner_.find(h.session_id);
  if (owner != index_owner_.end() && owner->second.is_zero()) {
    if (!promote_probe(packet, now_us, out)) return out;
    owner = index_owner_.find(h.session_id);
  }
  if (owner == index_owner_.end() || owner->second != h.source) {
    out.drop = DropReason::unexpected_handshake;
    return out;
  }
  auto it = peers_.find(owner->second);
  if (it == peers_.end() || !it->second.pending || it->second.pending->local_index != h.session_id ||
      it->second.pending->xx != (pattern == kPatternXx)) {
    out.drop = DropReason::unexpected_handshake;
    return out;
  }
  Peer& peer = it->second;
  Pending& pending = *peer.pending;
  // Read on a copy: a forged response must not spoil the real handshake.
  HandshakeState trial = pending.hs;
  std::vector<uint8_t> plain;
  if (!trial.read_message(packet.payload, plain)) {
    out.drop = DropReason::handshake_failed;
    return out;
  }
  const auto payload = decode_payload(plain);
  if (!payload || !trial.remote_static() || !identity_ok(it->first, payload->key, *trial.remote_static())) {
    out.drop = DropReason::handshake_failed;
    return out;
  }
  const uint32_t local_index = pending.local_index;
  if (!pending.xx) {
    MESHD_ASSERT(trial.is_complete());
    establish_initiated(it->first, peer, trial, local_index, payload->index, now_us, out);
    return out;
  }
  Payload final_payload;
  final_payload.index = local_index;
  final_payload.freshness = next_freshness(now_wall_us);
  const std::vector<const Identity*> keys = own_keys(now_wall_us);
  final_payload.key = keys[pending.static_index % keys.size()]->public_key();
  std::vector<uint8_t> body;
  if (!trial.write_message(encode_payload(final_payload), body)) {
    out.drop = DropReason::handshake_failed;
    return out;
  }
  MESHD_ASSERT(trial.is_complete());
  if (!peer.key) {
    peer.key = payload->key;
    out.events.push_back(HandshakeEvent{HandshakeEventKind::peer_key_learned, it->first, true, peer.address});
  }
  out.packets.push_back(make_packet(peer.address, it->first, PacketType::handshake_response, payload->index,
                               handshake_counter(kPatternXx, 2), body));
  // What a twin notice refusing this message must name (on_xx_final).
  const std::span<const uint8_t> sent(out.packets.back().bytes);
  peer.sent_final = SentFinal{local_index, compute_mac1(psk_, concat(aad_of(sent), sent.subspan(wire::kHeaderBytes)))};
  establish_initiated(it->first, peer, trial, local_index, payload->index, now_us, out);
  return out;
}

HandshakeOutput HandshakeManager::on_xx_final(const wire::DecodedPacket& packet, int64_t now_us,
                                              int64_t now_wall_us) {
  HandshakeOutput out;
  const auto& h = packet.header;
  auto r = responding_.find(h.session_id);
  if (r == responding_.end() || r->second.peer != h.source) {
    out.drop = DropReason::unexpected_handshake;
    return out;
  }
  HandshakeState trial = r->second.hs;
  std::vector<uint8_t> plain;
  if (!trial.read_message(packet.payload, plain)) {
    out.drop = DropReason::handshake_failed;
    return out;
  }
  const auto payload = decode_payload(plain);
  if (!payload || payload->index != r->second.remote_index || !trial.remote_static() ||
      !identity_ok(h.source, payload->key, *trial.remote_static())) {
    out.drop = DropReason::handshake_failed;
    return out;
  }
  const Responding responding = std::move(r->second);
  responding_.erase(r);
  auto it = peers_.find(h.source);
  if (it == peers_.end()) {
    if (!add_peer(h.source, responding.address, payload->key)) {
      out.drop = DropReason::rate_limited;
      return out;
    }
    it = peers_.find(h.source);
    out.events.push_back(HandshakeEvent{HandshakeEventKind::peer_key_learned, h.source, false, responding.address});
  }
  Peer& peer = it->second;
  if (const Verdict v = judge(peer, responding.address, payload->freshness, now_us); v != Verdict::accept) {
    // The binding is message 3's mac1-style MAC; an XX responder presented
    // (and signs with) its current key.
    const Mac binding = compute_mac1(psk_, concat(aad_of(packet.header_bytes), packet.payload));
    refuse(v, peer, h.source, responding.address, responding.remote_index, binding, identity_, now_us, out);
    return out;
  }
  if (peer.pending) {
    if (identity_.node_id() < h.source) {
      out.drop = DropReason::handshake_collision;
      resend_winner(responding.address, h.source, now_us, now_wall_us, out);
      return out;
    }
    peer.pending.reset();
  }
  peer.last_freshness = payload->freshness;
  peer.address = responding.address;
  if (!peer.key) peer.key = payload->key;
  auto [send, receive] = trial.split();
  // Message 3 came from the initiator and authenticated: keys are confirmed.
  peer.sessions.install_confirmed(Session(SessionKeys{send.key(), receive.key()}, h.session_id,
                                          responding.remote_index, false, now_us, config_.session),
                                  now_us);
  out.events.push_back(HandshakeEvent{HandshakeEventKind::established, h.source, false, peer.address});
  return out;
}

HandshakeOutput HandshakeManager::on_cookie_reply(const wire::DecodedPacket& packet, int64_t now_us,
                                                  int64_t now_wall_us) {
  HandshakeOutput out;
  const auto& h = packet.header;
  auto owner = index_owner_.find(h.session_id);
  if (owner != index_owner_.end() && owner->second.is_zero()) {
    auto at = probe_index_.find(h.session_id);
    if (at == probe_index_.end()) {
      out.drop = DropReason::unexpected_handshake;
      return out;
    }
    Probe& probe = probes_.find(at->second)->second;
    if (!probe.jar.consume_reply(packet.payload, now_us)) {
      out.drop = DropReason::bad_cookie;
      return out;
    }
    const Address address = at->second;
    auto again = start_probe(address, &probe, now_us, now_wall_us, probe.pending.attempts, probe.pending.started_us);
    if (again) return std::move(*again);
    out.drop = DropReason::handshake_failed;
    return out;
  }
  if (owner == index_owner_.end() || owner->second != h.source) {
    out.drop = DropReason::unexpected_handshake;
    return out;
  }
  auto it = peers_.find(owner->second);
  if (it == peers_.end() || !it->second.pending || it->second.pending->local_index != h.session_id) {
    out.drop = DropReason::unexpected_handshake;
    return out;
  }
  Peer& peer = it->second;
  if (!peer.jar.consume_reply(packet.payload, now_us)) {
    out.drop = DropReason::bad_cookie;
    return out;
  }
  // Resend at once with the cookie (one resend per authentic reply).
  auto again = start(it->first, peer, now_us, now_wall_us, peer.pending->attempts, peer.pending->started_us);
  if (again) return std::move(*again);
  out.drop = DropReason::handshake_failed;
  return out;
}

HandshakeOutput HandshakeManager::tick(int64_t now_us, int64_t now_wall_us) {
  HandshakeOutput out;
  for (auto& [id, peer] : peers_) {
    peer.sessions.expire(now_us);
    if (peer.pending) {
      Pending& p = *peer.pending;
      if (now_us - p.started_us >= config_.handshake_timeout_us) {
        peer.pending.reset();
        out.events.push_back(HandshakeEvent{HandshakeEventKind::failed, id, true, peer.address});
      } else if (now_us >= p.next_retry_us) {
        auto again = start(id, peer, now_us, now_wall_us, p.attempts + 1, p.started_us);
        if (again) {
          for (auto& pkt : again->packets) out.packets.push_back(std::move(pkt));
        }
      }
      continue;
    }
    const auto& current = peer.sessions.current();
    if (!current) continue;
    // The session's initiator rekeys first; the responder only later, so
    // both sides rarely start at once (and the tie-break settles it if so).
    const int64_t age_us = now_us - current->established_us();
    const int64_t due_us = current->initiator()
                               ? config_.session.rekey_after_us
                               : (config_.session.rekey_after_us + config_.session.reject_after_us) / 2;
    if (age_us >= due_us || current->sent_count() >= config_.session.rekey_after_messages) {
      auto again = start(id, peer, now_us, now_wall_us, 0, now_us);
      if (again) {
        for (auto& pkt : again->packets) out.packets.push_back(std::move(pkt));
      }
    }
  }
  tick_probes(now_us, now_wall_us, out);
  std::erase_if(responding_, [&](const auto& entry) {
    return now_us - entry.second.started_us >= config_.handshake_timeout_us;
  });
  release_unused_indices();
  return out;
}

void HandshakeManager::tick_probes(int64_t now_us, int64_t now_wall_us, HandshakeOutput& out) {
  for (auto it = probes_.begin(); it != probes_.end();) {
    Pending& p = it->second.pending;
    if (now_us - p.started_us >= config_.handshake_timeout_us) {
      out.events.push_back(HandshakeEvent{HandshakeEventKind::failed, NodeId{}, true, it->first});
      probe_index_.erase(p.local_index);
      it = probes_.erase(it);
      continue;
    }
    if (now_us >= p.next_retry_us) {
      auto again = start_probe(it->first, &it->second, now_us, now_wall_us, p.attempts + 1, p.started_us);
      if (again) {
        for (auto& pkt : again->packets) out.packets.push_back(std::move(pkt));
      }
    }
    ++it;
  }
}

void HandshakeManager::release_unused_indices() {
  std::erase_if(index_owner_, [&](const auto& entry) {
    const auto& [index, owner] = entry;
    if (responding_.count(index)) return false;
    if (owner.is_zero()) return probe_index_.count(index) == 0;
    auto it = peers_.find(owner);
    if (it == peers_.end()) return true;
    const Peer& peer = it->second;
    if (peer.pending && peer.pending->local_index == index) return false;
    return !peer.sessions.owns_index(index);
  });
}

Result<OutPacket> HandshakeManager::seal(const NodeId& id, std::span<const uint8_t> plaintext, int64_t now_us,
                                         KeyUse* used) {
  auto it = peers_.find(id);
  if (it == peers_.end()) return Status(Errc::not_found, "unknown peer");
  Session* session = it->second.sessions.sending(now_us);
  if (session == nullptr) return Status(Errc::unavailable, "no session with peer");
  wire::PacketHeader h;
  h.hop_limit = config_.hop_limit;
  h.source = identity_.node_id();
  h.destination = id;
  OutPacket out{it->second.address, std::vector<uint8_t>(plaintext.size() + kSealOverheadBytes)};
  const uint64_t counter = session->sent_count();
  auto n = session->seal(h, plaintext, out.bytes, now_us);
  if (!n) return n.status();
  if (used != nullptr) *used = KeyUse{session->send_key_id(), counter};
  out.bytes.resize(*n);
  return out;
}

DropReason HandshakeManager::open(const wire::DecodedPacket& packet, std::span<uint8_t> out,
                                  size_t& plaintext_bytes, NodeId& from, int64_t now_us, KeyUse* used,
                                  const Address* from_address) {
  plaintext_bytes = 0;
  auto owner = index_owner_.find(packet.header.session_id);
  if (owner == index_owner_.end() || owner->second != packet.header.source) return DropReason::unknown_session;
  auto it = peers_.find(owner->second);
  if (it == peers_.end()) return DropReason::unknown_session;
  uint64_t key_id = 0;
  const DropReason r = it->second.sessions.open(packet, out, plaintext_bytes, now_us, &key_id);
  if (r == DropReason::none) {
    from = owner->second;
    if (from_address != nullptr) {
      it->second.last_opened_from = *from_address;
      it->second.last_opened_from_us = now_us;
    }
    if (used != nullptr) *used = KeyUse{key_id, packet.header.counter};
  }
  return r;
}

bool HandshakeManager::has_session(const NodeId& id, int64_t now_us) {
  auto it = peers_.find(id);
  return it != peers_.end() && it->second.sessions.sending(now_us) != nullptr;
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

const PeerSessions* HandshakeManager::sessions(const NodeId& id) const {
  auto it = peers_.find(id);
  return it == peers_.end() ? nullptr : &it->second.sessions;
}

int64_t HandshakeManager::next_deadline_us() const {
  int64_t next = INT64_MAX;
  for (const auto& [id, peer] : peers_) {
    if (!peer.pending) continue;
    next = std::min({next, peer.pending->next_retry_us, peer.pending->started_us + config_.handshake_timeout_us});
  }
  for (const auto& [address, probe] : probes_) {
    next = std::min({next, probe.pending.next_retry_us, probe.pending.started_us + config_.handshake_timeout_us});
  }
  return next;
}

}  // namespace meshd::crypto
