#include "sim/scenario/plan.h"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

namespace meshd::sim {

namespace {

double seconds_of(int64_t us) { return static_cast<double>(us) / 1e6; }

nlohmann::json link_json(const LinkConfig& l) {
  return {{"latency_us_min", l.latency_us_min}, {"latency_us_mean", l.latency_us_mean},
          {"reorder_delay_us", l.reorder_delay_us}, {"loss", l.loss}, {"duplicate", l.duplicate},
          {"reorder", l.reorder}, {"corrupt", l.corrupt}, {"queue_packets_max", l.queue_packets_max},
          {"mtu_bytes", l.mtu_bytes}};
}

nlohmann::json actions_json(const std::vector<KeyAction>& actions, bool pair) {
  nlohmann::json out = nlohmann::json::array();
  for (const KeyAction& a : actions) {
    nlohmann::json j = {{"at_s", seconds_of(a.at_us)}};
    if (pair) {
      j["from"] = a.from;
      j["to"] = a.node;
    } else {
      j["node"] = a.node;
    }
    out.push_back(j);
  }
  return out;
}

// "security" and "attackers" (sim/attacker_spec.h), in the parser's schema.
void add_security_json(const SimSecuritySpec& s, nlohmann::json& root) {
  nlohmann::json sec = {{"plaintext", s.plaintext}, {"peer_keys", s.peer_keys},
                        {"rekey_after_s", s.rekey_after_s}, {"retry_initial_ms", s.retry_initial_ms},
                        {"retry_max_ms", s.retry_max_ms}, {"handshake_rate_per_s", s.handshake_rate_per_s},
                        {"handshake_burst", s.handshake_burst}, {"clone_policy", s.clone_policy},
                        {"rotate_key", actions_json(s.rotate_key, false)},
                        {"copy_disk", actions_json(s.copy_disk, true)}};
  if (s.expect_clone_refusals >= 0) sec["expect_clone_refusals"] = s.expect_clone_refusals;
  root["security"] = sec;
  nlohmann::json attackers = nlohmann::json::array();
  for (const AttackerSpec& a : s.attackers) {
    nlohmann::json kinds = nlohmann::json::array();
    for (AttackKind k : a.kinds) kinds.push_back(std::string(attack_kind_name(k)));
    attackers.push_back({{"kinds", kinds}, {"from_s", seconds_of(a.from_us)}, {"until_s", seconds_of(a.until_us)},
                         {"rate_per_s", a.rate_per_s}});
  }
  root["attackers"] = attackers;
}

}  // namespace

nlohmann::json fault_to_json(const Fault& f) {
  nlohmann::json j = {{"at_s", seconds_of(f.at_us)}, {"kind", std::string(fault_kind_name(f.kind))}};
  switch (f.kind) {
    case FaultKind::crash: case FaultKind::restart: case FaultKind::pause:
    case FaultKind::resume: case FaultKind::wipe: case FaultKind::leave:
      j["node"] = f.node;
      break;
    case FaultKind::partition:
      j["a"] = f.side_a;
      j["b"] = f.side_b;
      break;
    case FaultKind::block: case FaultKind::unblock: case FaultKind::clog: case FaultKind::unclog:
      j["from"] = f.from;
      j["to"] = f.to;
      break;
    case FaultKind::heal:
      break;
    case FaultKind::clock_jump:
      j["node"] = f.node;
      j["delta_ms"] = f.delta_us / 1000;  // the schema's unit; generated jumps are whole ms
      break;
    case FaultKind::drift:
      j["node"] = f.node;
      j["ppm"] = f.drift_ppm;
      break;
    case FaultKind::link:
      j["from"] = f.from;
      j["to"] = f.to;
      j.update(link_json(f.link));
      break;
    case FaultKind::disk:
      j["node"] = f.node;
      j["read_bitrot"] = f.disk.read_bitrot;
      j["write_eio"] = f.disk.write_eio;
      j["fsync_eio"] = f.disk.fsync_eio;
      if (f.disk.capacity_bytes != UINT64_MAX) j["capacity_bytes"] = f.disk.capacity_bytes;
      j["latency_us"] = f.disk.latency_us;
      break;
  }
  return j;
}

nlohmann::json scenario_to_json(const Scenario& sc) {
  nlohmann::json faults = nlohmann::json::array();
  for (const Fault& f : sc.faults) faults.push_back(fault_to_json(f));
  nlohmann::json inv = {{"no_false_down", sc.invariants.no_false_down}};
  if (sc.invariants.detect_down_within_us > 0) inv["detect_down_within_ms"] = sc.invariants.detect_down_within_us / 1000;
  if (sc.invariants.detect_up_within_us > 0) inv["detect_up_within_ms"] = sc.invariants.detect_up_within_us / 1000;
  nlohmann::json root = {{"name", sc.name},
          {"description", sc.description},
          {"nodes", sc.nodes},
          {"duration_s", seconds_of(sc.duration_us)},
          {"network", link_json(sc.network)},
          {"clocks", {{"offset_ms_max", sc.clock_offset_us_max / 1000}, {"drift_ppm_max", sc.clock_drift_ppm_max}}},
          {"faults", faults},
          {"invariants", inv}};
  // Only when the run had the reachability probe: a "liveness" block turns
  // it on, and a replay must run exactly what ran.
  if (runs_liveness_probe(sc)) {
    root["liveness"] = {{"ping_interval_ms", sc.liveness.ping_interval_ms},
                        {"ping_jitter_percent", sc.liveness.ping_jitter_percent},
                        {"down_after_ms", sc.liveness.down_after_ms}};
  }
  if (sc.membership) {
    const membership::SwimConfig& m = *sc.membership;
    root["membership"] = {{"protocol_period_ms", m.protocol_period_us / 1000},
                          {"probe_timeout_ms", m.probe_timeout_us / 1000},
                          {"indirect_probes", m.indirect_probes},
                          {"suspicion_mult", m.suspicion_mult},
                          {"suspicion_max_timeout_mult", m.suspicion_max_timeout_mult},
                          {"retransmit_mult", m.retransmit_mult},
                          {"health_max", m.health_max},
                          {"gossip_interval_ms", m.gossip_interval_us / 1000},
                          {"gossip_fanout", m.gossip_fanout},
                          {"push_pull_interval_ms", m.push_pull_interval_us / 1000},
                          {"join_retry_ms", m.join_retry_us / 1000},
                          {"reap_after_ms", m.reap_after_us / 1000},
                          {"members_max", m.members_max},
                          {"health_scales_suspicion", m.health_scales_suspicion},
                          {"stale_view_repair", m.stale_view_repair},
                          {"suspicion_verify_pings", m.suspicion_verify_pings}};
    const MembershipInvariants& mi = sc.invariants.membership;
    nlohmann::json minv = {{"no_false_failed", mi.no_false_failed}};
    if (mi.detect_failed_within_us > 0) minv["detect_failed_within_ms"] = mi.detect_failed_within_us / 1000;
    if (mi.leave_within_us > 0) minv["leave_within_ms"] = mi.leave_within_us / 1000;
    if (mi.converge_within_us > 0) minv["converge_within_ms"] = mi.converge_within_us / 1000;
    if (mi.rejoin_within_us > 0) minv["rejoin_within_ms"] = mi.rejoin_within_us / 1000;
    if (mi.flaps_max >= 0) minv["flaps_max"] = mi.flaps_max;
    if (!mi.derive_unset) minv["derive_unset_bounds"] = false;  // a replay checks what the run checked
    root["invariants"]["membership"] = minv;
  }
  add_security_json(sc.security, root);
  if (sc.buggify.on()) {
    root["buggify"] = {{"enable_percent", sc.buggify.enable_percent}, {"fire_percent", sc.buggify.fire_percent}};
  }
  return root;
}

nlohmann::json plan_to_json(const Scenario& ran, const std::vector<Fault>& fired, const PlanProvenance& p) {
  Scenario copy = ran;
  copy.faults = fired;
  nlohmann::json j = scenario_to_json(copy);
  j["plan"] = {{"scenario", p.scenario}, {"seed", p.seed}, {"swarm", p.swarm},
               {"planted_bug", p.planted_bug}, {"faults_in_source", p.faults_in_source}};
  return j;
}

Result<Plan> parse_plan(std::string_view json_text, std::string_view what) {
  auto sc = parse_scenario(json_text, what);
  if (!sc) return sc.status();
  Plan plan;
  plan.scenario = std::move(*sc);
  plan.provenance.scenario = plan.scenario.name;
  // The scenario parser accepted the text, so it is valid JSON; "plan" is
  // optional (a hand-written scenario is a plan of itself).
  const auto root = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false,
                                          /*ignore_comments=*/true);
  if (auto it = root.find("plan"); it != root.end()) {
    if (!it->is_object()) return Status(Errc::invalid, std::string(what) + ": field 'plan': expected an object");
    const auto& p = *it;
    try {
      plan.provenance.scenario = p.value("scenario", plan.scenario.name);
      plan.provenance.seed = p.value("seed", uint64_t{0});
      plan.provenance.swarm = p.value("swarm", false);
      plan.provenance.planted_bug = p.value("planted_bug", std::string("none"));
      plan.provenance.faults_in_source = p.value("faults_in_source", size_t{0});
    } catch (const nlohmann::json::exception& e) {
      return Status(Errc::invalid, fmt::format("{}: field 'plan': {}", what, e.what()));
    }
  }
  return plan;
}

Result<Plan> load_plan_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(Errc::not_found, path + ": cannot open plan file");
  std::ostringstream buf;
  buf << in.rdbuf();
  return parse_plan(buf.str(), path);
}

Status write_json_file(const std::string& path, const nlohmann::json& json) {
  std::ofstream out(path, std::ios::trunc);
  out << json.dump(2) << "\n";
  out.close();
  if (!out) return Status(Errc::io_error, path + ": cannot write");
  return Status::ok();
}

}  // namespace meshd::sim
