// SwimService: runs a SwimMember (swim.h) on a node's Env — the production
// driver of SWIM + Lifeguard, shaped like LivenessService.
//
// One fiber ("swim") sleeps until the member's next_tick_us() or until the
// wake Event (a datagram or leave() may have moved the next tick earlier),
// ticks it and sends what it produced. Datagrams are fed in by the node's
// dispatcher (on_datagram, loop context) and handled at once.
//
// Identity rules (docs/membership.md, "Identity rules"), enforced before
// the state machine sees a datagram, when the node supplies them:
//  * sender: the message's `sender` NodeId must equal the NodeId the
//    transport authenticated for the source address (IdentityRules::
//    peer_id); otherwise the datagram is dropped (reason sender_mismatch).
//  * alive claims: an `alive` update about node X from a sender other than
//    X is accepted only if its public key equals the key already bound to
//    X in our table, or X has no identity with us yet and X is the NodeId
//    derived from that key (IdentityRules::derive_id); otherwise the whole
//    datagram is dropped (reason identity_rejected). An honest node never
//    sends such an update, so dropping the datagram loses nothing honest.
//    The same holds for `left` updates, which carry the leaver's key.
//  * signatures: alive and left updates must carry a valid signature by
//    the key they name (IdentityRules::verify) — so no relay can forge,
//    alter or replay-with-changes a node's announcement or leave; a bad
//    one drops the datagram (reason bad_signature). An update identical to
//    the one already in the table (same incarnation, same signature) was
//    verified when it got there and is not verified again.
// All three raise a structured security event (warn, event "security", kind
// "identity_claim_rejected"; at most one log line per kSecurityLogIntervalUs,
// the rest counted in "suppressed") and count
// meshd_swim_dropped_total{reason=...}. Without rules (plaintext mode)
// nothing is checked: there is no authenticated peer to compare with.
// A known key announced with a different host-fingerprint digest at a
// higher incarnation (SwimOutput::drifts) is logged at warn (event
// "security", kind "fingerprint_drift", never rate-limited: it is rare and
// each one matters) and counted in
// meshd_security_events_total{kind="fingerprint_drift"}; the member stays.
//
// A twin (our identity announced from another endpoint; swim.h) is logged
// at warn, or error when we yield (event "security", kind
// "identity_conflict", with the policy and the action) and counted in
// meshd_security_events_total{kind="identity_conflict"}.
//
// Observability: counters meshd_swim_{sent,send_failed,received}_total,
// meshd_swim_dropped_total{reason} for every SwimDrop reason plus the two
// above, meshd_swim_events_total{kind}, meshd_swim_{broadcast,table}_overflow_total;
// gauges meshd_swim_health, meshd_swim_members_active, meshd_swim_incarnation.
// Member events are logged at info (member_joined, member_alive,
// member_suspect, member_failed, member_left, member_reaped); nothing is
// logged per packet.
//
// Lifecycle: start() spawns the fiber; leave(on_done) begins a graceful
// leave (SwimMember::leave), keeps ticking until leave_drained() or
// kLeaveDrainMaxUs have passed, then stops and calls on_done (from the
// fiber); stop() stops at once. Single-threaded; not copyable.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <string_view>

#include "core/env/env.h"
#include "core/membership/swim.h"

namespace meshd::membership {

// A graceful leave keeps gossiping `left` at most this long (the member
// normally drains in a few gossip intervals).
constexpr int64_t kLeaveDrainMaxUs = 5 * kMicrosPerSecond;
// At most one security log line per this interval (the counter counts all).
constexpr int64_t kSecurityLogIntervalUs = kMicrosPerSecond;

// Service-level drop reasons, numbered after the state machine's.
constexpr size_t kSwimServiceDropSenderMismatch = kSwimDropReasons;
constexpr size_t kSwimServiceDropIdentityRejected = kSwimDropReasons + 1;
constexpr size_t kSwimServiceDropBadSignature = kSwimDropReasons + 2;
constexpr size_t kSwimServiceDropReasons = kSwimDropReasons + 3;
std::string_view swim_service_drop_name(size_t reason);

struct IdentityRules {
  // The NodeId the transport authenticated for a source address, nullopt
  // if none. Unset: the sender is not checked.
  std::function<std::optional<NodeId>(const Address&)> peer_id;
  // The NodeId a public key derives to. Unset: alive claims not checked.
  std::function<NodeId(const PublicKeyBytes&)> derive_id;
  // Checks an Ed25519 signature. Unset: signatures are not checked.
  std::function<bool(const PublicKeyBytes&, std::span<const uint8_t>, const SignatureBytes&)> verify;
  // Signs our own updates (SwimMember's UpdateSigner). Unset: unsigned.
  UpdateSigner sign;
};

class SwimService {
 public:
  using EventObserver = std::function<void(const MemberEvent&)>;
  using SendObserver = std::function<void(const SwimDatagram&)>;

  SwimService(Env& env, const SwimConfig& config, const SwimIdentity& self, std::vector<Address> seeds,
              IdentityRules rules = {});
  ~SwimService();
  SwimService(const SwimService&) = delete;
  SwimService& operator=(const SwimService&) = delete;

  Status start();
  // Stops at once (no leave). Idempotent.
  void stop();
  // Graceful: gossip `left`, stop once drained or after kLeaveDrainMaxUs;
  // on_done (may be empty) is then called once, from the service's fiber.
  // Idempotent: a second call only replaces nothing.
  void leave(std::function<void()> on_done);
  bool running() const { return fiber_.has_value() && !finished_; }
  bool leaving() const { return swim_.leaving(); }

  // A SWIM datagram (is_swim) from `from` (loop context or fiber).
  void on_datagram(const Address& from, std::span<const uint8_t> bytes);

  // Re-announce with new content (SwimMember::announce: changed content
  // goes at once, unchanged at most once per reannounce_interval).
  AnnounceResult announce(const SwimAnnouncement& content);
  const SwimAnnouncement& announcement() const { return swim_.self(); }

  void set_observer(EventObserver observer) { observer_ = std::move(observer); }
  // Called once when we yield our identity to a twin (IdentityPolicy):
  // the owner should stand the node down. May be called from any context
  // the service runs in (defer heavy work).
  void set_displaced_handler(std::function<void(const IdentityConflict&)> handler) {
    displaced_handler_ = std::move(handler);
  }
  void set_send_observer(SendObserver observer) { send_observer_ = std::move(observer); }

  const SwimMember& member() const { return swim_; }
  // The live member (alive/suspect) with this hostname heard from most
  // recently; ties: higher incarnation, then lower NodeId (deterministic;
  // MemberTable::resolve_hostname). Two live NodeIds may share a hostname:
  // both stay in the table.
  std::optional<NodeId> resolve_hostname(std::string_view hostname) const;
  uint64_t dropped(size_t reason) const { return dropped_[reason] ? *dropped_[reason] : 0; }
  uint64_t identity_rejections() const { return identity_rejections_; }

  // {"self": {id, hostname, address, incarnation, health, leaving},
  //  "members": [{id, hostname, address, status, incarnation, last_heard_ms_ago}],
  //  "counters": {...}}
  nlohmann::json status() const;

 private:
  void run();
  void flush(SwimOutput& out);
  bool admit(const Address& from, std::span<const uint8_t> bytes);
  // Key binding and signature of an alive/left update; false: rejected.
  bool admit_update(const Address& from, const NodeId& sender, const MemberUpdate& u);
  void reject(size_t reason, const Address& from, const NodeId& claimed, std::string_view detail);
  void update_gauges();

  Env& env_;
  SwimMember swim_;
  SwimIdentity self_;
  IdentityRules rules_;
  EventObserver observer_;
  SendObserver send_observer_;
  std::function<void(const IdentityConflict&)> displaced_handler_;
  Event wake_;
  std::optional<Runtime::FiberId> fiber_;
  bool stopping_ = false;
  bool finished_ = false;
  std::function<void()> on_left_;
  int64_t leave_deadline_us_ = 0;
  int64_t last_security_log_us_ = INT64_MIN / 2;
  uint64_t security_suppressed_ = 0;
  uint64_t identity_rejections_ = 0;
  uint64_t& sent_;
  uint64_t& send_failed_;
  uint64_t& received_;
  uint64_t& broadcast_overflow_;
  uint64_t& table_overflow_;
  uint64_t& security_events_;
  uint64_t& fingerprint_drifts_;
  uint64_t& identity_conflicts_;
  uint64_t signatures_verified_ = 0;
  int64_t& health_;
  int64_t& members_active_;
  int64_t& incarnation_;
  std::array<uint64_t*, kSwimServiceDropReasons> dropped_{};
  std::array<uint64_t*, 6> events_{};  // by MemberEventKind
};

}  // namespace meshd::membership
