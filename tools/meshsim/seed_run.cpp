#include "tools/meshsim/seed_run.h"

#include "tools/meshsim/coverage.h"

#include <fmt/format.h>

#include <chrono>
#include <set>

namespace meshd::tools {

std::string g_program = "meshsim";

using namespace meshd::sim;

ResolvedRun resolve(const SeedSource& src, uint64_t seed) {
  ResolvedRun r;
  if (src.plan) {
    r.scenario = src.plan->scenario;
  } else if (src.swarm) {
    r.swarm = swarm_scenario(src.base, seed, src.swarm_without);
    r.scenario = r.swarm->scenario;
  } else {
    r.scenario = src.base;
  }
  return r;
}

std::string violation_kind(const std::string& text) {
  // Checks that tag their reports: "[recovery] ...", "[security] ...".
  if (text.size() > 2 && text[0] == '[') {
    const size_t close = text.find(']');
    if (close != std::string::npos && close > 1) return text.substr(1, close - 1);
  }
  if (text.find("false positive") != std::string::npos) return "false_down";
  if (text.find(" up within ") != std::string::npos) return "detect_up";
  if (text.find(" down within ") != std::string::npos) return "detect_down";
  return "violation";
}

std::string hex64(uint64_t v) { return fmt::format("{:016x}", v); }

nlohmann::json distribution_json(const Distribution& d) {
  return {{"count", d.count}, {"p50_us", d.p50}, {"p99_us", d.p99}, {"max_us", d.max}};
}

std::string describe_event(const TraceEvent& e) {
  std::string detail = e.detail;
  for (char& c : detail) {
    if (c == '\n') c = ' ';
  }
  return fmt::format("t={}us node={} kind={} digest={:016x} {}", e.t_us,
                     e.node == kWorldNode ? -1 : static_cast<int64_t>(e.node), trace_kind_name(e.kind), e.digest,
                     detail);
}

std::optional<std::string> divergence_report(const std::vector<TraceEvent>& a, const std::vector<TraceEvent>& b,
                                             const std::string& label_a, const std::string& label_b) {
  auto idx = first_divergence(a, b);
  if (!idx) return std::nullopt;
  auto show = [](const std::vector<TraceEvent>& t, size_t i) {
    return i < t.size() ? describe_event(t[i]) : std::string("(no event: the run ended)");
  };
  std::string s = fmt::format("first divergence at event #{} (of {} vs {} events)\n", *idx, a.size(), b.size());
  const size_t from = *idx >= 3 ? *idx - 3 : 0;
  for (size_t i = from; i < *idx; ++i) s += fmt::format("  same     #{}: {}\n", i, describe_event(a[i]));
  s += fmt::format("  {:<8} #{}: {}\n", label_a, *idx, show(a, *idx));
  s += fmt::format("  {:<8} #{}: {}", label_b, *idx, show(b, *idx));
  return s;
}

std::string check_determinism(const Scenario& sc, RunOptions opt, const RunResult& first) {
  RunResult second = run_scenario(sc, opt);
  if (second.trace_hash == first.trace_hash && second.events == first.events) return "";
  // Mismatch: record both runs to name the event (a nondeterministic run
  // may diverge elsewhere this time; the report says what was seen).
  opt.record_trace = true;
  RunResult a = first.trace.empty() ? run_scenario(sc, opt) : first;
  RunResult b = run_scenario(sc, opt);
  std::string report = fmt::format("trace hashes differ ({} vs {}); ", hex64(first.trace_hash),
                                   hex64(second.trace_hash));
  auto where = divergence_report(a.trace, b.trace, "run 1", "run 2");
  return report + where.value_or("the recorded reruns did not diverge (nondeterminism not reproduced)");
}

nlohmann::json run_seed_record(const SeedSource& src, uint64_t seed, bool check_determinism) {
  const auto t0 = std::chrono::steady_clock::now();
  ResolvedRun rr = resolve(src, seed);
  RunOptions opt;
  opt.seed = seed;
  opt.planted_bug = src.planted_bug;
  opt.final_state = false;
  RunResult r = run_scenario(rr.scenario, opt);
  const std::string det_report = check_determinism ? tools::check_determinism(rr.scenario, opt, r) : "";
  const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return result_record(rr, r, seed, wall_s, det_report);
}

nlohmann::json result_record(const ResolvedRun& rr, const RunResult& r, uint64_t seed, double wall_s,
                             const std::string& nondeterminism) {
  const bool deterministic = nondeterminism.empty();
  std::set<std::string> kinds;
  for (const auto& v : r.violations) kinds.insert(violation_kind(v));
  if (!deterministic) kinds.insert("nondeterminism");
  nlohmann::json j = {
      {"seed", seed}, {"passed", r.passed && deterministic}, {"deterministic", deterministic},
      {"nodes", r.nodes}, {"faults", rr.scenario.faults.size()}, {"faults_fired", r.fired_faults.size()},
      {"sim_s", r.sim_us / 1e6}, {"wall_s", wall_s}, {"events", r.events},
      {"trace_hash", hex64(r.trace_hash)}, {"violations", r.violations},
      {"violation_count", r.violation_count}, {"kinds", kinds},
      {"detection", distribution_json(r.detection_us)}, {"recovery", distribution_json(r.recovery_us)},
      {"detection_samples_us", r.detection_samples_us}, {"recovery_samples_us", r.recovery_samples_us},
      {"false_downs", r.false_downs}, {"network", r.network}, {"security", r.security}};
  if (r.membership.enabled) {
    const sim::MembershipFigures& m = r.membership;
    const double node_s = static_cast<double>(r.nodes) * (r.sim_us / 1e6);
    j["membership"] = {{"detection", distribution_json(m.detection_us)},
                       {"convergence", distribution_json(m.convergence_us)},
                       {"join", distribution_json(m.join_us)},
                       {"rejoin", distribution_json(m.rejoin_us)},
                       {"leave", distribution_json(m.leave_us)},
                       {"detection_samples_us", m.detection_samples_us},
                       {"convergence_samples_us", m.convergence_samples_us},
                       {"join_samples_us", m.join_samples_us},
                       {"rejoin_samples_us", m.rejoin_samples_us},
                       {"leave_samples_us", m.leave_samples_us},
                       {"false_failed", m.false_failed},
                       {"flaps", m.flaps},
                       {"flaps_max_pair", m.flaps_max_pair},
                       {"sent", m.sent},
                       {"msgs_per_node_s", node_s > 0 ? static_cast<double>(m.sent) / node_s : 0.0}};
  }
  if (!deterministic) j["nondeterminism"] = nondeterminism;
  if (rr.swarm) j["swarm"] = swarm_profile_json(*rr.swarm);
  j["reached"] = reached_names(r);  // coverage (tools/meshsim/coverage.h)
  for (const auto& [name, b] : r.buggify) {
    j["buggify"][name] = {{"enabled", b.enabled}, {"evaluated", b.evaluated}, {"fired", b.fired}};
  }
  return j;
}

std::string replay_command(const SeedSource& src, uint64_t seed, bool check_determinism) {
  std::string s;
  if (src.plan) {
    s = fmt::format("{} replay {} --plan {} --seed {}", g_program, src.scenario_path, src.plan_path, seed);
  } else {
    s = fmt::format("{} run {} --seed {}{}", g_program, src.scenario_path, seed, src.swarm ? " --swarm" : "");
    if (src.swarm && src.swarm_without != 0) s += " --swarm-without " + src.swarm_without_text;
  }
  if (src.planted_bug != PlantedBug::none) s += fmt::format(" --plant-bug {}", planted_bug_name(src.planted_bug));
  if (check_determinism) s += " --check-determinism";
  return s;
}

}  // namespace meshd::tools
