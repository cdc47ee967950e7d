// `meshsim shrink SCENARIO --seed N`: reduces a failing seed's realized
// fault plan to a minimal one that fails with the same failure kind
// (sim/scenario/shrink.h), running every candidate in a forked child so a
// crashing candidate is just "fails with signal:SIGxxx".
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <string>

#include "sim/scenario/plan.h"
#include "sim/scenario/runner.h"
#include "sim/scenario/shrink.h"
#include "tools/meshsim/cli.h"
#include "tools/meshsim/commands.h"
#include "tools/meshsim/fork_pool.h"
#include "tools/meshsim/seed_run.h"

using namespace meshd;
using namespace meshd::sim;
using namespace meshd::tools;

namespace {

constexpr size_t kShrinkRunsMax = 10'000;

struct Outcome {
  bool failed = false;
  std::vector<std::string> kinds;
  std::vector<std::string> violations;
  std::vector<Fault> fired;  // only for the first run
};

// Runs `sc` under `seed` in a child; crashes become "signal:..." kinds.
Outcome run_isolated(const Scenario& sc, uint64_t seed, PlantedBug bug, bool check_determinism, double timeout_s) {
  ForkPool pool(1, timeout_s);
  ChildOutcome err;
  auto task = [&]() {
    RunOptions opt;
    opt.seed = seed;
    opt.planted_bug = bug;
    opt.final_state = false;
    RunResult r = run_scenario(sc, opt);
    ResolvedRun rr{sc, std::nullopt};
    const std::string nondet = check_determinism ? tools::check_determinism(sc, opt, r) : "";
    nlohmann::json j = result_record(rr, r, seed, 0, nondet);
    nlohmann::json fired = nlohmann::json::array();
    for (const Fault& f : r.fired_faults) fired.push_back(fault_to_json(f));
    j["fired"] = fired;
    return j.dump();
  };
  Outcome out;
  std::vector<ChildOutcome> done;
  if (!pool.start(0, task, &err)) {
    done.push_back(err);
  } else {
    while (done.empty()) done = pool.wait_some(1000);
  }
  const ChildOutcome& o = done.front();
  nlohmann::json rec = o.ok() ? nlohmann::json::parse(o.output, nullptr, false) : nlohmann::json();
  if (!o.ok() || !rec.is_object()) {
    out.failed = true;
    out.kinds.push_back(o.timed_out ? "timeout" : !o.exited ? "signal:" + signal_name(o.signal)
                                                            : fmt::format("exit:{}", o.exit_code));
    out.violations.push_back("seed process " + o.failure());
    return out;
  }
  out.failed = !rec["passed"].get<bool>();
  out.kinds = rec["kinds"].get<std::vector<std::string>>();
  out.violations = rec["violations"].get<std::vector<std::string>>();
  // Re-parse the fired faults through the scenario parser (the one schema).
  nlohmann::json wrapper = scenario_to_json(sc);
  wrapper["faults"] = rec["fired"];
  if (auto parsed = parse_scenario(wrapper.dump(), "fired faults")) out.fired = parsed->faults;
  return out;
}

std::string fault_line(const Fault& f) {
  nlohmann::json j = fault_to_json(f);
  return j.dump();
}

}  // namespace

int cmd_shrink(int argc, char** argv) {
  std::string scenario_path, plan_path, planted_bug, out_path;
  uint64_t seed = 1, runs_max = kShrinkRunsDefault;
  bool seed_given = false, swarm = false;
  double timeout_s = 120;
  ArgWalker w{argc, argv};
  for (; w.i < argc; ++w.i) {
    const std::string arg = argv[w.i];
    const int took = take_source_flag("shrink", w, seed, seed_given, swarm, plan_path, planted_bug);
    if (took == kTakeError) return kExitUsage;
    if (took == 1) continue;
    if (arg == "--out") {
      const char* v = w.next_value();
      if (!v) return usage_error("shrink", "--out needs a file");
      out_path = v;
    } else if (arg == "--max-runs") {
      const char* v = w.next_value();
      if (!v || !parse_u64(v, runs_max) || runs_max < 1 || runs_max > kShrinkRunsMax) {
        return usage_error("shrink", "--max-runs needs an integer in [1, 10000]");
      }
    } else if (arg == "--seed-timeout") {
      const char* v = w.next_value();
      if (!v || !parse_seconds(v, timeout_s)) return usage_error("shrink", "--seed-timeout needs seconds");
    } else if (arg[0] == '-') {
      return usage_error("shrink", "unknown option '" + arg + "'");
    } else if (scenario_path.empty()) {
      scenario_path = arg;
    } else {
      return usage_error("shrink", "unexpected argument '" + arg + "'");
    }
  }
  if (scenario_path.empty() || !seed_given) {
    return usage_error("shrink", "usage: meshsim shrink SCENARIO --seed N [--swarm] [--plan FILE] [--plant-bug NAME] "
                                 "[--out FILE] [--max-runs N] [--seed-timeout S]");
  }
  SeedSource src;
  if (int rc = load_source("shrink", scenario_path, swarm, plan_path, planted_bug, src); rc != 0) return rc;
  if (src.plan && planted_bug.empty()) {
    src.planted_bug = parse_planted_bug(src.plan->provenance.planted_bug).value_or(PlantedBug::none);
  }
  const auto t0 = std::chrono::steady_clock::now();
  ResolvedRun rr = resolve(src, seed);
  if (rr.swarm) std::fputs(swarm_profile_text(*rr.swarm).c_str(), stdout);

  // The original failure, and the realized plan it came from.
  Outcome first = run_isolated(rr.scenario, seed, src.planted_bug, false, timeout_s);
  if (!first.failed) {
    std::printf("shrink: %s seed %llu passes: nothing to shrink\n", rr.scenario.name.c_str(),
                static_cast<unsigned long long>(seed));
    return kExitUsage;
  }
  // The kind to keep: a crashed child's signal, else the first violation's.
  const bool died = first.kinds.size() == 1 &&
                    (first.kinds[0].rfind("signal:", 0) == 0 || first.kinds[0] == "timeout" ||
                     first.kinds[0].rfind("exit:", 0) == 0);
  const std::string target_kind = died ? first.kinds[0]
                                  : first.violations.empty() ? "violation"
                                                             : violation_kind(first.violations.front());
  const bool nondet = target_kind == "nondeterminism";
  std::printf("shrink: %s seed %llu fails with [%s]: %s\n", rr.scenario.name.c_str(),
              static_cast<unsigned long long>(seed), target_kind.c_str(),
              first.violations.empty() ? "" : first.violations.front().c_str());
  Scenario start = rr.scenario;
  if (!first.fired.empty() || rr.scenario.faults.empty()) start.faults = first.fired;  // the realized plan

  auto still_fails = [&](const Scenario& cand) {
    Outcome o = run_isolated(cand, seed, src.planted_bug, nondet, timeout_s);
    for (const auto& k : o.kinds) {
      if (k == target_kind) return true;
    }
    return false;
  };
  ShrinkStats stats;
  ShrinkOptions options;
  options.runs_max = runs_max;
  options.shorten_run = first.violations.empty() || first.violations.front().find("at the end") == std::string::npos;
  if (!options.shorten_run) std::printf("shrink: end-of-run failure: the run length is kept\n");
  Scenario best = shrink_scenario(start, still_fails, options, &stats);
  const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  for (const auto& line : stats.log) std::printf("  step: %s\n", line.c_str());
  std::printf("shrink: %zu faults -> %zu, %zu nodes -> %zu, %.3f s -> %.3f s in %zu runs (%.1f s wall)%s; "
              "failure kept: [%s]\n",
              start.faults.size(), best.faults.size(), start.nodes, best.nodes, start.duration_us / 1e6,
              best.duration_us / 1e6, stats.runs, wall_s, stats.budget_exhausted ? " (run budget exhausted)" : "",
              target_kind.c_str());
  for (const Fault& f : best.faults) std::printf("  fault: %s\n", fault_line(f).c_str());

  if (out_path.empty()) out_path = fmt::format("shrunk-{}-seed{}.json", src.base.name, seed);
  best.description = fmt::format("shrunk from scenario '{}' seed {}{}: {} of {} faults; fails with [{}]", src.base.name,
                                 seed, rr.swarm ? " (swarm)" : "", best.faults.size(), start.faults.size(),
                                 target_kind);
  PlanProvenance prov{src.base.name, seed, rr.swarm.has_value() || (src.plan && src.plan->provenance.swarm),
                      std::string(planted_bug_name(src.planted_bug)), start.faults.size()};
  if (Status s = write_json_file(out_path, plan_to_json(best, best.faults, prov)); !s) {
    return usage_error("shrink", "--out: " + s.message());
  }
  Outcome last = run_isolated(best, seed, src.planted_bug, nondet, timeout_s);
  for (const auto& v : last.violations) std::printf("violation: %s%s\n", v.rfind('[', 0) == 0 ? "" : ("[" + violation_kind(v) + "] ").c_str(), v.c_str());
  std::printf("shrink: minimal plan written to %s\n", out_path.c_str());
  SeedSource replay_src = src;
  replay_src.plan = Plan{best, prov};
  replay_src.plan_path = out_path;
  std::printf("replay: %s\n", replay_command(replay_src, seed, nondet).c_str());
  return 0;
}
