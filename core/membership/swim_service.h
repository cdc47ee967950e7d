// SwimService: runs a SwimMember (swim.h) on a node's Env — the production
// driver of SWIM + Lifeguard, under the one ProtocolDriver
// (core/env/protocol_driver.h): a fiber ("swim") sleeps until the member's
// next_deadline_us(), ticks it and sends what it produced; datagrams are
// fed in by the node's dispatcher (on_datagram, loop context or fiber) and
// handled at once.
//
// Identity rules (swim_admission.h; docs/membership.md, "Identity rules")
// are the member's: the service hands it the verifier half of
// IdentityRules and the signer. What the service adds is the operator's
// view of what the member decided:
// A datagram refused by the rules (SwimOutput::rejections) raises a
// structured security event (warn, event "security", kind
// "identity_claim_rejected"; at most one log line per
// kSecurityLogIntervalUs, the rest counted in "suppressed") and counts
// meshd_swim_dropped_total{reason=sender_mismatch|identity_rejected|bad_signature}.
// Without rules (plaintext mode) nothing is checked: there is no
// authenticated peer to compare with.
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
// meshd_swim_dropped_total{reason} for every SwimDrop reason,
// meshd_swim_events_total{kind}, meshd_swim_{broadcast,table}_overflow_total;
// gauges meshd_swim_health, meshd_swim_members_active, meshd_swim_incarnation.
// The series tests read are typed keys (namespace metric, below). Member
// events are logged at info (member_joined, member_alive, member_suspect,
// member_failed, member_left, member_reaped); nothing is logged per packet.
//
// Lifecycle: start() spawns the fiber; leave(on_done) begins a graceful
// leave (SwimMember::leave) and the driver keeps ticking until the member
// is finished() (drained, or kLeaveDrainMaxUs passed), then stops and
// calls on_done (from the fiber); stop() stops at once. Single-threaded;
// not copyable.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <optional>
#include <string_view>

#include "core/env/env.h"
#include "core/env/protocol_driver.h"
#include "core/membership/swim.h"

namespace meshd::membership {

// At most one security log line per this interval (the counter counts all).
constexpr int64_t kSecurityLogIntervalUs = kMicrosPerSecond;

namespace metric {
inline constexpr CounterKey kSwimSent{"meshd_swim_sent_total", "SWIM datagrams sent"};
inline constexpr CounterKey kSwimSendFailed{"meshd_swim_send_failed_total", "SWIM datagrams the network refused"};
inline constexpr CounterKey kSwimReceived{"meshd_swim_received_total", "SWIM datagrams accepted"};
inline constexpr CounterFamily<SwimDrop> kSwimDropped{"meshd_swim_dropped_total", "reason", swim_drop_name,
                                                      "SWIM datagrams dropped, by reason"};
inline constexpr CounterFamily<MemberEventKind> kSwimEvents{"meshd_swim_events_total", "kind", member_event_name,
                                                            "membership events, by kind"};
inline constexpr CounterKey kSwimBroadcastOverflow{"meshd_swim_broadcast_overflow_total",
                                                   "gossip updates dropped from a full broadcast queue"};
inline constexpr CounterKey kSwimTableOverflow{"meshd_swim_table_overflow_total",
                                               "updates for new members rejected by a full member table"};
// meshd_security_events_total{kind=...}: the security findings SWIM raises.
enum class SecurityEvent : uint8_t { identity_claim_rejected, fingerprint_drift, identity_conflict };
std::string_view security_event_name(SecurityEvent kind);
inline constexpr CounterFamily<SecurityEvent> kSecurityEvents{"meshd_security_events_total", "kind",
                                                              security_event_name, "structured security events"};
inline constexpr GaugeKey kSwimHealth{"meshd_swim_health", "Lifeguard local health multiplier (0 = healthy)"};
inline constexpr GaugeKey kSwimMembersActive{"meshd_swim_members_active", "members alive or suspect, self included"};
inline constexpr GaugeKey kSwimIncarnation{"meshd_swim_incarnation", "our SWIM incarnation"};
}  // namespace metric

// The member's verifier (swim_admission.h) and signer, from the node.
struct IdentityRules : SwimVerifier {
  // Signs our own updates (SwimMember's UpdateSigner). Unset: unsigned.
  UpdateSigner sign;
};

class SwimService {
 public:
  using EventObserver = std::function<void(const MemberEvent&)>;
  using SendObserver = std::function<void(const SwimDatagram&)>;

  SwimService(Env& env, const SwimConfig& config, const SwimIdentity& self, std::vector<Address> seeds,
              IdentityRules rules = {});
  SwimService(const SwimService&) = delete;
  SwimService& operator=(const SwimService&) = delete;

  Status start() { return driver_.start(); }
  // Stops at once (no leave). Idempotent.
  void stop() { driver_.stop(); }
  // Graceful: gossip `left`, stop once drained or after kLeaveDrainMaxUs;
  // on_done (may be empty) is then called once, from the service's fiber.
  // Idempotent: a second call only replaces nothing.
  void leave(std::function<void()> on_done);
  bool running() const { return driver_.running(); }
  bool leaving() const { return swim_.leaving(); }

  // A SWIM datagram (is_swim) from `from` (loop context or fiber).
  void on_datagram(const Address& from, std::span<const uint8_t> bytes) { driver_.on_datagram(from, bytes); }

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
  uint64_t dropped(SwimDrop reason) const { return driver_.dropped(reason); }
  uint64_t identity_rejections() const { return swim_.counters().identity_rejections; }

  // {"self": {id, hostname, address, incarnation, health, leaving},
  //  "members": [{id, hostname, address, status, incarnation, last_heard_ms_ago}],
  //  "counters": {...}}
  nlohmann::json status() const;

  // Live reconfiguration (SwimMember::reconfigure): knobs and seeds; the
  // caller (Node::reload) refuses members_max / identity_policy changes.
  void reconfigure(const SwimConfig& config, std::vector<Address> seeds);
  // Verdict evidence (swim_evidence.cpp): member_suspect and member_failed
  // log lines carry an "evidence" object — who accused (hostname and id),
  // whether our own probe failed and how many indirect probes were asked
  // and answered nack, the independent confirmations (and how many were
  // expected), how long the suspicion lasted and our local health. The
  // last verdict's evidence per member is kept (bounded by the member
  // table) for `meshctl why`: null if there is none.
  nlohmann::json verdict_evidence(const NodeId& id) const;

 private:
  // Adds e's evidence to its log fields and updates the record.
  void note_evidence(const MemberEvent& e, nlohmann::json& fields);
  // Refreshes the evidence of every member we still suspect (confirmations
  // arrive after the suspect event; the suspicion is gone by the failed one).
  void refresh_evidence();
  nlohmann::json evidence_json(const SuspicionEvidence& e) const;

  void flush(SwimOutput& out);
  void reject(const IdentityRejection& r);
  void update_gauges();

  Env& env_;
  SwimMember swim_;
  SwimIdentity self_;
  EventObserver observer_;
  SendObserver send_observer_;
  std::function<void(const IdentityConflict&)> displaced_handler_;
  std::function<void()> on_left_;
  int64_t last_security_log_us_ = INT64_MIN / 2;
  uint64_t security_suppressed_ = 0;
  uint64_t& broadcast_overflow_;
  uint64_t& table_overflow_;
  uint64_t& security_events_;
  uint64_t& fingerprint_drifts_;
  uint64_t& identity_conflicts_;
  int64_t& health_;
  int64_t& members_active_;
  int64_t& incarnation_;
  std::map<NodeId, SuspicionEvidence> suspected_;   // members we suspect: their latest evidence
  std::map<NodeId, nlohmann::json> verdicts_;        // last suspect/failed verdict per member (<= table)
  std::array<uint64_t*, 6> events_{};  // by MemberEventKind
  ProtocolDriver<SwimMember> driver_;  // last: its fiber uses every member above
};

}  // namespace meshd::membership
