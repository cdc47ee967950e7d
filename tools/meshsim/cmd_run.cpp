// `meshsim run` (one seed), `meshsim replay` (one seed of a fault plan) and
// the hidden `meshsim emit-trace` (streams every trace event, for
// `diverge --against`).
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "sim/scenario/plan.h"
#include "sim/scenario/runner.h"
#include "tools/meshsim/chrome_trace.h"
#include "tools/meshsim/cli.h"
#include "tools/meshsim/commands.h"
#include "tools/meshsim/seed_run.h"

using namespace meshd;
using namespace meshd::sim;
using namespace meshd::tools;

namespace {

struct RunArgs {
  std::string scenario_path, trace_path, json_path, plan_path, plan_out_path, planted_bug, history_path;
  uint64_t seed = 1;
  bool seed_given = false, swarm = false, check_determinism = false, verbose = false;
  int64_t until_us = -1;
};

int parse_args(const std::string& cmd, int argc, char** argv, RunArgs& a) {
  ArgWalker w{argc, argv};
  for (; w.i < argc; ++w.i) {
    const std::string arg = argv[w.i];
    const int took = take_source_flag(cmd, w, a.seed, a.seed_given, a.swarm, a.plan_path, a.planted_bug);
    if (took == kTakeError) return kExitUsage;
    if (took == 1) continue;
    if (arg == "--trace" || arg == "--json" || arg == "--plan-out") {
      const char* v = w.next_value();
      if (!v) return usage_error(cmd, arg + " needs a file");
      (arg == "--trace" ? a.trace_path : arg == "--json" ? a.json_path : a.plan_out_path) = v;
    } else if (arg == "--history") {  // Raft runs: the client history as JSON lines (sim/consensus/history.h)
      const char* v = w.next_value();
      if (!v) return usage_error(cmd, arg + " needs a file");
      a.history_path = v;
    } else if (arg == "--until") {
      const char* v = w.next_value();
      double s = 0;
      if (!v || !parse_seconds(v, s)) return usage_error(cmd, "--until needs seconds (>= 0)");
      a.until_us = static_cast<int64_t>(s * 1e6);
    } else if (arg == "--check-determinism") {
      a.check_determinism = true;
    } else if (arg == "--verbose") {
      a.verbose = true;
    } else if (arg[0] == '-') {
      return usage_error(cmd, "unknown option '" + arg + "'");
    } else if (a.scenario_path.empty()) {
      a.scenario_path = arg;
    } else {
      return usage_error(cmd, "unexpected argument '" + arg + "'");
    }
  }
  if (a.scenario_path.empty()) return usage_error(cmd, "needs a SCENARIO file (see meshsim --help)");
  return 0;
}

// The run/replay body: one seed, human output, exit 0 PASS / 1 FAIL.
int run_one(const std::string& cmd, const RunArgs& a, const SeedSource& src, uint64_t seed) {
  ResolvedRun rr = resolve(src, seed);
  if (rr.swarm) std::fputs(swarm_profile_text(*rr.swarm).c_str(), stdout);
  if (src.plan) {
    std::printf("replay: plan %s: %zu faults, %zu nodes, %.3f s (realized from scenario '%s' seed %llu%s)\n",
                src.plan_path.c_str(), rr.scenario.faults.size(), rr.scenario.nodes, rr.scenario.duration_us / 1e6,
                src.plan->provenance.scenario.c_str(), static_cast<unsigned long long>(src.plan->provenance.seed),
                src.plan->provenance.swarm ? ", swarm" : "");
  }
  RunOptions opt;
  opt.seed = seed;
  opt.until_us = a.until_us;
  opt.log_stderr = a.verbose;
  opt.planted_bug = src.planted_bug;
  opt.record_trace = !a.trace_path.empty();
  opt.final_state = a.until_us >= 0;  // only --until prints it
  opt.history = !a.history_path.empty();

  const auto t0 = std::chrono::steady_clock::now();
  RunResult r = run_scenario(rr.scenario, opt);
  const std::string det_report = a.check_determinism ? check_determinism(rr.scenario, opt, r) : "";
  const bool deterministic = det_report.empty();
  const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (const auto& v : r.violations) std::printf("violation: %s%s\n", v.rfind('[', 0) == 0 ? "" : ("[" + violation_kind(v) + "] ").c_str(), v.c_str());
  if (r.violation_count > r.violations.size()) {
    std::printf("violation: ... and %llu more\n",
                static_cast<unsigned long long>(r.violation_count - r.violations.size()));
  }
  if (!deterministic) std::printf("nondeterminism: %s\n", det_report.c_str());
  if (!a.trace_path.empty()) {
    std::string err;
    if (!write_chrome_trace(a.trace_path, r.trace, rr.scenario.nodes, &err)) return usage_error(cmd, "--trace: " + err);
  }
  if (!a.plan_out_path.empty()) {
    PlanProvenance prov{src.plan ? src.plan->provenance.scenario : src.base.name, seed, rr.swarm.has_value() ||
                        (src.plan && src.plan->provenance.swarm), std::string(planted_bug_name(src.planted_bug)),
                        rr.scenario.faults.size()};
    if (Status s = write_json_file(a.plan_out_path, plan_to_json(rr.scenario, r.fired_faults, prov)); !s) {
      return usage_error(cmd, "--plan-out: " + s.message());
    }
    std::printf("plan: %zu of %zu faults fired; written to %s\n", r.fired_faults.size(), rr.scenario.faults.size(),
                a.plan_out_path.c_str());
  }
  if (a.until_us >= 0) std::printf("%s\n", r.final_state.dump(2).c_str());
  if (!a.history_path.empty()) {
    std::FILE* f = std::fopen(a.history_path.c_str(), "wb");
    if (f == nullptr || std::fwrite(r.history_jsonl.data(), 1, r.history_jsonl.size(), f) != r.history_jsonl.size()) {
      if (f != nullptr) std::fclose(f);
      return usage_error(cmd, "--history: cannot write " + a.history_path);
    }
    std::fclose(f);
  }
  if (!r.raft.is_null()) std::printf("raft: %s\n", r.raft.dump().c_str());
  const bool pass = r.passed && deterministic;
  std::printf("%s scenario=%s seed=%llu nodes=%zu faults=%zu sim_s=%.3f wall_s=%.3f events=%llu trace_hash=%s\n",
              pass ? "PASS" : "FAIL", rr.scenario.name.c_str(), static_cast<unsigned long long>(seed),
              rr.scenario.nodes, r.fired_faults.size(), r.sim_us / 1e6, wall_s,
              static_cast<unsigned long long>(r.events), hex64(r.trace_hash).c_str());
  // Cost accounting (sim/cost_oracle.h) and the other security counters.
  std::string cost;
  for (const auto& [k, v] : r.security) {
    if (k.rfind("cost.", 0) == 0 && k.find(".node") == std::string::npos) cost += fmt::format(" {}={}", k.substr(5), v);
  }
  if (!cost.empty()) std::printf("cost:%s\n", cost.c_str());
  if (r.membership.enabled) {
    const auto& m = r.membership;
    auto d = [](const Distribution& x) {
      return fmt::format("n={} p50={:.0f}ms p99={:.0f}ms max={:.0f}ms", x.count, x.p50 / 1e3, x.p99 / 1e3, x.max / 1e3);
    };
    std::printf("membership: detection %s | convergence %s | join %s | rejoin %s | leave %s | false_failed=%llu "
                "flaps=%llu (max/pair %llu) swim_msgs/node/s=%.2f\n",
                d(m.detection_us).c_str(), d(m.convergence_us).c_str(), d(m.join_us).c_str(), d(m.rejoin_us).c_str(),
                d(m.leave_us).c_str(), static_cast<unsigned long long>(m.false_failed),
                static_cast<unsigned long long>(m.flaps), static_cast<unsigned long long>(m.flaps_max_pair),
                r.sim_us > 0 ? static_cast<double>(m.sent) / (static_cast<double>(r.nodes) * (r.sim_us / 1e6)) : 0.0);
    for (const auto& v : r.violations) std::printf("  %s\n", v.c_str());
  }
  if (!a.json_path.empty()) {
    nlohmann::json j = result_record(rr, r, seed, wall_s, deterministic ? "" : det_report);
    j.erase("detection_samples_us");
    j.erase("recovery_samples_us");
    if (j.contains("membership")) {
      for (const char* k : {"detection_samples_us", "convergence_samples_us", "join_samples_us", "rejoin_samples_us", "leave_samples_us"}) {
        j["membership"].erase(k);
      }
    }
    if (Status s = write_json_file(a.json_path, j); !s) return usage_error(cmd, "--json: " + s.message());
  }
  if (!pass) {
    std::printf("replay: %s\n", replay_command(src, seed, !deterministic).c_str());
    return 1;
  }
  return 0;
}

}  // namespace

int cmd_run(int argc, char** argv) {
  RunArgs a;
  if (int rc = parse_args("run", argc, argv, a); rc != 0) return rc;
  if (!a.plan_path.empty()) return usage_error("run", "--plan belongs to `meshsim replay SCENARIO --plan FILE`");
  SeedSource src;
  if (int rc = load_source("run", a.scenario_path, a.swarm, "", a.planted_bug, src); rc != 0) return rc;
  return run_one("run", a, src, a.seed);
}

int cmd_replay(int argc, char** argv) {
  RunArgs a;
  if (int rc = parse_args("replay", argc, argv, a); rc != 0) return rc;
  if (a.plan_path.empty()) return usage_error("replay", "needs --plan FILE (written by run --plan-out or shrink)");
  SeedSource src;
  if (int rc = load_source("replay", a.scenario_path, a.swarm, a.plan_path, a.planted_bug, src); rc != 0) return rc;
  // The plan remembers its seed and planted bug; flags override.
  const uint64_t seed = a.seed_given ? a.seed : src.plan->provenance.seed;
  if (a.planted_bug.empty()) {
    src.planted_bug = parse_planted_bug(src.plan->provenance.planted_bug).value_or(PlantedBug::none);
  }
  return run_one("replay", a, src, seed);
}

int cmd_emit_trace(int argc, char** argv) {
  RunArgs a;
  if (int rc = parse_args("emit-trace", argc, argv, a); rc != 0) return rc;
  SeedSource src;
  if (int rc = load_source("emit-trace", a.scenario_path, a.swarm, a.plan_path, a.planted_bug, src); rc != 0) return rc;
  const uint64_t seed = a.seed_given || !src.plan ? a.seed : src.plan->provenance.seed;
  if (src.plan && a.planted_bug.empty()) {  // as replay: the plan remembers its planted bug
    src.planted_bug = parse_planted_bug(src.plan->provenance.planted_bug).value_or(PlantedBug::none);
  }
  ResolvedRun rr = resolve(src, seed);
  RunOptions opt;
  opt.seed = seed;
  opt.until_us = a.until_us;
  opt.planted_bug = src.planted_bug;
  opt.record_trace = true;
  opt.final_state = false;
  RunResult r = run_scenario(rr.scenario, opt);
  std::string line;
  for (const TraceEvent& e : r.trace) {
    line = fmt::format("{} {} {} {:016x} ", e.t_us, e.node, trace_kind_name(e.kind), e.digest);
    for (char c : e.detail) line += c == '\n' ? ' ' : c;
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stdout);
  }
  std::printf("end %llu %s\n", static_cast<unsigned long long>(r.trace.size()), hex64(r.trace_hash).c_str());
  return 0;
}
