// SwimService's verdict evidence (swim_service.h, "Verdict evidence") and
// live reconfiguration. Evidence is what the operator reads to answer "why
// was this member declared suspect/failed": it never feeds back into
// behaviour, and it is bounded by the member table (one record per member).
#include "core/membership/swim_service.h"

namespace meshd::membership {

nlohmann::json SwimService::evidence_json(const SuspicionEvidence& e) const {
  const int64_t now = env_.clock.monotonic_us();
  auto who = [&](const NodeId& id) {
    nlohmann::json j = {{"id", id.to_hex()}};
    if (id == swim_.id()) {
      j["hostname"] = self_.hostname;
      j["self"] = true;
    } else if (const Member* m = swim_.table().find(id); m != nullptr && m->has_identity) {
      j["hostname"] = m->hostname;
    }
    return j;
  };
  nlohmann::json confirmers = nlohmann::json::array();
  for (const NodeId& c : e.confirmers) confirmers.push_back(who(c));
  nlohmann::json j = {{"accuser", who(e.accuser)},
                      {"incarnation", e.incarnation},
                      {"suspect_for_ms", (now - e.since_us) / kMicrosPerMilli},
                      {"confirmations", e.confirmers.size()},
                      {"expected_confirmations", e.expected_confirmations},
                      {"confirmers", std::move(confirmers)},
                      {"our_probe_failed", e.our_probe_failed},
                      {"local_health", swim_.health()}};
  if (e.our_probe_failed) {
    j["indirect_probes"] = e.indirect_probes;
    j["indirect_nacks"] = e.nacks_received;
  }
  return j;
}

void SwimService::note_evidence(const MemberEvent& e, nlohmann::json& fields) {
  if (e.kind == MemberEventKind::suspect) {
    if (auto ev = swim_.suspicion_evidence(e.id)) suspected_[e.id] = *ev;
  }
  const bool verdict = e.kind == MemberEventKind::suspect || e.kind == MemberEventKind::failed;
  auto it = suspected_.find(e.id);
  if (verdict && it != suspected_.end()) {
    fields["evidence"] = evidence_json(it->second);
  } else if (verdict) {
    // Learned from gossip without a suspicion of our own (e.g. a failed
    // update arrived first): say so rather than invent an accuser.
    fields["evidence"] = {{"source", "gossip"}, {"local_health", swim_.health()}};
  }
  if (verdict) {
    nlohmann::json record = fields;
    record["verdict"] = member_event_name(e.kind);
    record["at_monotonic_us"] = e.at_us;
    verdicts_[e.id] = std::move(record);
  } else if (e.kind == MemberEventKind::alive || e.kind == MemberEventKind::joined ||
             e.kind == MemberEventKind::left) {
    nlohmann::json record = fields;
    record["verdict"] = member_event_name(e.kind);
    record["at_monotonic_us"] = e.at_us;
    if (auto prev = verdicts_.find(e.id); prev != verdicts_.end() && prev->second.contains("evidence")) {
      record["previous_verdict"] = prev->second;  // e.g. a refuted suspicion
      record["previous_verdict"].erase("previous_verdict");
    }
    verdicts_[e.id] = std::move(record);
  } else if (e.kind == MemberEventKind::reaped) {
    verdicts_.erase(e.id);
  }
  if (e.kind != MemberEventKind::suspect) suspected_.erase(e.id);
  MESHD_ASSERT(verdicts_.size() <= swim_.table().size() + 1 && suspected_.size() <= swim_.table().size());
}

void SwimService::refresh_evidence() {
  for (auto& [id, ev] : suspected_) {
    if (auto now = swim_.suspicion_evidence(id)) ev = *now;
  }
}

nlohmann::json SwimService::verdict_evidence(const NodeId& id) const {
  nlohmann::json out;
  if (auto it = verdicts_.find(id); it != verdicts_.end()) out = it->second;
  if (auto it = suspected_.find(id); it != suspected_.end()) {
    if (auto live = swim_.suspicion_evidence(id)) {
      out["current_suspicion"] = evidence_json(*live);
      out["current_suspicion"]["expires_in_ms"] =
          (live->deadline_us - env_.clock.monotonic_us()) / kMicrosPerMilli;
    }
  }
  return out;
}

void SwimService::reconfigure(const SwimConfig& config, std::vector<Address> seeds) {
  if (driver_.stopping()) return;
  driver_.input([&](int64_t now_us, SwimOutput& out) { swim_.reconfigure(config, std::move(seeds), now_us, out); });
  env_.log.info("membership_reconfigured", {{"protocol_period_ms", config.protocol_period_us / kMicrosPerMilli},
                                            {"probe_timeout_ms", config.probe_timeout_us / kMicrosPerMilli},
                                            {"suspicion_mult", config.suspicion_mult}});
}

}  // namespace meshd::membership
