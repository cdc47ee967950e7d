// HandshakeManager: a node's mesh handshakes and sessions as a pure state
// machine (inputs: packets, ticks, now; outputs: packets to send and
// events). No runtime, no I/O: a fiber or the simulator drives it.
//
// Protocol (docs/protocol.md, "Handshake"):
//  * Peer with a known Ed25519 key: Noise_IKpsk2 (one round trip).
//    Otherwise (first contact): Noise_XXpsk3 (three messages). The PSK is
//    the mesh admission secret.
//  * Prologue = "meshd" || wire version || initiator NodeId || responder
//    NodeId (taken from the header), so a relay that rewrites either id
//    makes the handshake fail.
//  * Handshake payload (inside Noise): sender index u32, timestamp u64,
//    sender's Ed25519 public key. The responder checks the key against the
//    Noise static (X25519 conversion) and the header's source NodeId (or
//    the key learned for that NodeId).
//  * Replay: an initiation whose timestamp is not greater than the last
//    one accepted from that peer is dropped (stale_handshake); responder
//    sessions wait unconfirmed (PeerSessions::next), so even a fresh
//    initiation never displaces a working session until the initiator
//    proves the keys with a transport packet.
//  * Simultaneous initiation: the node with the smaller NodeId keeps its
//    initiation; the other abandons its own and responds.
//  * Retries: exponential backoff from retry_initial_us, doubling up to
//    retry_max_us, plus up to 1/3 jitter from the node's RandomStream; the
//    attempt is abandoned after handshake_timeout_us (event `failed`).
//  * Under load (handshake_rate_per_s exceeded) initiations without a valid
//    mac2 get a cookie reply and no DH (cookie.h). mac1 (PSK-keyed) is
//    checked before any DH always.
//  * Key rotation: handshakes addressed to an archived static key within
//    its grace still complete (KeyArchive).
// Bounds: kPeersMax peers, kPendingRespondersMax XX half-open responders
// (oldest evicted), 3 sessions per peer.
#pragma once

#include <map>
#include <optional>
#include <span>
#include <vector>

#include "core/crypto/cookie.h"
#include "core/crypto/handshake_state.h"
#include "core/crypto/identity.h"
#include "core/crypto/key_archive.h"
#include "core/crypto/peer_sessions.h"
#include "core/env/address.h"
#include "core/wire/header.h"

namespace meshd::crypto {

constexpr size_t kPeersMax = 4096;
constexpr size_t kPendingRespondersMax = 64;
constexpr size_t kHandshakePayloadBytes = 4 + 8 + kSigningPublicBytes;  // 44
constexpr size_t kInitiationTrailerBytes = 2 * kMacBytes;
constexpr std::string_view kProtocolIk = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b";
constexpr std::string_view kProtocolXx = "Noise_XXpsk3_25519_ChaChaPoly_BLAKE2b";

struct HandshakeManagerConfig {
  int64_t retry_initial_us = 1 * kMicrosPerSecond;
  int64_t retry_max_us = 16 * kMicrosPerSecond;
  int64_t handshake_timeout_us = 90 * kMicrosPerSecond;
  uint32_t handshake_rate_per_s = 200;
  uint32_t handshake_burst = 100;
  uint8_t hop_limit = 1;
  SessionConfig session;
};

struct OutPacket {
  Address to;
  std::vector<uint8_t> bytes;
};

enum class HandshakeEventKind : uint8_t { established, failed, peer_key_learned };

struct HandshakeEvent {
  HandshakeEventKind kind;
  NodeId peer;
  bool initiator = false;
};

struct HandshakeOutput {
  std::vector<OutPacket> packets;
  std::vector<HandshakeEvent> events;
  wire::DropReason drop = wire::DropReason::none;
};

class HandshakeManager {
 public:
  // `identity`, `archive` and `rng` are borrowed and must outlive this.
  HandshakeManager(const Identity& identity, const KeyArchive& archive, const Psk& psk, RandomStream& rng,
                   const HandshakeManagerConfig& config);

  // Registers (or updates) a peer. `key` known -> IK, else XX.
  Status add_peer(const NodeId& peer, const Address& address, std::optional<SigningPublic> key);
  // Starts a handshake unless one is in flight. Errc::not_found for unknown peers.
  Result<HandshakeOutput> connect(const NodeId& peer, int64_t now_us, int64_t now_wall_us);
  // Handles a handshake_initiation / handshake_response / cookie_reply
  // packet (already decoded). Transport packets go to open().
  HandshakeOutput on_handshake_packet(const Address& from, const wire::DecodedPacket& packet,
                                      int64_t now_us, int64_t now_wall_us);
  // Retries, timeouts, time-based rekeys and session expiry. It does not
  // reconnect a peer whose session expired: the owner calls connect() when
  // it has traffic for that peer (so idle peers cost no handshakes).
  HandshakeOutput tick(int64_t now_us, int64_t now_wall_us);

  // Seals a transport packet to `peer`. Errc::unavailable without a session.
  Result<OutPacket> seal(const NodeId& peer, std::span<const uint8_t> plaintext, int64_t now_us);
  // Opens a transport packet; on success `from` names the peer.
  wire::DropReason open(const wire::DecodedPacket& packet, std::span<uint8_t> out, size_t& plaintext_bytes,
                        NodeId& from, int64_t now_us);

  bool has_session(const NodeId& peer, int64_t now_us);
  bool handshake_in_flight(const NodeId& peer) const;
  std::optional<SigningPublic> peer_key(const NodeId& peer) const;
  const PeerSessions* sessions(const NodeId& peer) const;
  // Earliest now_us at which tick() has work (retry/timeout); INT64_MAX if none.
  int64_t next_deadline_us() const;

 private:
  struct Pending {  // our initiation in flight
    HandshakeState hs;
    uint32_t local_index = 0;
    uint32_t remote_index = 0;
    bool xx = false;
    int64_t started_us = 0;
    int64_t next_retry_us = 0;
    uint32_t attempts = 0;
  };
  struct Responding {  // XX responder waiting for message 3
    HandshakeState hs;
    NodeId peer;
    Address address;
    uint32_t remote_index = 0;
    int64_t started_us = 0;
  };
  struct Peer {
    Address address;
    std::optional<SigningPublic> key;
    std::optional<Pending> pending;
    PeerSessions sessions;
    CookieJar jar;
    uint64_t last_timestamp = 0;  // greatest initiation timestamp accepted
    int64_t failed_until_us = 0;
  };

  Result<HandshakeOutput> start(const NodeId& id, Peer& peer, int64_t now_us, int64_t now_wall_us,
                                uint32_t attempts, int64_t started_us);
  HandshakeOutput on_initiation(const Address& from, const wire::DecodedPacket& packet, int64_t now_us,
                                int64_t now_wall_us);
  HandshakeOutput on_response(const wire::DecodedPacket& packet, int64_t now_us, int64_t now_wall_us);
  HandshakeOutput on_cookie_reply(const wire::DecodedPacket& packet, int64_t now_us, int64_t now_wall_us);
  HandshakeOutput on_xx_final(const wire::DecodedPacket& packet, int64_t now_us);
  Result<HandshakeState> responder_state(std::string_view protocol, const DhPrivate& static_key,
                                         const NodeId& initiator, const NodeId& responder) const;
  bool identity_ok(const NodeId& claimed, const SigningPublic& key, const DhPublic& noise_static) const;
  void establish_initiated(const NodeId& id, Peer& peer, const HandshakeState& hs, uint32_t local_index,
                           uint32_t remote_index, int64_t now_us, HandshakeOutput& out);
  uint32_t allocate_index(const NodeId& owner);
  uint64_t next_timestamp(int64_t now_wall_us);
  int64_t backoff_us(uint32_t attempts);
  OutPacket make_packet(const Address& to, const NodeId& destination, wire::PacketType type, uint32_t session_id,
                   uint64_t counter, std::span<const uint8_t> body, uint8_t flags = 0) const;
  void release_unused_indices();
  OutPacket packet_for_cookie(const Address& to, const wire::PacketHeader& initiation,
                              const CookieReply& reply) const;

  const Identity& identity_;
  const KeyArchive& archive_;
  Psk psk_;
  RandomStream& rng_;
  HandshakeManagerConfig config_;
  CookieChecker cookies_;
  HandshakeRateLimiter limiter_;
  std::map<NodeId, Peer> peers_;
  std::map<uint32_t, NodeId> index_owner_;
  std::map<uint32_t, Responding> responding_;  // by our local index
  uint64_t last_timestamp_sent_ = 0;
};

std::vector<uint8_t> handshake_prologue(const NodeId& initiator, const NodeId& responder);

}  // namespace meshd::crypto
