#include "core/membership/swim_service.h"

#include <fmt/format.h>

namespace meshd::membership {

std::string_view swim_service_drop_name(size_t reason) {
  if (reason == kSwimServiceDropSenderMismatch) return "sender_mismatch";
  if (reason == kSwimServiceDropIdentityRejected) return "identity_rejected";
  if (reason == kSwimServiceDropBadSignature) return "bad_signature";
  if (reason < kSwimDropReasons) return swim_drop_name(static_cast<SwimDrop>(reason));
  return "invalid";
}

SwimService::SwimService(Env& env, const SwimConfig& config, const SwimIdentity& self,
                         std::vector<Address> seeds, IdentityRules rules)
    : env_(env),
      swim_(config, self, std::move(seeds), env.random.stream("membership", "swim"),
            env.clock.monotonic_us(), rules.sign),
      self_(self),
      rules_(std::move(rules)),
      wake_(env.runtime),
      sent_(env.metrics.counter("meshd_swim_sent_total", "SWIM datagrams sent")),
      send_failed_(env.metrics.counter("meshd_swim_send_failed_total", "SWIM datagrams the network refused")),
      received_(env.metrics.counter("meshd_swim_received_total", "SWIM datagrams accepted")),
      broadcast_overflow_(env.metrics.counter("meshd_swim_broadcast_overflow_total",
                                              "gossip updates dropped from a full broadcast queue")),
      table_overflow_(env.metrics.counter("meshd_swim_table_overflow_total",
                                          "updates for new members rejected by a full member table")),
      security_events_(env.metrics.counter("meshd_security_events_total{kind=\"identity_claim_rejected\"}",
                                           "structured security events")),
      fingerprint_drifts_(env.metrics.counter("meshd_security_events_total{kind=\"fingerprint_drift\"}",
                                              "structured security events")),
      identity_conflicts_(env.metrics.counter("meshd_security_events_total{kind=\"identity_conflict\"}",
                                              "structured security events")),
      health_(env.metrics.gauge("meshd_swim_health", "Lifeguard local health multiplier (0 = healthy)")),
      members_active_(env.metrics.gauge("meshd_swim_members_active", "members alive or suspect, self included")),
      incarnation_(env.metrics.gauge("meshd_swim_incarnation", "our SWIM incarnation")) {
  for (size_t r = 1; r < kSwimServiceDropReasons; ++r) {
    dropped_[r] = &env.metrics.counter(
        fmt::format("meshd_swim_dropped_total{{reason=\"{}\"}}", swim_service_drop_name(r)),
        "SWIM datagrams dropped, by reason");
  }
  for (size_t k = 0; k < events_.size(); ++k) {
    events_[k] = &env.metrics.counter(
        fmt::format("meshd_swim_events_total{{kind=\"{}\"}}", member_event_name(static_cast<MemberEventKind>(k))),
        "membership events, by kind");
  }
  update_gauges();
}

SwimService::~SwimService() { stop(); }

Status SwimService::start() {
  MESHD_ASSERT(!fiber_);
  auto id = env_.runtime.spawn("swim", [this] { run(); });
  if (!id) return id.status();
  fiber_ = *id;
  return Status::ok();
}

void SwimService::stop() {
  stopping_ = true;
  if (fiber_ && !finished_ && env_.runtime.alive(*fiber_)) {
    if (!env_.runtime.in_fiber() || env_.runtime.current_fiber() != *fiber_) env_.runtime.cancel(*fiber_);
  }
  wake_.set();
}

void SwimService::leave(std::function<void()> on_done) {
  if (swim_.leaving() || stopping_) return;
  on_left_ = std::move(on_done);
  const int64_t now = env_.clock.monotonic_us();
  leave_deadline_us_ = now + kLeaveDrainMaxUs;
  SwimOutput out;
  swim_.leave(now, out);
  flush(out);
  env_.log.info("member_leaving", {{"incarnation", swim_.incarnation()}});
  wake_.set();
}

void SwimService::run() {
  while (!stopping_) {
    int64_t deadline = swim_.next_tick_us();
    if (swim_.leaving()) deadline = std::min(deadline, leave_deadline_us_);
    Status s = wake_.wait(deadline);
    if (s.code() == Errc::cancelled || stopping_) return;
    wake_.reset();
    const int64_t now = env_.clock.monotonic_us();
    if (swim_.leaving() && (swim_.leave_drained() || now >= leave_deadline_us_)) {
      env_.log.info("member_left_self", {{"drained", swim_.leave_drained()},
                                         {"incarnation", swim_.incarnation()}});
      stopping_ = true;
      finished_ = true;
      if (auto done = std::move(on_left_)) done();
      return;
    }
    if (now < swim_.next_tick_us()) continue;
    SwimOutput out;
    swim_.on_tick(now, out);
    flush(out);
    // Never spin: a tick moves next_tick past the `now` it was given. (Not
    // past the clock: real time moves on while the tick runs, found by the
    // real-I/O membership test.)
    MESHD_ASSERT_MSG(now < swim_.next_tick_us(), "swim tick did not advance");
  }
}

void SwimService::reject(size_t reason, const Address& from, const NodeId& claimed, std::string_view detail) {
  ++*dropped_[reason];
  ++identity_rejections_;
  ++security_events_;
  const int64_t now = env_.clock.monotonic_us();
  if (now - last_security_log_us_ < kSecurityLogIntervalUs) {
    ++security_suppressed_;
    return;
  }
  last_security_log_us_ = now;
  env_.log.warn("security", {{"kind", "identity_claim_rejected"},
                             {"reason", swim_service_drop_name(reason)},
                             {"detail", detail},
                             {"from", from.to_string()},
                             {"claimed", claimed.to_hex()},
                             {"suppressed", security_suppressed_}});
  security_suppressed_ = 0;
}

bool SwimService::admit_update(const Address& from, const NodeId& sender, const MemberUpdate& u) {
  const Member* known = swim_.table().find(u.id);
  if (rules_.derive_id && u.id != sender) {
    // The sender itself was authenticated by the transport and may carry a
    // new key of its own (a rotation); about others only the bound key, or
    // for a node new to us the key it derives from.
    const bool bound = known != nullptr && known->has_identity;
    if (bound ? known->public_key != u.public_key : rules_.derive_id(u.public_key) != u.id) {
      reject(kSwimServiceDropIdentityRejected, from, u.id,
             bound ? fmt::format("{} update with a key other than the bound one", member_status_name(u.status))
                   : fmt::format("{} update for an unknown node whose id is not its key's", member_status_name(u.status)));
      return false;
    }
  }
  if (!rules_.verify) return true;
  if (known != nullptr) {
    // Already verified when it entered the table: the same signed fact.
    // Every signed field must match, not only the signature: else an insider
    // could relay a member's signed update with its endpoint swapped
    // (found by the membership attacker, docs/testbed-power.md).
    if (u.status == MemberStatus::alive && known->has_identity && known->identity_incarnation == u.incarnation &&
        known->signature == u.signature && known->public_key == u.public_key && known->address == u.address &&
        compare_endpoints(known->alt_endpoints, u.alt_endpoints) == 0 && known->instance == u.instance &&
        known->hostname == u.hostname && known->fingerprint_digest == u.fingerprint_digest &&
        known->capability_digest == u.capability_digest) {
      return true;
    }
    if (u.status == MemberStatus::left && known->status == MemberStatus::left &&
        known->incarnation == u.incarnation && known->left_signature == u.signature &&
        known->left_key == u.public_key) {
      return true;
    }
  }
  ++signatures_verified_;
  if (!rules_.verify(u.public_key, update_signing_bytes(u), u.signature)) {
    reject(kSwimServiceDropBadSignature, from, u.id,
           fmt::format("{} update whose signature does not verify", member_status_name(u.status)));
    return false;
  }
  return true;
}

bool SwimService::admit(const Address& from, std::span<const uint8_t> bytes) {
  if (!rules_.peer_id && !rules_.derive_id && !rules_.verify) return true;
  SwimDrop codec = SwimDrop::none;
  auto m = decode_swim(bytes, &codec);
  if (!m) return true;  // the state machine drops and counts it by reason
  if (rules_.peer_id) {
    auto authenticated = rules_.peer_id(from);
    if (!authenticated || *authenticated != m->sender) {
      reject(kSwimServiceDropSenderMismatch, from, m->sender,
             authenticated ? "sender differs from the authenticated peer " + authenticated->to_hex()
                           : std::string("no authenticated peer at this address"));
      return false;
    }
  }
  for (const MemberUpdate& u : m->updates) {
    if (u.status != MemberStatus::alive && u.status != MemberStatus::left) continue;
    if (!admit_update(from, m->sender, u)) return false;
  }
  return true;
}

void SwimService::on_datagram(const Address& from, std::span<const uint8_t> bytes) {
  if (stopping_) return;
  if (!admit(from, bytes)) return;
  SwimOutput out;
  SwimDrop drop = swim_.on_datagram(from, bytes, env_.clock.monotonic_us(), out);
  if (drop != SwimDrop::none) {
    ++*dropped_[static_cast<size_t>(drop)];
  } else {
    ++received_;
  }
  flush(out);
  wake_.set();  // the next tick may have moved earlier
}

void SwimService::flush(SwimOutput& out) {
  for (const SwimDatagram& d : out.send) {
    if (env_.network.send(d.to, d.bytes)) {
      ++sent_;
    } else {
      ++send_failed_;
    }
    if (send_observer_) send_observer_(d);
  }
  for (const FingerprintDrift& d : out.drifts) {
    ++fingerprint_drifts_;
    const Member* m = swim_.table().find(d.id);
    env_.log.warn("security", {{"kind", "fingerprint_drift"},
                               {"id", d.id.to_hex()},
                               {"hostname", m != nullptr ? m->hostname : std::string()},
                               {"incarnation", d.incarnation},
                               {"old_fingerprint", fmt::format("{:016x}", d.old_digest)},
                               {"new_fingerprint", fmt::format("{:016x}", d.new_digest)}});
  }
  for (const IdentityConflict& c : out.conflicts) {
    ++identity_conflicts_;
    nlohmann::json fields = {{"kind", "identity_conflict"},
                             {"id", swim_.id().to_hex()},
                             {"policy", identity_policy_name(swim_.config().identity_policy)},
                             {"action", conflict_action_name(c.action)},
                             {"other_address", c.other_address.to_string()},
                             {"other_instance", c.other_instance},
                             {"other_incarnation", c.other_incarnation},
                             {"our_instance", self_.instance}};
    if (c.action == IdentityConflict::Action::yielded) {
      env_.log.error("security", fields);
      if (auto handler = std::move(displaced_handler_)) handler(c);
    } else {
      env_.log.warn("security", fields);
    }
  }
  for (const MemberEvent& e : out.events) {
    ++*events_[static_cast<size_t>(e.kind)];
    const Member* m = swim_.table().find(e.id);
    nlohmann::json fields = {{"id", e.id.to_hex()}, {"incarnation", e.incarnation}};
    if (m != nullptr && m->has_identity) {
      fields["hostname"] = m->hostname;
      fields["address"] = m->address.to_string();
    }
    env_.log.info(fmt::format("member_{}", member_event_name(e.kind)), fields);
    if (observer_) observer_(e);
  }
  update_gauges();
}

void SwimService::update_gauges() {
  const SwimCounters& c = swim_.counters();
  broadcast_overflow_ = c.broadcast_overflow;
  table_overflow_ = c.table_overflow;
  health_ = swim_.health();
  members_active_ = static_cast<int64_t>(swim_.table().count_active());
  incarnation_ = static_cast<int64_t>(swim_.incarnation());
}

AnnounceResult SwimService::announce(const SwimAnnouncement& content) {
  if (stopping_) return AnnounceResult::not_running;
  SwimOutput out;
  const AnnounceResult r = swim_.announce(content, env_.clock.monotonic_us(), out);
  flush(out);
  wake_.set();
  return r;
}

std::optional<NodeId> SwimService::resolve_hostname(std::string_view hostname) const {
  return swim_.table().resolve_hostname(hostname);
}

nlohmann::json SwimService::status() const {
  const int64_t now = env_.clock.monotonic_us();
  nlohmann::json members = nlohmann::json::array();
  for (const auto& [id, m] : swim_.table().members()) {
    if (id == swim_.id()) continue;
    nlohmann::json endpoints = nlohmann::json::array();
    if (m.has_identity) {
      endpoints.push_back(m.address.to_string());
      for (const Address& a : m.alt_endpoints.view()) endpoints.push_back(a.to_string());
    }
    members.push_back({{"id", id.to_hex()},
                       {"hostname", m.has_identity ? m.hostname : ""},
                       {"address", m.has_identity ? m.address.to_string() : ""},
                       {"endpoints", endpoints},
                       {"instance", m.instance},
                       {"capability_digest", fmt::format("{:016x}", m.capability_digest)},
                       {"status", member_status_name(m.status)},
                       {"incarnation", m.incarnation},
                       {"last_heard_ms_ago", m.last_heard_us < 0 ? nlohmann::json(nullptr)
                                                                 : nlohmann::json((now - m.last_heard_us) / 1000)}});
  }
  const SwimCounters& c = swim_.counters();
  nlohmann::json dropped = nlohmann::json::object();
  for (size_t r = 1; r < kSwimServiceDropReasons; ++r) {
    if (*dropped_[r] != 0) dropped[std::string(swim_service_drop_name(r))] = *dropped_[r];
  }
  const SwimIdentity& me = swim_.self();
  nlohmann::json my_endpoints = nlohmann::json::array({me.address.to_string()});
  for (const Address& a : me.alt_endpoints.view()) my_endpoints.push_back(a.to_string());
  nlohmann::json displaced_by = nullptr;
  if (const auto& d = swim_.displaced_by()) {
    displaced_by = {{"address", d->other_address.to_string()}, {"instance", d->other_instance},
                    {"incarnation", d->other_incarnation}};
  }
  return {{"self", {{"id", swim_.id().to_hex()},
                    {"hostname", me.hostname},
                    {"address", me.address.to_string()},
                    {"endpoints", my_endpoints},
                    {"instance", me.instance},
                    {"capability_digest", fmt::format("{:016x}", me.capability_digest)},
                    {"identity_policy", identity_policy_name(swim_.config().identity_policy)},
                    {"incarnation", swim_.incarnation()},
                    {"health", swim_.health()},
                    {"joined", swim_.joined()},
                    {"leaving", swim_.leaving()},
                    {"displaced_by", displaced_by}}},
          {"members", members},
          {"counters", {{"sent", sent_},
                        {"send_failed", send_failed_},
                        {"received", received_},
                        {"dropped", dropped},
                        {"probes", c.probes},
                        {"probes_failed", c.probes_failed},
                        {"ping_reqs_sent", c.ping_reqs_sent},
                        {"refutations", c.refutations},
                        {"stale_view_repairs", c.stale_view_repairs},
                        {"suspicion_verify_pings", c.suspicion_verify_pings},
                        {"suspicions_started", c.suspicions_started},
                        {"declared_failed", c.declared_failed},
                        {"push_pulls_sent", c.push_pulls_sent},
                        {"broadcast_overflow", c.broadcast_overflow},
                        {"table_overflow", c.table_overflow},
                        {"broadcasts_pending", swim_.broadcasts_pending()},
                        {"identity_rejections", identity_rejections_},
                        {"signatures_verified", signatures_verified_},
                        {"identity_conflicts", c.identity_conflicts},
                        {"announces_changed", c.announces_changed},
                        {"announces_refreshed", c.announces_refreshed},
                        {"announces_throttled", c.announces_throttled},
                        {"alt_endpoint_pings", c.alt_endpoint_pings}}}};
}

}  // namespace meshd::membership
