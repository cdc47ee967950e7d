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
//  * Handshake payload (inside Noise): sender index u32, boot u64,
//    timestamp u64, sender's Ed25519 public key. The responder checks the key against the
//    Noise static (X25519 conversion) and the header's source NodeId (or
//    the key learned for that NodeId).
//  * Replay: an initiation whose (boot, timestamp) is not greater than the
//    last one accepted from that peer is dropped (stale_handshake). The
//    timestamp is WireGuard's (wall clock, forced strictly increasing
//    within a process); boot is the node's persisted incarnation, so a
//    restart after the wall clock stepped back is still fresh. A stale
//    initiation after the peer has been silent for stale_grace_us is
//    accepted from any address (it lost its state, or its live copy died
//    and a twin takes over; nothing live can be displaced); responder
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
//  * Twins (one identity live on two endpoints; docs/protocol.md "Twins"):
//    an authenticated initiation (IK, or XX message 3) for NodeId X from
//    address B while X's session at address A is live (a packet opened on
//    it within stale_grace_us) is a twin initiation. TwinPolicy decides:
//    prefer_newest lets the freshness rule above decide (the fresher copy
//    takes the session); prefer_oldest and allow_concurrent keep the live
//    session and refuse the twin (DropReason::twin_refused). Every refusal
//    caused by a twin (by policy, or a stale initiation from an address
//    other than the live session's) is answered with a signed twin_notice
//    (at most one per NodeId per kTwinNoticeIntervalUs); a stale initiation
//    from the session's own address is a replay and stays unanswered. Once
//    the holder has been silent for stale_grace_us, any authenticated
//    initiation takes the identity whatever its freshness (fail-over to a
//    standby copy, which may have the lower boot).
//    The initiator accepts a notice only if it is bound to one of its own
//    handshake messages still unanswered and signed by the responder's
//    known key; it then reports HandshakeEventKind::twin_refused.
//  * Key rotation: handshakes addressed to an archived static key within
//    its grace still complete (KeyArchive).
//  * First contact by address (connect_address): when only a peer's
//    address is known, an XXpsk3 initiation goes out with destination
//    NodeId zero (the prologue binds zero as the responder id). The
//    responder's identity is then authenticated by its static key and the
//    NodeId it derives (identity_ok); on success the probe becomes a
//    regular peer keyed by the learned NodeId. A probe and a peer's
//    initiation from the probed address collide like two initiations: the
//    smaller NodeId keeps its own.
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
constexpr size_t kProbesMax = 1024;  // first-contact handshakes by address
constexpr size_t kDhCacheEntriesMax = 2 * kPeersMax;  // memoized Ed25519 -> X25519 conversions
constexpr size_t kHandshakePayloadBytes = 4 + 8 + 8 + kSigningPublicBytes;  // 52

// Orders a peer's initiations: (boot, timestamp) lexicographically.
struct HandshakeFreshness {
  uint64_t boot = 0;       // the initiator's persisted incarnation
  uint64_t timestamp = 0;  // wall-clock µs, strictly increasing per process
  auto operator<=>(const HandshakeFreshness&) const = default;
};
constexpr size_t kInitiationTrailerBytes = 2 * kMacBytes;
// At most one twin notice per refused NodeId per this interval (both
// copies share the NodeId): a twin retrying fast, or a flood of replayed
// twin initiations, costs one signature per second. Excess is counted.
constexpr int64_t kTwinNoticeIntervalUs = 1 * kMicrosPerSecond;
// twin_notice body: holder IPv4 u32, holder port u16, holder boot u64,
// binding (16), Ed25519 signature (64), mac (16). docs/protocol.md.
constexpr size_t kTwinNoticeSignedBytes = 4 + 2 + 8 + kMacBytes;  // 30
constexpr size_t kTwinNoticeBytes = kTwinNoticeSignedBytes + kSignatureBytes + kMacBytes;  // 110
constexpr std::string_view kTwinNoticeDomain = "meshd twin notice v1";
constexpr std::string_view kProtocolIk = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b";
constexpr std::string_view kProtocolXx = "Noise_XXpsk3_25519_ChaChaPoly_BLAKE2b";

// What a responder does with a twin initiation (see the file comment).
// Node maps membership.identity_policy onto it.
enum class TwinPolicy : uint8_t { prefer_newest, prefer_oldest, allow_concurrent };

struct HandshakeManagerConfig {
  int64_t retry_initial_us = 1 * kMicrosPerSecond;
  int64_t retry_max_us = 16 * kMicrosPerSecond;
  int64_t handshake_timeout_us = 90 * kMicrosPerSecond;
  uint32_t handshake_rate_per_s = 200;
  uint32_t handshake_burst = 100;
  uint8_t hop_limit = 1;
  SessionConfig session;
  // The node's persisted incarnation (core/node/incarnation.h), strictly
  // higher after every restart; 0 for an ephemeral or test identity.
  uint64_t boot = 0;
  // A stale initiation is still accepted from a peer nothing has opened
  // from for this long: it lost its state and its boot count went back (a
  // corrupt incarnation record re-derived from a wall clock that stepped
  // back), or its live copy died and a twin takes over. With nothing live
  // to displace, a replay gains nothing. Also the window in which a
  // session counts as live for the twin rule.
  int64_t stale_grace_us = 5 * kMicrosPerSecond;
  TwinPolicy twin_policy = TwinPolicy::prefer_newest;
};

struct OutPacket {
  Address to;
  std::vector<uint8_t> bytes;
};

enum class HandshakeEventKind : uint8_t { established, failed, peer_key_learned, twin_refused };

// An authenticated twin notice: `responder` refused our handshake because
// our identity is live at `holder` (booted as `holder_boot`).
struct TwinNotice {
  NodeId responder;
  Address responder_address;
  Address holder;
  uint64_t holder_boot = 0;
};

struct HandshakeEvent {
  HandshakeEventKind kind;
  NodeId peer;          // zero for a failed first-contact probe
  bool initiator = false;
  Address address;      // the peer's address as this node knows it
  TwinNotice twin{};    // twin_refused only
};

// What became of a twin notice this output was due (responder side).
enum class TwinNoticeOutcome : uint8_t { none, sent, suppressed };

// Which key and nonce a transport packet used (the simulator's nonce-reuse
// and forgery checks; see Session::send_key_id).
struct KeyUse {
  uint64_t key_id = 0;
  uint64_t counter = 0;
};

struct HandshakeOutput {
  std::vector<OutPacket> packets;
  std::vector<HandshakeEvent> events;
  wire::DropReason drop = wire::DropReason::none;
  TwinNoticeOutcome twin_notice = TwinNoticeOutcome::none;
};

class HandshakeManager {
 public:
  // `identity`, `archive` and `rng` are borrowed and must outlive this.
  HandshakeManager(const Identity& identity, const KeyArchive& archive, const Psk& psk, RandomStream& rng,
                   const HandshakeManagerConfig& config);

  // Registers (or updates) a peer. `key` known -> IK, else XX.
  Status add_peer(const NodeId& peer, const Address& address, std::optional<SigningPublic> key);
  // Starts a handshake unless one is in flight. Errc::not_found for unknown
  // peers. Without `force` a peer with a live session that does not need a
  // rekey gets none; with it (the owner suspects the peer lost the
  // session, e.g. it restarted) a new handshake starts anyway, and one in
  // flight is resent now instead of after its backoff (at most once per
  // retry_initial_us / 2).
  Result<HandshakeOutput> connect(const NodeId& peer, int64_t now_us, int64_t now_wall_us, bool force = false);
  // First contact with a peer known only by address (XXpsk3, destination
  // zero). No-op while a probe to `address` is in flight. Bounded by
  // kProbesMax (Errc::too_large beyond).
  Result<HandshakeOutput> connect_address(const Address& address, int64_t now_us, int64_t now_wall_us);
  bool probe_in_flight(const Address& address) const { return probes_.count(address) != 0; }
  // Handles a handshake_initiation / handshake_response / cookie_reply /
  // twin_notice packet (already decoded). Transport packets go to open().
  HandshakeOutput on_handshake_packet(const Address& from, const wire::DecodedPacket& packet,
                                      int64_t now_us, int64_t now_wall_us);
  // Retries, timeouts, time-based rekeys and session expiry. It does not
  // reconnect a peer whose session expired: the owner calls connect() when
  // it has traffic for that peer (so idle peers cost no handshakes).
  HandshakeOutput tick(int64_t now_us, int64_t now_wall_us);

  // Seals a transport packet to `peer`. Errc::unavailable without a session.
  // `used` (optional) reports the key id and nonce the packet was sealed under.
  Result<OutPacket> seal(const NodeId& peer, std::span<const uint8_t> plaintext, int64_t now_us,
                         KeyUse* used = nullptr);
  // Opens a transport packet; on success `from` names the peer and `used`
  // (optional) the receive key id and counter. `from_address` (optional):
  // the datagram's source, so a peer that speaks from a new address is not
  // taken for a twin of itself there.
  wire::DropReason open(const wire::DecodedPacket& packet, std::span<uint8_t> out, size_t& plaintext_bytes,
                        NodeId& from, int64_t now_us, KeyUse* used = nullptr,
                        const Address* from_address = nullptr);

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
    uint32_t static_index = 0;  // which of own_keys() we presented
    int64_t sent_us = 0;        // when this initiation went out
    Mac binding{};              // this initiation's mac1: what a twin notice must name
    bool noticed = false;       // a twin notice for it was accepted (no replays)
  };
  // Our XX message 3 (the initiator's authenticated message, after which
  // we hold the session): a twin notice may refuse it too.
  struct SentFinal {
    uint32_t local_index = 0;
    Mac binding{};
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
    HandshakeFreshness last_freshness;  // greatest initiation accepted
    uint32_t static_choice = 0;   // own_keys() index this peer last accepted
    int64_t failed_until_us = 0;
    std::optional<SentFinal> sent_final{};  // last XX message 3 we sent it
    Address last_opened_from{};           // source of the last packet opened on its sessions
    int64_t last_opened_from_us = PeerSessions::kNeverUs;
    int64_t last_twin_notice_us = PeerSessions::kNeverUs;  // we last sent one about this NodeId
  };
  // How the responder judges an authenticated initiation (see the file comment).
  enum class Verdict : uint8_t { accept, replay, twin_stale, twin_refused };

  struct Probe {  // first contact by address: our XX initiation in flight
    Pending pending;
    CookieJar jar;
  };

  // `static_index` (into own_keys()) defaults to the peer's choice + attempts.
  Result<HandshakeOutput> start(const NodeId& id, Peer& peer, int64_t now_us, int64_t now_wall_us,
                                uint32_t attempts, int64_t started_us,
                                std::optional<uint32_t> static_index = std::nullopt);
  Result<HandshakeOutput> start_probe(const Address& address, Probe* existing, int64_t now_us,
                                      int64_t now_wall_us, uint32_t attempts, int64_t started_us);
  Result<Pending> build_initiation(const NodeId& destination, const Address& address,
                                   const std::optional<SigningPublic>& key, CookieJar& jar,
                                   uint32_t local_index, int64_t now_us, int64_t now_wall_us,
                                   uint32_t attempts, int64_t started_us, uint32_t static_index,
                                   OutPacket& packet);
  // Our identities to present as initiator: the current one, then archived
  // keys still in their grace, newest first. After a rotation a peer may
  // only know an old key (announcements are the membership layer's job), so
  // successive attempts cycle through these and a peer keeps the one that
  // worked (Peer::static_choice).
  std::vector<const Identity*> own_keys(int64_t now_wall_us) const;
  // dh_public_from_signing_public, memoized: the conversion (a field
  // square root) costs about as much as a DH and every handshake needs it
  // several times. Hostile keys fill the cache at most up to its bound.
  std::optional<DhPublic> dh_public_of(const SigningPublic& key) const;
  // A response to a probe: authenticate it on a copy, then turn the probe
  // into a regular peer so the common response path completes it.
  // A probe that reaches a twin of a peer live elsewhere is dropped
  // (twin_refused) rather than promoted: see twin_at().
  bool promote_probe(const wire::DecodedPacket& packet, int64_t now_us, HandshakeOutput& out);
  // Our probe to `from` against an initiation from `peer` at `from`:
  // true if ours wins (drop theirs), else our probe is abandoned.
  bool probe_wins(const Address& from, const NodeId& peer);
  void tick_probes(int64_t now_us, int64_t now_wall_us, HandshakeOutput& out);
  HandshakeOutput on_initiation(const Address& from, const wire::DecodedPacket& packet, int64_t now_us,
                                int64_t now_wall_us);
  HandshakeOutput on_response(const wire::DecodedPacket& packet, int64_t now_us, int64_t now_wall_us);
  HandshakeOutput on_cookie_reply(const wire::DecodedPacket& packet, int64_t now_us, int64_t now_wall_us);
  HandshakeOutput on_xx_final(const wire::DecodedPacket& packet, int64_t now_us, int64_t now_wall_us);
  // `peer_knows`: the key of ours the loser's initiation was encrypted to
  // (IK), so our resend presents a key it accepts; nullptr if unknown (XX).
  void resend_winner(const Address& from, const NodeId& peer_id, int64_t now_us, int64_t now_wall_us,
                     HandshakeOutput& out, const Identity* peer_knows = nullptr);
  Result<HandshakeState> responder_state(std::string_view protocol, const DhPrivate& static_key,
                                         const NodeId& initiator, const NodeId& responder) const;
  bool identity_ok(const NodeId& claimed, const SigningPublic& key, const DhPublic& noise_static) const;
  void establish_initiated(const NodeId& id, Peer& peer, const HandshakeState& hs, uint32_t local_index,
                           uint32_t remote_index, int64_t now_us, HandshakeOutput& out);
  uint32_t allocate_index(const NodeId& owner);
  HandshakeFreshness next_freshness(int64_t now_wall_us);
  // A packet opened on the peer's sessions within stale_grace_us.
  bool holder_live(const Peer& peer, int64_t now_us) const;
  // The peer is live at another address than `from`, and nothing opened
  // from `from` lately (a peer that moved is no twin of itself).
  bool twin_at(const Peer& peer, const Address& from, int64_t now_us) const;
  Verdict judge(const Peer& peer, const Address& from, const HandshakeFreshness& freshness, int64_t now_us) const;
  // Applies a refusing verdict: the drop reason, and a twin notice to
  // `from` unless it is a replay or rate-limited. `binding` names the
  // refused message; `signer` is the key the initiator knows us by.
  void refuse(Verdict verdict, Peer& peer, const NodeId& id, const Address& from, uint32_t initiator_index,
              const Mac& binding, const Identity& signer, int64_t now_us, HandshakeOutput& out);
  OutPacket make_twin_notice(const Address& to, const NodeId& initiator, uint32_t initiator_index,
                             const Peer& holder, const Mac& binding, const Identity& signer) const;
  HandshakeOutput on_twin_notice(const Address& from, const wire::DecodedPacket& packet);
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
  std::map<Address, Probe> probes_;
  mutable std::map<SigningPublic, std::optional<DhPublic>> dh_cache_;
  std::map<uint32_t, Address> probe_index_;    // our probe's local index -> address
  uint64_t last_timestamp_sent_ = 0;
};

std::vector<uint8_t> handshake_prologue(const NodeId& initiator, const NodeId& responder);

}  // namespace meshd::crypto
