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
// (oldest evicted), kProbesMax probes, 3 sessions per peer.
//
// Structure (docs/crypto.md, "Handshake layer files"): this class is the
// state machine; the wire codecs (handshake_payload.h, handshake_macs.h,
// twin_notice.h), the twin rule (twin_rule.h), the probes (probe_table.h)
// and the sessions that seal and open transport packets (session_table.h)
// are separate and tested alone. The implementation is split by role:
// handshake_manager.cpp (peers, timers, routing), handshake_initiator.cpp
// (our initiations, responses to them, cookie replies, twin notices we
// receive) and handshake_responder.cpp (the shared mac1/limiter/cookie
// gate, then the IK and XX responder halves, and the twin refusals).
//
// Shape (the one protocol shape, core/env/protocol.h; ProtocolMachine is
// asserted below): on_datagram(now, from, bytes, out) decodes a handshake
// packet and handles it (transport packets are the session table's, via
// open(): dropped as unknown_type here); on_tick(now, out) runs retries,
// timeouts, rekeys and expiry; next_deadline_us() is the earliest time
// on_tick has work — retries, timeouts, rekeys, half-open responders and
// session expiry all count; postcondition of a tick (asserted):
// next_deadline_us() > now. Output is HandshakeOutput (`send`: the one
// Datagram type; events; the drop reason). Wall time (the handshake
// timestamps) comes from the WallClock given at construction; the
// explicit-wall entry points tick() and on_handshake_packet() (a packet
// the caller decoded once) serve the transport machine and the tests.
// The manager has no timers of its own outside next_deadline_us() and
// never finishes. SecureTransport runs it inside TransportMachine
// (core/transport/transport_machine.h) under the one ProtocolDriver.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <span>
#include <vector>

#include "core/crypto/cookie.h"
#include "core/crypto/handshake_macs.h"
#include "core/crypto/handshake_payload.h"
#include "core/crypto/handshake_state.h"
#include "core/crypto/identity.h"
#include "core/crypto/key_archive.h"
#include "core/crypto/pending_initiation.h"
#include "core/crypto/probe_table.h"
#include "core/crypto/session_table.h"
#include "core/crypto/twin_notice.h"
#include "core/crypto/twin_rule.h"
#include "core/env/address.h"
#include "core/env/protocol.h"
#include "core/wire/header.h"

namespace meshd::crypto {

constexpr size_t kPendingRespondersMax = 64;
constexpr size_t kDhCacheEntriesMax = 2 * kPeersMax;  // memoized Ed25519 -> X25519 conversions
// At most one twin notice per refused NodeId per this interval (both
// copies share the NodeId): a twin retrying fast, or a flood of replayed
// twin initiations, costs one signature per second. Excess is counted.
constexpr int64_t kTwinNoticeIntervalUs = 1 * kMicrosPerSecond;

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

// Everything one input produced. `send` are the datagrams to send (a
// driver moves them to the network as-is), `events` what the owner acts
// on, `drop` why the input was discarded (none if it was not).
struct HandshakeOutput {
  std::vector<Datagram> send;
  std::vector<HandshakeEvent> events;
  wire::DropReason drop = wire::DropReason::none;
  TwinNoticeOutcome twin_notice = TwinNoticeOutcome::none;
};

class HandshakeManager {
 public:
  using Output = HandshakeOutput;
  using Drop = wire::DropReason;
  static constexpr size_t kDropReasons = wire::kDropReasonCount;
  using WallClock = std::function<int64_t()>;

  // `identity`, `archive` and `rng` are borrowed and must outlive this.
  // `wall_us` feeds on_tick()/on_datagram(); without it only the
  // explicit-wall entry points may be used.
  HandshakeManager(const Identity& identity, const KeyArchive& archive, const Psk& psk, RandomStream& rng,
                   const HandshakeManagerConfig& config, WallClock wall_us = {});

  // --- the one shape (core/env/protocol.h) -----------------------------------
  void on_tick(int64_t now_us, HandshakeOutput& out);
  Drop on_datagram(int64_t now_us, const Address& from, std::span<const uint8_t> bytes, HandshakeOutput& out);
  bool finished() const { return false; }

  // Registers (or updates) a peer. `key` known -> IK, else XX.
  // Errc::too_large when kPeersMax peers are registered.
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
  bool probe_in_flight(const Address& address) const { return probes_.contains(address); }
  // Handles a handshake_initiation / handshake_response / cookie_reply /
  // twin_notice packet (already decoded). Transport packets go to open().
  HandshakeOutput on_handshake_packet(const Address& from, const wire::DecodedPacket& packet,
                                      int64_t now_us, int64_t now_wall_us);
  // Retries, timeouts, time-based rekeys and session expiry. It does not
  // reconnect a peer whose session expired: the owner calls connect() when
  // it has traffic for that peer (so idle peers cost no handshakes).
  // Postcondition: next_deadline_us() > now_us.
  HandshakeOutput tick(int64_t now_us, int64_t now_wall_us);

  // Seals a transport packet to `peer`. Errc::unavailable without a session.
  // `used` (optional) reports the key id and nonce the packet was sealed under.
  Result<Datagram> seal(const NodeId& peer, std::span<const uint8_t> plaintext, int64_t now_us,
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
  size_t peer_count() const { return peers_.size(); }
  // Earliest now_us at which tick() has work: a retry or timeout of a
  // handshake or probe, a rekey, a half-open responder's timeout or a
  // session's expiry. INT64_MAX if none.
  int64_t next_deadline_us() const;

 private:
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
  struct Peer {  // its sessions live in sessions_
    Address address;
    std::optional<SigningPublic> key;
    std::optional<PendingInitiation> pending;
    CookieJar jar;
    HandshakeFreshness last_freshness;  // greatest initiation accepted
    uint32_t static_choice = 0;         // own_keys() index this peer last accepted
    std::optional<SentFinal> sent_final{};  // last XX message 3 we sent it
    int64_t last_twin_notice_us = kLivenessNeverUs;  // we last sent one about this NodeId
  };
  // Which collision rules apply where (collision_keeps_ours).
  struct CollisionRule {
    bool abandon_lost_pending = false;  // theirs wins: drop our initiation to that peer now
    bool probes = false;                // our probe to `from` collides too
  };
  // An initiation that passed the shared gate (admit_initiation).
  struct Admitted {
    std::span<const uint8_t> message;  // the Noise message
    Mac mac1{};
  };

  // --- handshake_manager.cpp: peers, timers, helpers ---------------------
  uint32_t allocate_index(const NodeId& owner);
  void release_unused_indices();
  HandshakeFreshness next_freshness(int64_t now_wall_us);
  int64_t backoff_us(uint32_t attempts);
  // Our identities to present as initiator: the current one, then archived
  // keys still in their grace, newest first. After a rotation a peer may
  // only know an old key (announcements are the membership layer's job), so
  // successive attempts cycle through these and a peer keeps the one that
  // worked (Peer::static_choice).
  std::vector<const Identity*> own_keys(int64_t now_wall_us) const;
  std::optional<uint32_t> own_key_index(const Identity* key, int64_t now_wall_us) const;
  // dh_public_from_signing_public, memoized: the conversion (a field
  // square root) costs about as much as a DH and every handshake needs it
  // several times. Hostile keys fill the cache at most up to its bound.
  std::optional<DhPublic> dh_public_of(const SigningPublic& key) const;
  bool identity_ok(const NodeId& claimed, const SigningPublic& key, const DhPublic& noise_static) const;
  // The one decode-then-verify: reads a Noise message on `hs`, decodes the
  // payload, checks `expected_index` (if given) and that the payload's key
  // belongs to `claimed` and matches the authenticated Noise static.
  std::optional<HandshakePayload> read_authenticated(HandshakeState& hs, std::span<const uint8_t> message,
                                                     const NodeId& claimed,
                                                     std::optional<uint32_t> expected_index) const;
  // Its second half, for a message already read: decode and verify.
  std::optional<HandshakePayload> verified_payload(const HandshakeState& hs, std::span<const uint8_t> plain,
                                                   const NodeId& claimed,
                                                   std::optional<uint32_t> expected_index) const;
  Datagram make_packet(const Address& to, const NodeId& destination, wire::PacketType type, uint32_t session_id,
                        uint64_t counter, std::span<const uint8_t> body, uint8_t flags = 0) const;
  LivenessView liveness_of(const NodeId& id, const Peer& peer) const;
  void tick_peer(const NodeId& id, Peer& peer, int64_t now_us, int64_t now_wall_us, HandshakeOutput& out);
  void tick_probes(int64_t now_us, int64_t now_wall_us, HandshakeOutput& out);
  int64_t rekey_due_us(const Peer& peer, const NodeId& id) const;
  // Registers a peer first met by an authenticated handshake; false (and
  // out.drop = peer_table_full) when the table is full.
  Peer* admit_peer(const NodeId& id, const Address& address, const std::optional<SigningPublic>& key,
                   HandshakeOutput& out);

  // --- handshake_initiator.cpp ----------------------------------------------
  // `static_index` (into own_keys()) defaults to the peer's choice + attempts.
  Result<HandshakeOutput> start(const NodeId& id, Peer& peer, int64_t now_us, int64_t now_wall_us,
                                uint32_t attempts, int64_t started_us,
                                std::optional<uint32_t> static_index = std::nullopt);
  Result<HandshakeOutput> start_probe(const Address& address, bool existing, int64_t now_us,
                                      int64_t now_wall_us, uint32_t attempts, int64_t started_us);
  Result<PendingInitiation> build_initiation(const NodeId& destination, const Address& address,
                                             const std::optional<SigningPublic>& key, CookieJar& jar,
                                             uint32_t local_index, int64_t now_us, int64_t now_wall_us,
                                             uint32_t attempts, int64_t started_us, uint32_t static_index,
                                             Datagram& packet);
  HandshakeOutput on_response(const wire::DecodedPacket& packet, int64_t now_us, int64_t now_wall_us);
  HandshakeOutput on_cookie_reply(const wire::DecodedPacket& packet, int64_t now_us, int64_t now_wall_us);
  HandshakeOutput on_twin_notice(const Address& from, const wire::DecodedPacket& packet);
  // A response to a probe: authenticate it on a copy, then turn the probe
  // into a regular peer so the common response path completes it.
  // A probe that reaches a twin of a peer live elsewhere is dropped
  // (twin_refused) rather than promoted: see twin_at().
  bool promote_probe(const wire::DecodedPacket& packet, int64_t now_us, HandshakeOutput& out);
  void establish_initiated(const NodeId& id, Peer& peer, const HandshakeState& hs, uint32_t local_index,
                           uint32_t remote_index, int64_t now_us, HandshakeOutput& out);
  // Simultaneous initiation: the smaller NodeId keeps its own. True if ours
  // wins — `out` then carries handshake_collision and, if due, our resent
  // initiation (resend_winner); else theirs proceeds.
  bool collision_keeps_ours(const Address& from, const NodeId& id, CollisionRule rule, int64_t now_us,
                            int64_t now_wall_us, HandshakeOutput& out, const Identity* peer_knows = nullptr);
  // `peer_knows`: the key of ours the loser's initiation was encrypted to
  // (IK), so our resend presents a key it accepts; nullptr if unknown (XX).
  void resend_winner(const Address& from, const NodeId& peer_id, int64_t now_us, int64_t now_wall_us,
                     HandshakeOutput& out, const Identity* peer_knows);

  // --- handshake_responder.cpp -----------------------------------------------
  HandshakeOutput on_initiation(const Address& from, const wire::DecodedPacket& packet, int64_t now_us,
                                int64_t now_wall_us);
  // The shared gate before any DH: pattern, size, mac1, then the rate
  // limiter (over it: a valid mac2 or a cookie reply). nullopt: `out` says why.
  std::optional<Admitted> admit_initiation(const Address& from, const wire::DecodedPacket& packet, int64_t now_us,
                                           HandshakeOutput& out);
  // The two halves behind the gate: out already carries any gate output.
  HandshakeOutput on_ik_initiation(const Address& from, const wire::DecodedPacket& packet, const Admitted& admitted,
                                   int64_t now_us, int64_t now_wall_us, HandshakeOutput out);
  HandshakeOutput on_xx_initiation(const Address& from, const wire::DecodedPacket& packet, const Admitted& admitted,
                                   int64_t now_us, int64_t now_wall_us, HandshakeOutput out);
  HandshakeOutput on_xx_final(const wire::DecodedPacket& packet, int64_t now_us, int64_t now_wall_us);
  Result<HandshakeState> responder_state(std::string_view protocol, const DhPrivate& static_key,
                                         const NodeId& initiator, const NodeId& responder) const;
  void add_responder(uint32_t local_index, Responding responding);
  // Applies a refusing verdict: the drop reason, and a twin notice to
  // `from` unless it is a replay or rate-limited. `binding` names the
  // refused message; `signer` is the key the initiator knows us by.
  void refuse(TwinVerdict verdict, Peer& peer, const NodeId& id, const Address& from, uint32_t initiator_index,
              const Mac& binding, const Identity& signer, int64_t now_us, HandshakeOutput& out);

  const Identity& identity_;
  const KeyArchive& archive_;
  WallClock wall_us_;
  Psk psk_;
  RandomStream& rng_;
  HandshakeManagerConfig config_;
  CookieChecker cookies_;
  HandshakeRateLimiter limiter_;
  SessionTable sessions_;
  std::map<NodeId, Peer> peers_;
  std::map<uint32_t, Responding> responding_;  // by our local index
  ProbeTable probes_;
  mutable std::map<SigningPublic, std::optional<DhPublic>> dh_cache_;
  uint64_t last_timestamp_sent_ = 0;
};

static_assert(ProtocolMachine<HandshakeManager>);

// Sets the drop reason and hands the output back: `return dropped(out, r);`.
inline HandshakeOutput dropped(HandshakeOutput& out, wire::DropReason reason) {
  out.drop = reason;
  return std::move(out);
}

}  // namespace meshd::crypto
