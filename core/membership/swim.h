// SwimMember: SWIM failure detection + Lifeguard + piggybacked gossip, as a
// pure state machine (no Runtime, no Network, no Clock) in the one protocol
// shape (core/env/protocol.h). Inputs: datagrams (now_us, from, bytes),
// ticks (now_us), leave(), announce(). Outputs (SwimOutput): datagrams to
// send, membership events and security findings. Every random choice
// comes from the RandomStream given at construction, so a run is a
// function of its inputs (and of the optional Buggify's fault points). A
// driver runs it: tick at next_deadline_us(), feed datagrams, send what
// comes out (SwimService runs it under ProtocolDriver).
//
// Protocol (docs/membership.md has the full text and the wire format):
//  * Probing. Every protocol period one member is pinged, walking a
//    round-robin order reshuffled (Fisher-Yates) after each full pass. No
//    ack within probe_timeout: ping_req to `indirect_probes` random members,
//    which ping the target and relay its ack (or send a nack when their own
//    probe_timeout passes). No ack by the end of the period: the target is
//    suspected (suspect update, origin = us).
//  * Lifeguard local health (LHM, 0..health_max): +1 per failed probe (or
//    per missing nack when ping_reqs went out), +1 per refutation of a
//    suspicion of ourselves, −1 per successful probe. Probe timeout and
//    protocol period are multiplied by (health + 1): a node that is itself
//    slow or lossy probes more patiently instead of accusing others.
//  * Buddy system (Lifeguard; memberlist does the same): a ping to a
//    member we hold suspect carries that suspicion first, so the member
//    learns it is suspected even after the gossip about it has retired;
//    likewise the ack to a ping from a member we suspect.
//  * Suspicion. A suspect member is declared failed when its suspicion
//    times out (suspicion.h: starts at max, shrinks toward min with each
//    independent confirmation — a suspect update for the same incarnation
//    from another origin), stretched by (health + 1) at expiry when
//    health_scales_suspicion is on. Any alive update with a higher
//    incarnation cancels it.
//  * Refutation. An update that says we are suspect/failed/left (or alive
//    at a higher incarnation) at incarnation >= ours makes us take
//    incarnation = its + 1 and gossip alive.
//  * Dissemination. Every update that changed our table is queued (one
//    entry per member, the newer replacing the older; at most
//    kBroadcastQueueMax, overflow drops the most-transmitted and is
//    counted) and piggybacked on every outgoing message, least-transmitted
//    first, until sent retransmit_limit(retransmit_mult, n) times. Every
//    gossip_interval the queue is also sent to gossip_fanout random members.
//  * Anti-entropy. Join: a push_pull request carrying our full state to
//    every seed address, repeated every join_retry_us until some node
//    answers. Then every push_pull_interval (× push_pull_scale(n), as
//    memberlist: the full state grows with n, so its period does too): a
//    full-state exchange with one
//    random active member, and one with a random failed member ("reconnect",
//    as Serf does) so that two sides of a healed partition find each other.
//  * Leave: our entry becomes `left` (sticky for the incarnation), is
//    gossiped at once to gossip_fanout members and piggybacked until
//    drained; probing stops. finished() once drained, or kLeaveDrainMaxUs
//    after leave() at the latest: the driver then stops.
//  * Reaping: failed/left entries are removed reap_after_us after their
//    status last changed (checked once per protocol period).
//  * Signatures: our own alive and left updates are signed with the
//    Signer given at construction (update_signing_bytes); relayed updates
//    keep their owner's signature. Every datagram is decoded once and then
//    checked against the identity rules (swim_admission.h) with the
//    SwimVerifier given at construction, before anything in it is used.
//  * Announcements: announce(content) re-announces us. Changed content is
//    gossiped at once at a new incarnation; unchanged content at most once
//    per reannounce_interval (the rest is counted as throttled). The member
//    also re-announces itself every reannounce_interval on its own, so a
//    member that lost our alive to a full queue learns it without waiting
//    for anti-entropy.
//  * Twins (one identity used from two endpoints at once): an alive update
//    about us, from another endpoint, at an incarnation >= ours, signed by
//    our key. IdentityPolicy decides: prefer_newest (the higher (instance,
//    address) keeps the identity), prefer_oldest (the lower keeps it),
//    allow_concurrent (nobody fights: neither refutes the other's alive, so
//    the one with the higher incarnation is reached and the other takes over
//    by refuting when it is suspected). The loser yields: it stops taking
//    part (displaced(); every datagram dropped as `displaced`). Each twin
//    seen is reported once in SwimOutput::conflicts.
//  * Endpoints: a member may announce up to kEndpointsMax; probes go to the
//    primary, and when it does not answer in time the alternates are pinged
//    directly alongside the ping_reqs (an ack on any of them counts).
//
//  * Fault points (core/env/buggify.h, simulator only): swim_push_pull_early
//    (the next anti-entropy exchange is brought forward to this period),
//    swim_relay_refused (a ping_req is refused as if the relay table were
//    full: the requester's missing-nack path), swim_gossip_skipped (a
//    gossip round sends nothing: dissemination rides on piggybacking).
//
// Defaults are memberlist's DefaultLANConfig where it has an equivalent.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <vector>

#include "core/env/address.h"
#include "core/env/buggify.h"
#include "core/env/clock.h"
#include "core/env/protocol.h"
#include "core/env/random.h"
#include "core/membership/member_table.h"
#include "core/membership/suspicion.h"
#include "core/membership/swim_admission.h"
#include "core/membership/swim_wire.h"

namespace meshd::membership {

constexpr size_t kBroadcastQueueMax = 512;  // pending updates (one per member)
constexpr size_t kRelaysMax = 64;           // ping_reqs being served for others
constexpr size_t kSeedsMax = 64;
constexpr uint32_t kHealthMaxLimit = 16;
constexpr uint32_t kIndirectProbesMax = 16;
constexpr uint32_t kGossipFanoutMax = 16;
constexpr uint32_t kSuspicionVerifyPingsMax = 8;
constexpr size_t kVerifySeqsMax = 64;  // recent verify-ping seqs whose acks are expected
// A graceful leave keeps gossiping `left` at most this long (the member
// normally drains in a few gossip intervals).
constexpr int64_t kLeaveDrainMaxUs = 5 * kMicrosPerSecond;

// What a node does when another endpoint announces its own identity.
enum class IdentityPolicy : uint8_t { prefer_newest, prefer_oldest, allow_concurrent };
std::string_view identity_policy_name(IdentityPolicy policy);
std::optional<IdentityPolicy> identity_policy_from_name(std::string_view name);

// Signs update_signing_bytes() with our key; unset: updates carry a zero
// signature (plaintext meshes and pure simulations).
using UpdateSigner = std::function<SignatureBytes(std::span<const uint8_t>)>;

struct SwimConfig {
  int64_t protocol_period_us = 1'000'000;     // memberlist ProbeInterval
  int64_t probe_timeout_us = 500'000;         // memberlist ProbeTimeout
  uint32_t indirect_probes = 3;               // memberlist IndirectChecks
  uint32_t suspicion_mult = 4;                // memberlist SuspicionMult
  uint32_t suspicion_max_timeout_mult = 6;    // memberlist SuspicionMaxTimeoutMult
  uint32_t retransmit_mult = 4;               // memberlist RetransmitMult (λ)
  uint32_t health_max = 8;                    // memberlist AwarenessMaxMultiplier
  // Our departure from memberlist (false there): a suspicion we started
  // or hold expires only after its timeout × (health + 1), as probes do.
  // A member that is itself cut off (its probes fail, health high) then
  // waits for the evidence it cannot get instead of declaring the members
  // it could not reach failed (docs/membership.md, "Beyond memberlist").
  bool health_scales_suspicion = true;
  // Our departure (memberlist: off): a message that shows its sender still
  // holds an accusation against us (suspect/failed/left) that we already
  // refuted — an older incarnation — gets our current alive sent straight
  // back (first in the ack to a ping, else a gossip datagram to the
  // sender). Our refutation's gossip may have been retired before it
  // reached that member; without this it would keep suspecting us until
  // its timeout and declare a live member failed.
  bool stale_view_repair = true;
  // Our departure (memberlist: 0): a suspicion we hold pings its suspect
  // directly, carrying the suspicion (as the buddy system does), in each
  // of the last `suspicion_verify_pings` protocol periods before it
  // expires. A live suspect answers with its refutation; a dead one costs
  // one datagram per suspector. Detection time is unchanged. ≤ kSuspicionVerifyPingsMax.
  uint32_t suspicion_verify_pings = 2;
  int64_t gossip_interval_us = 200'000;       // memberlist GossipInterval
  uint32_t gossip_fanout = 3;                 // memberlist GossipNodes
  int64_t push_pull_interval_us = 30'000'000; // memberlist PushPullInterval
  int64_t join_retry_us = 2'000'000;          // seeds re-contacted until one answers
  int64_t reap_after_us = 3'600'000'000;      // failed/left kept 1 h (reconnect window)
  // Unchanged re-announcements at most this often (and one on our own
  // this often); a changed announcement goes at once.
  int64_t reannounce_interval_us = 60'000'000;
  IdentityPolicy identity_policy = IdentityPolicy::prefer_newest;
  size_t members_max = kMembersMax;
  // Largest datagram we send (kSwimDatagramBytesMin..kDatagramBytesMax).
  // Over an encrypting transport it must be the transport's payload limit
  // (Node sets it): a larger one is refused there and lost.
  size_t datagram_bytes_max = kDatagramBytesMax;
};

// What we announce about ourselves (changes go through announce()).
struct SwimAnnouncement {
  PublicKeyBytes public_key{};
  std::string hostname;
  Address address;                  // primary endpoint: where others reach us
  AltEndpoints alt_endpoints;       // further endpoints, in preference order
  uint64_t fingerprint_digest = 0;  // BLAKE2b-64 of our host fingerprint (0: none)
  uint64_t capability_digest = 0;   // our capability set's digest (0: none)
  bool operator==(const SwimAnnouncement&) const = default;
};

struct SwimIdentity : SwimAnnouncement {
  NodeId id;
  uint64_t incarnation = 1; // persisted boot count: a restart starts higher
  uint64_t instance = 0;    // this life (persisted boot count): orders twins
};

// Our alive update as `self` would announce it, unsigned.
MemberUpdate unsigned_alive(const SwimIdentity& self);

enum class AnnounceResult : uint8_t { changed, refreshed, throttled, not_running };
std::string_view announce_result_name(AnnounceResult result);

// Another endpoint announced our identity (see "Twins" above).
struct IdentityConflict {
  Address other_address;
  uint64_t other_instance = 0;
  uint64_t other_incarnation = 0;
  enum class Action : uint8_t { kept, yielded, concurrent } action = Action::kept;
};
std::string_view conflict_action_name(IdentityConflict::Action action);

enum class MemberEventKind : uint8_t { joined, alive, suspect, failed, left, reaped };
std::string_view member_event_name(MemberEventKind kind);

struct MemberEvent {
  NodeId id;
  MemberEventKind kind = MemberEventKind::joined;
  uint64_t incarnation = 0;
  int64_t at_us = 0;
};

// The one datagram type (core/env/protocol.h); swim_type_of(bytes) names it.
using SwimDatagram = Datagram;

// A known key now announced from another host (its fingerprint digest
// changed at a higher incarnation): the key was copied or the machine
// re-imaged. A security event for the operator, not a membership change.
struct FingerprintDrift {
  NodeId id;
  uint64_t incarnation = 0;
  uint64_t old_digest = 0;
  uint64_t new_digest = 0;
};

struct SwimOutput {
  std::vector<Datagram> send;
  std::vector<MemberEvent> events;
  std::vector<FingerprintDrift> drifts;
  std::vector<IdentityConflict> conflicts;
  std::vector<IdentityRejection> rejections;  // datagrams the identity rules refused
};

struct SwimCounters {
  uint64_t probes = 0;
  uint64_t probes_failed = 0;
  uint64_t ping_reqs_sent = 0;
  uint64_t refutations = 0;
  uint64_t stale_view_repairs = 0;     // our alive sent back to a stale accuser
  uint64_t suspicion_verify_pings = 0; // pings to a suspect before its suspicion expires
  uint64_t suspicions_started = 0;
  uint64_t confirmations = 0;
  uint64_t declared_failed = 0;        // by our own suspicion timeout
  uint64_t broadcast_overflow = 0;
  uint64_t table_overflow = 0;
  uint64_t push_pulls_sent = 0;
  uint64_t fingerprint_drifts = 0;
  uint64_t announces_changed = 0;
  uint64_t announces_refreshed = 0;      // unchanged, sent (incl. the periodic ones)
  uint64_t announces_throttled = 0;      // unchanged, within reannounce_interval
  uint64_t alt_endpoint_pings = 0;
  uint64_t identity_conflicts = 0;
  uint64_t identity_rejections = 0;      // datagrams refused by the identity rules
  uint64_t signatures_verified = 0;
  std::array<uint64_t, kSwimDropReasons> dropped{};
};

// Why we hold a member suspect: operator evidence for the verdict logs
// and `meshctl why` (SwimService), never an input to behaviour.
struct SuspicionEvidence {
  uint64_t incarnation = 0;
  int64_t since_us = 0;              // when we began suspecting (monotonic)
  int64_t deadline_us = 0;           // when it expires into failed, as of now
  NodeId accuser;                    // the first suspector (us: our own probe failed)
  std::vector<NodeId> confirmers;    // independent confirmations after the accuser
  uint32_t expected_confirmations = 0;
  bool our_probe_failed = false;     // a probe of ours got no ack while it was suspect
  uint32_t indirect_probes = 0;      // helpers asked (ping-req) in that probe
  uint32_t nacks_received = 0;       // helpers that answered "could not reach it either"
  uint32_t verify_pings_left = 0;    // suspicion_verify_pings still to send
};

class SwimMember {
 public:
  // The protocol shape (core/env/protocol.h).
  using Output = SwimOutput;
  using Drop = SwimDrop;
  static constexpr size_t kDropReasons = kSwimDropReasons;

  // signer: signs our alive/left updates (unset: zero signatures).
  // verifier: the identity rules' oracle (swim_admission.h; unset: no rules).
  // buggify: fault points (simulator only; null: none).
  SwimMember(const SwimConfig& config, const SwimIdentity& self, std::vector<Address> seeds,
             RandomStream rng, int64_t now_us, UpdateSigner signer = {}, SwimVerifier verifier = {},
             Buggify* buggify = nullptr);

  // Does the work due at now_us; afterwards next_deadline_us() > now_us
  // unless finished() (asserted).
  void on_tick(int64_t now_us, SwimOutput& out);
  // Decodes once, applies the identity rules, then acts. Returns why the
  // datagram was dropped (SwimDrop::none: accepted); counted in counters().
  SwimDrop on_datagram(int64_t now_us, const Address& from, std::span<const uint8_t> bytes,
                       SwimOutput& out);
  // Earliest time on_tick() has work: every timer (probe, indirect phase,
  // gossip, push-pull, join, re-announce, suspicions, verify pings, relays,
  // the leave drain limit).
  int64_t next_deadline_us() const;
  // Left and drained (or kLeaveDrainMaxUs passed): nothing more to do.
  bool finished() const { return leaving_ && (leave_expired_ || leave_drained()); }
  // Graceful leave: gossip `left`, stop probing. Idempotent.
  void leave(int64_t now_us, SwimOutput& out);
  bool leaving() const { return leaving_; }
  // True once our `left` update has been transmitted retransmit-limit times.
  bool leave_drained() const;
  // Re-announce ourselves with this content (see the header comment):
  // changed → new incarnation, gossiped now; unchanged → gossiped again if
  // reannounce_interval has passed since the last announcement, else
  // throttled. Not while leaving or displaced.
  AnnounceResult announce(int64_t now_us, const SwimAnnouncement& content, SwimOutput& out);
  // We yielded our identity to a twin and take no further part.
  bool displaced() const { return displaced_.has_value(); }
  const std::optional<IdentityConflict>& displaced_by() const { return displaced_; }
  const SwimIdentity& self() const { return self_; }

  const MemberTable& table() const { return table_; }
  const SwimConfig& config() const { return config_; }
  const NodeId& id() const { return self_.id; }
  uint64_t incarnation() const { return self_.incarnation; }
  uint32_t health() const { return health_; }
  bool joined() const { return joined_; }
  size_t broadcasts_pending() const { return broadcasts_.size(); }
  const SwimCounters& counters() const { return counters_; }
  // Current suspicion deadline of a member (tests, status); nullopt if none.
  std::optional<int64_t> suspicion_deadline_us(const NodeId& id) const;
  // The evidence behind our suspicion of `id`; nullopt if we hold none.
  std::optional<SuspicionEvidence> suspicion_evidence(const NodeId& id) const;
  // Live reconfiguration (meshd's reload): the timing and gossip knobs take
  // effect from each timer's next firing; `seeds` replaces the seed list
  // and every seed not in the old list gets a join push-pull at once (a
  // node added to the mesh is contacted without a restart). members_max
  // and identity_policy cannot change live (asserted: the caller refuses).
  void reconfigure(const SwimConfig& config, std::vector<Address> seeds, int64_t now_us, SwimOutput& out);

 private:
  struct Probe {
    NodeId target;
    Address address;
    AltEndpoints alt_endpoints;
    uint64_t seq = 0;
    int64_t start_us = 0;
    int64_t indirect_at_us = 0;
    int64_t end_us = 0;
    bool indirect_sent = false;
    uint32_t nacks_expected = 0;
    uint32_t nacks_received = 0;
  };
  struct Relay {
    uint64_t local_seq = 0;
    uint64_t origin_seq = 0;
    Address requester;
    int64_t deadline_us = 0;
  };
  struct Suspicion {
    uint64_t incarnation = 0;
    int64_t start_us = 0;
    SuspicionBounds bounds;
    std::vector<NodeId> confirmers;  // distinct origins, first = initial; <= K + 1
    int64_t deadline_us = 0;
    uint32_t verify_pings_left = 0;  // suspicion_verify_pings not yet sent
    int64_t last_verify_ping_us = INT64_MIN / 2;
    bool final_ping_sent = false;    // the expiry was deferred once for a last ping
    // Evidence only (suspicion_evidence()): our own failed probe of it.
    bool our_probe_failed = false;
    uint32_t indirect_probes = 0;
    uint32_t nacks_received = 0;
  };
  struct Broadcast {
    MemberUpdate update;
    uint32_t transmits = 0;
    uint64_t order = 0;  // insertion counter: newer first among equals
  };

  // Sending.
  // Sends m with piggybacked broadcasts; `first` (in order) rides ahead of
  // the queue (a probe of a suspect carries its suspicion: buddy system;
  // a stale accuser gets our alive); without `piggyback`, nothing else.
  void send(const Address& to, SwimMessage m, SwimOutput& out,
            std::span<const MemberUpdate> first = {}, bool piggyback = true);
  void send_full_state(const Address& to, uint8_t flags, SwimOutput& out);
  void enqueue(const MemberUpdate& u);
  // State.
  void merge(const MemberUpdate& u, int64_t now_us, SwimOutput& out);
  // Our own alive update at our current incarnation (signed).
  const MemberUpdate& self_alive() const { return self_update_; }
  // Re-signs self_update_ after self_ changed.
  void update_self();
  void sign(MemberUpdate& u) const;
  // Takes a new incarnation and gossips our alive.
  void reassert(uint64_t incarnation, int64_t now_us);
  void refute(const MemberUpdate& u, int64_t now_us, SwimOutput& out);
  // An alive update about us from another endpoint: IdentityPolicy.
  void on_twin(const MemberUpdate& u, int64_t now_us, SwimOutput& out);
  void tick_reannounce(int64_t now_us, SwimOutput& out);
  void start_suspicion(const MemberUpdate& u, int64_t now_us);
  void confirm_suspicion(Suspicion& s, const NodeId& origin, const MemberUpdate& u);
  void emit(std::optional<MemberStatus> before, const Member* after, int64_t now_us,
            SwimOutput& out);
  void adjust_health(int delta);
  int64_t scaled(int64_t us) const { return us * (health_ + 1); }
  // Ticking.
  void tick_probe(int64_t now_us, SwimOutput& out);
  void start_probe(int64_t now_us, SwimOutput& out);
  void finish_probe(bool acked, int64_t now_us, SwimOutput& out);
  void tick_suspicions(int64_t now_us, SwimOutput& out);
  void tick_relays(int64_t now_us, SwimOutput& out);
  void tick_gossip(int64_t now_us, SwimOutput& out);
  // One gossip message to each of gossip_fanout random live members.
  void gossip_to_random_members(SwimOutput& out);
  void tick_push_pull(int64_t now_us, SwimOutput& out);
  void tick_join(int64_t now_us, SwimOutput& out);
  void reap(int64_t now_us, SwimOutput& out);
  // Receiving.
  // The identity rules (swim_admission.h); false: dropped with `drop` set.
  bool admitted(const Address& from, const SwimMessage& m, SwimOutput& out, SwimDrop& drop);
  SwimDrop count_drop(SwimDrop drop);
  // A fault point fires now (never without a Buggify).
  bool fault(BuggifyPoint point) { return buggify_ != nullptr && buggify_->fire(point); }
  void handle_ack(const SwimMessage& m, int64_t now_us, SwimOutput& out, SwimDrop& drop);
  void handle_ping_req(const Address& from, const SwimMessage& m, int64_t now_us, SwimOutput& out,
                       SwimDrop& drop);
  // Helpers.
  std::optional<NodeId> next_probe_target();
  std::vector<const Member*> random_members(size_t count, const NodeId* exclude,
                                            bool failed_instead);
  size_t active_count() const;
  // Our suspicion of `id` as an update (origin = us), if we hold it suspect.
  // True if `s` expires now (after the health stretch and the last ping).
  bool suspicion_due(Suspicion& s, int64_t now_us);
  // When the next suspicion_verify_pings ping to this suspect is due (INT64_MAX: none left).
  int64_t verify_ping_at_us(const Suspicion& s) const;
  // A ping to a suspect carrying our suspicion of it; its ack matches no probe.
  void verify_ping(const NodeId& id, SwimOutput& out);
  std::optional<MemberUpdate> suspicion_of(const NodeId& id) const;

  SwimConfig config_;
  SwimIdentity self_;
  UpdateSigner signer_;
  SwimVerifier verifier_;
  Buggify* buggify_ = nullptr;
  MemberUpdate self_update_;
  int64_t last_announce_us_ = 0;
  int64_t next_reannounce_us_ = 0;
  std::optional<IdentityConflict> displaced_;
  std::optional<std::pair<Address, uint64_t>> last_twin_;  // reported once each
  std::vector<Address> seeds_;
  RandomStream rng_;
  MemberTable table_;
  uint32_t health_ = 0;
  bool joined_ = false;
  bool leaving_ = false;
  int64_t leave_deadline_us_ = 0;  // leaving_: finished by then, drained or not
  bool leave_expired_ = false;
  // Set by refute() when a merged update accuses an incarnation of ours
  // we already refuted; on_datagram() answers its sender (stale_view_repair).
  bool stale_accusation_ = false;
  uint64_t next_seq_ = 1;
  uint64_t next_order_ = 1;
  std::optional<Probe> probe_;
  int64_t next_probe_us_ = 0;
  int64_t next_gossip_us_ = 0;
  int64_t next_push_pull_us_ = 0;
  int64_t next_join_us_ = 0;
  std::vector<NodeId> probe_order_;
  size_t probe_index_ = 0;
  std::vector<Relay> relays_;
  std::map<NodeId, Suspicion> suspicions_;
  std::deque<uint64_t> verify_seqs_;  // <= kVerifySeqsMax
  std::vector<Broadcast> broadcasts_;
  SwimCounters counters_;
};

}  // namespace meshd::membership
