// `meshsim timeline SCENARIO --seed N --html FILE [--swarm] [--until S]`:
// runs one seed with trace recording and writes a self-contained HTML
// message-sequence chart of it (tools/meshsim/timeline.h). Prints the run's
// PASS/FAIL line, then `timeline: <summary> -> FILE (<bytes> bytes)`.
// Exit code as `run`: 0 PASS, 1 FAIL (the page is written either way), 2 bad
// input.
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include "sim/scenario/runner.h"
#include "tools/meshsim/cli.h"
#include "tools/meshsim/commands.h"
#include "tools/meshsim/seed_run.h"
#include "tools/meshsim/timeline.h"

using namespace meshd;
using namespace meshd::sim;
using namespace meshd::tools;

int cmd_timeline(int argc, char** argv) {
  const std::string cmd = "timeline";
  std::string scenario_path, html_path, plan_path, planted_bug;
  uint64_t seed = 1;
  bool seed_given = false, swarm = false;
  int64_t until_us = -1;
  ArgWalker w{argc, argv};
  for (; w.i < argc; ++w.i) {
    const std::string arg = argv[w.i];
    const int took = take_source_flag(cmd, w, seed, seed_given, swarm, plan_path, planted_bug);
    if (took == kTakeError) return kExitUsage;
    if (took == 1) continue;
    if (arg == "--html") {
      const char* v = w.next_value();
      if (!v) return usage_error(cmd, "--html needs a file");
      html_path = v;
    } else if (arg == "--until") {
      const char* v = w.next_value();
      double s = 0;
      if (!v || !parse_seconds(v, s)) return usage_error(cmd, "--until needs seconds (>= 0)");
      until_us = static_cast<int64_t>(s * 1e6);
    } else if (arg[0] == '-') {
      return usage_error(cmd, "unknown option '" + arg + "'");
    } else if (scenario_path.empty()) {
      scenario_path = arg;
    } else {
      return usage_error(cmd, "unexpected argument '" + arg + "'");
    }
  }
  if (scenario_path.empty()) return usage_error(cmd, "needs a SCENARIO file (see meshsim --help)");
  if (html_path.empty()) return usage_error(cmd, "needs --html FILE");
  SeedSource src;
  if (int rc = load_source(cmd, scenario_path, swarm, plan_path, planted_bug, src); rc != 0) return rc;
  if (src.plan) {  // as replay: the plan remembers its seed and planted bug
    if (!seed_given) seed = src.plan->provenance.seed;
    if (planted_bug.empty()) {
      src.planted_bug = parse_planted_bug(src.plan->provenance.planted_bug).value_or(PlantedBug::none);
    }
  }
  ResolvedRun rr = resolve(src, seed);
  RunOptions opt;
  opt.seed = seed;
  opt.until_us = until_us;
  opt.planted_bug = src.planted_bug;
  opt.record_trace = true;
  opt.final_state = false;

  const auto t0 = std::chrono::steady_clock::now();
  RunResult r = run_scenario(rr.scenario, opt);
  const double run_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  TimelineMeta meta;
  meta.scenario = rr.scenario.name;
  meta.seed = seed;
  meta.swarm = rr.swarm.has_value();
  meta.nodes = rr.scenario.nodes;
  meta.end_us = r.sim_us;
  meta.trace_hash = hex64(r.trace_hash);
  meta.passed = r.passed;
  meta.violations = r.violations;
  meta.violation_count = r.violation_count;
  const nlohmann::json data = timeline_data(r.trace, meta);
  const std::string html = timeline_html(data);
  {
    std::ofstream out(html_path, std::ios::binary | std::ios::trunc);
    if (!out) return usage_error(cmd, "--html: cannot write " + html_path);
    out.write(html.data(), static_cast<std::streamsize>(html.size()));
    if (!out) return usage_error(cmd, "--html: write failed: " + html_path);
  }
  const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (const auto& v : r.violations) std::printf("violation: %s\n", v.c_str());
  std::printf("%s scenario=%s seed=%llu nodes=%zu faults=%zu sim_s=%.3f wall_s=%.3f events=%llu trace_hash=%s\n",
              r.passed ? "PASS" : "FAIL", rr.scenario.name.c_str(), static_cast<unsigned long long>(seed),
              rr.scenario.nodes, r.fired_faults.size(), r.sim_us / 1e6, run_s,
              static_cast<unsigned long long>(r.events), hex64(r.trace_hash).c_str());
  std::printf("timeline: %s%s -> %s (%zu bytes, %.3f s)\n", timeline_summary(data).c_str(),
              data["truncated"].get<bool>()
                  ? fmt::format(" (truncated to the first {} messages)", kTimelineMessagesMax).c_str()
                  : "",
              html_path.c_str(), html.size(), wall_s);
  return r.passed ? 0 : 1;
}
