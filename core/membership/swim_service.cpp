#include "core/membership/swim_service.h"

#include <fmt/format.h>

namespace meshd::membership {

namespace metric {
std::string_view security_event_name(SecurityEvent kind) {
  switch (kind) {
    case SecurityEvent::identity_claim_rejected: return "identity_claim_rejected";
    case SecurityEvent::fingerprint_drift: return "fingerprint_drift";
    case SecurityEvent::identity_conflict: return "identity_conflict";
  }
  return "invalid";
}
}  // namespace metric

SwimService::SwimService(Env& env, const SwimConfig& config, const SwimIdentity& self,
                         std::vector<Address> seeds, IdentityRules rules)
    : env_(env),
      swim_(config, self, std::move(seeds), env.random.stream("membership", "swim"), env.clock.monotonic_us(),
            std::move(rules.sign), static_cast<SwimVerifier&&>(std::move(rules)), env.buggify),
      self_(self),
      broadcast_overflow_(env.metrics.counter(metric::kSwimBroadcastOverflow)),
      table_overflow_(env.metrics.counter(metric::kSwimTableOverflow)),
      security_events_(env.metrics.counter(metric::kSecurityEvents, metric::SecurityEvent::identity_claim_rejected)),
      fingerprint_drifts_(env.metrics.counter(metric::kSecurityEvents, metric::SecurityEvent::fingerprint_drift)),
      identity_conflicts_(env.metrics.counter(metric::kSecurityEvents, metric::SecurityEvent::identity_conflict)),
      health_(env.metrics.gauge(metric::kSwimHealth)),
      members_active_(env.metrics.gauge(metric::kSwimMembersActive)),
      incarnation_(env.metrics.gauge(metric::kSwimIncarnation)),
      driver_(env, swim_, ProtocolDriverOptions{.fiber_name = "swim", .metric_prefix = "meshd_swim", .noun = "SWIM",
                                                .late_wake = std::nullopt, .late_wake_max_us = 0},
              [this](SwimOutput& out) { flush(out); },
              [this] {
                env_.log.info("member_left_self", {{"drained", swim_.leave_drained()},
                                                   {"incarnation", swim_.incarnation()}});
                if (auto done = std::move(on_left_)) done();
              }) {
  for (size_t k = 0; k < events_.size(); ++k) {
    events_[k] = &env.metrics.counter(metric::kSwimEvents, static_cast<MemberEventKind>(k));
  }
  MESHD_ASSERT(env.metrics.has(metric::kSwimSent.series) && env.metrics.has(metric::kSwimReceived.series));
  update_gauges();
}

void SwimService::leave(std::function<void()> on_done) {
  if (swim_.leaving() || driver_.stopping()) return;
  on_left_ = std::move(on_done);
  driver_.input([&](int64_t now_us, SwimOutput& out) { swim_.leave(now_us, out); });
  MESHD_ASSERT(swim_.leaving() || swim_.displaced());
  env_.log.info("member_leaving", {{"incarnation", swim_.incarnation()}});
}

void SwimService::reject(const IdentityRejection& r) {
  ++security_events_;
  const int64_t now = env_.clock.monotonic_us();
  if (now - last_security_log_us_ < kSecurityLogIntervalUs) {
    ++security_suppressed_;
    return;
  }
  last_security_log_us_ = now;
  env_.log.warn("security", {{"kind", "identity_claim_rejected"},
                             {"reason", swim_drop_name(r.reason)},
                             {"detail", r.detail},
                             {"from", r.from.to_string()},
                             {"claimed", r.claimed.to_hex()},
                             {"suppressed", security_suppressed_}});
  security_suppressed_ = 0;
}

void SwimService::flush(SwimOutput& out) {
  // The driver sent out.send already (and counted it).
  if (send_observer_) {
    for (const Datagram& d : out.send) send_observer_(d);
  }
  for (const IdentityRejection& r : out.rejections) reject(r);
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
    note_evidence(e, fields);
    env_.log.info(fmt::format("member_{}", member_event_name(e.kind)), fields);
    if (observer_) observer_(e);
  }
  refresh_evidence();
  update_gauges();
}

void SwimService::update_gauges() {
  const SwimCounters& c = swim_.counters();
  MESHD_ASSERT(swim_.table().count_active() <= swim_.config().members_max);
  broadcast_overflow_ = c.broadcast_overflow;
  table_overflow_ = c.table_overflow;
  health_ = swim_.health();
  members_active_ = static_cast<int64_t>(swim_.table().count_active());
  incarnation_ = static_cast<int64_t>(swim_.incarnation());
}

AnnounceResult SwimService::announce(const SwimAnnouncement& content) {
  if (driver_.stopping()) return AnnounceResult::not_running;
  return driver_.input([&](int64_t now_us, SwimOutput& out) { return swim_.announce(now_us, content, out); });
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
  for (size_t r = 1; r < kSwimDropReasons; ++r) {
    const auto reason = static_cast<SwimDrop>(r);
    if (driver_.dropped(reason) != 0) dropped[std::string(swim_drop_name(reason))] = driver_.dropped(reason);
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
          {"counters", {{"sent", driver_.sent()},
                        {"send_failed", driver_.send_failed()},
                        {"received", driver_.received()},
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
                        {"identity_rejections", c.identity_rejections},
                        {"signatures_verified", c.signatures_verified},
                        {"identity_conflicts", c.identity_conflicts},
                        {"announces_changed", c.announces_changed},
                        {"announces_refreshed", c.announces_refreshed},
                        {"announces_throttled", c.announces_throttled},
                        {"alt_endpoint_pings", c.alt_endpoint_pings}}}};
}

}  // namespace meshd::membership
