// `meshsim run` and `meshsim sweep`.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>

#include "sim/scenario/runner.h"
#include "sim/scenario/scenario.h"
#include "tools/meshsim/chrome_trace.h"
#include "tools/meshsim/commands.h"

using namespace meshd;
using namespace meshd::sim;

namespace {

bool parse_u64(const char* s, uint64_t& out) {
  if (s == nullptr || *s == '\0') return false;
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(s, &end, 10);
  if (errno != 0 || *end != '\0' || s[0] == '-') return false;
  out = v;
  return true;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string hex(uint64_t v) { return fmt::format("{:016x}", v); }

nlohmann::json dist_json(const Distribution& d) {
  return {{"count", d.count}, {"p50_us", d.p50}, {"p99_us", d.p99}, {"max_us", d.max}};
}

nlohmann::json result_json(const Scenario& sc, uint64_t seed, const RunResult& r, double wall_s) {
  return {{"scenario", sc.name}, {"seed", seed}, {"passed", r.passed}, {"nodes", r.nodes},
          {"sim_s", r.sim_us / 1e6}, {"wall_s", wall_s}, {"events", r.events},
          {"trace_hash", hex(r.trace_hash)}, {"violations", r.violations},
          {"violation_count", r.violation_count}, {"detection", dist_json(r.detection_us)},
          {"recovery", dist_json(r.recovery_us)}, {"false_downs", r.false_downs},
          {"network", r.network}};
}

// Runs twice with full recording; on a mismatch names the first divergent
// event. Returns true if both runs were identical.
bool check_determinism(const Scenario& sc, const RunOptions& base, const RunResult& first,
                       std::string* report) {
  RunOptions opt = base;
  opt.record_trace = true;
  RunResult a = first.trace.empty() ? run_scenario(sc, opt) : first;
  RunResult b = run_scenario(sc, opt);
  if (a.trace_hash == b.trace_hash && a.events == b.events) return true;
  auto idx = first_divergence(a.trace, b.trace);
  if (!idx) {
    *report = fmt::format("trace hashes differ ({} vs {}) but recorded events match", hex(a.trace_hash),
                          hex(b.trace_hash));
    return false;
  }
  auto show = [](const std::vector<TraceEvent>& t, size_t i) {
    if (i >= t.size()) return std::string("(no event: run ended)");
    const TraceEvent& e = t[i];
    return fmt::format("t={}us node={} kind={} digest={:016x} {}", e.t_us,
                       e.node == kWorldNode ? -1 : static_cast<int64_t>(e.node), trace_kind_name(e.kind),
                       e.digest, e.detail);
  };
  *report = fmt::format("runs diverge at event #{}:\n  run 1: {}\n  run 2: {}", *idx, show(a.trace, *idx),
                        show(b.trace, *idx));
  return false;
}

struct CommonArgs {
  std::string scenario_path;
  std::optional<Scenario> scenario;
  bool check_determinism = false;
  std::string json_path;
};

int load(CommonArgs& c) {
  auto sc = load_scenario_file(c.scenario_path);
  if (!sc) {
    std::fprintf(stderr, "meshsim: %s\n", sc.status().message().c_str());
    return 2;
  }
  c.scenario = std::move(*sc);
  return 0;
}

bool write_json(const std::string& path, const nlohmann::json& j) {
  std::ofstream out(path, std::ios::trunc);
  out << j.dump(2) << "\n";
  if (!out) {
    std::fprintf(stderr, "meshsim: cannot write %s\n", path.c_str());
    return false;
  }
  return true;
}

}  // namespace

int cmd_run(int argc, char** argv) {
  CommonArgs c;
  RunOptions opt;
  std::string trace_path;
  for (int i = 0; i < argc; ++i) {
    const char* a = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (std::strcmp(a, "--seed") == 0) {
      if (!parse_u64(value(), opt.seed)) {
        std::fprintf(stderr, "meshsim run: --seed needs a non-negative integer\n");
        return 2;
      }
    } else if (std::strcmp(a, "--trace") == 0) {
      const char* v = value();
      if (!v) { std::fprintf(stderr, "meshsim run: --trace needs a file\n"); return 2; }
      trace_path = v;
    } else if (std::strcmp(a, "--json") == 0) {
      const char* v = value();
      if (!v) { std::fprintf(stderr, "meshsim run: --json needs a file\n"); return 2; }
      c.json_path = v;
    } else if (std::strcmp(a, "--until") == 0) {
      const char* v = value();
      char* end = nullptr;
      const double s = v ? std::strtod(v, &end) : -1;
      if (!v || *end != '\0' || s < 0) { std::fprintf(stderr, "meshsim run: --until needs seconds\n"); return 2; }
      opt.until_us = static_cast<int64_t>(s * 1e6);
    } else if (std::strcmp(a, "--check-determinism") == 0) {
      c.check_determinism = true;
    } else if (std::strcmp(a, "--verbose") == 0) {
      opt.log_stderr = true;
    } else if (a[0] == '-') {
      std::fprintf(stderr, "meshsim run: unknown option '%s'\n", a);
      return 2;
    } else if (c.scenario_path.empty()) {
      c.scenario_path = a;
    } else {
      std::fprintf(stderr, "meshsim run: unexpected argument '%s'\n", a);
      return 2;
    }
  }
  if (c.scenario_path.empty()) {
    std::fprintf(stderr, "usage: meshsim run SCENARIO [--seed N] [--trace FILE] [--check-determinism] [--until S] [--json FILE] [--verbose]\n");
    return 2;
  }
  if (int rc = load(c); rc != 0) return rc;
  const Scenario& sc = *c.scenario;
  opt.record_trace = !trace_path.empty() || c.check_determinism;

  const auto t0 = std::chrono::steady_clock::now();
  RunResult r = run_scenario(sc, opt);
  double wall_s = seconds_since(t0);
  std::string det_report;
  bool deterministic = true;
  if (c.check_determinism) {
    deterministic = check_determinism(sc, opt, r, &det_report);
    wall_s = seconds_since(t0);
  }
  for (const auto& v : r.violations) std::printf("violation: %s\n", v.c_str());
  if (r.violation_count > r.violations.size()) {
    std::printf("violation: ... and %llu more\n",
                static_cast<unsigned long long>(r.violation_count - r.violations.size()));
  }
  if (!deterministic) std::printf("nondeterminism: %s\n", det_report.c_str());
  if (!trace_path.empty()) {
    std::string err;
    if (!meshd::tools::write_chrome_trace(trace_path, r.trace, sc.nodes, &err)) {
      std::fprintf(stderr, "meshsim: %s\n", err.c_str());
      return 2;
    }
  }
  if (opt.until_us >= 0) std::printf("%s\n", r.final_state.dump(2).c_str());
  const bool pass = r.passed && deterministic;
  std::printf("%s scenario=%s seed=%llu nodes=%zu sim_s=%.3f wall_s=%.3f events=%llu trace_hash=%s\n",
              pass ? "PASS" : "FAIL", sc.name.c_str(), static_cast<unsigned long long>(opt.seed), sc.nodes,
              r.sim_us / 1e6, wall_s, static_cast<unsigned long long>(r.events), hex(r.trace_hash).c_str());
  if (!c.json_path.empty() && !write_json(c.json_path, result_json(sc, opt.seed, r, wall_s))) return 2;
  if (!pass) {
    std::printf("replay: meshsim run %s --seed %llu%s\n", c.scenario_path.c_str(),
                static_cast<unsigned long long>(opt.seed), c.check_determinism ? " --check-determinism" : "");
    return 1;
  }
  return 0;
}

int cmd_sweep(int argc, char** argv) {
  CommonArgs c;
  uint64_t first = 0, last = 0;
  bool have_seeds = false;
  bool require_distinct = false;  // every seed must produce its own trace
  for (int i = 0; i < argc; ++i) {
    const char* a = argv[i];
    if (std::strcmp(a, "--seeds") == 0 && i + 1 < argc) {
      std::string range = argv[++i];
      const size_t dots = range.find("..");
      if (dots == std::string::npos || !parse_u64(range.substr(0, dots).c_str(), first) ||
          !parse_u64(range.substr(dots + 2).c_str(), last) || last < first) {
        std::fprintf(stderr, "meshsim sweep: --seeds needs A..B with A <= B\n");
        return 2;
      }
      have_seeds = true;
    } else if (std::strcmp(a, "--check-determinism") == 0) {
      c.check_determinism = true;
    } else if (std::strcmp(a, "--require-distinct") == 0) {
      require_distinct = true;
    } else if (std::strcmp(a, "--json") == 0 && i + 1 < argc) {
      c.json_path = argv[++i];
    } else if (a[0] == '-') {
      std::fprintf(stderr, "meshsim sweep: unknown option '%s'\n", a);
      return 2;
    } else if (c.scenario_path.empty()) {
      c.scenario_path = a;
    } else {
      std::fprintf(stderr, "meshsim sweep: unexpected argument '%s'\n", a);
      return 2;
    }
  }
  if (c.scenario_path.empty() || !have_seeds) {
    std::fprintf(stderr, "usage: meshsim sweep SCENARIO --seeds A..B [--check-determinism] [--require-distinct] [--json FILE]\n");
    return 2;
  }
  if (int rc = load(c); rc != 0) return rc;
  const Scenario& sc = *c.scenario;
  const auto t0 = std::chrono::steady_clock::now();
  uint64_t passed = 0, failed = 0;
  std::vector<int64_t> detection, recovery;
  std::map<uint64_t, uint64_t> distinct_hashes;
  nlohmann::json per_seed = nlohmann::json::array();
  for (uint64_t seed = first; seed <= last; ++seed) {
    RunOptions opt;
    opt.seed = seed;
    opt.record_trace = c.check_determinism;  // the first run doubles as run 1
    const auto s0 = std::chrono::steady_clock::now();
    RunResult r = run_scenario(sc, opt);
    std::string det_report;
    const bool det = !c.check_determinism || check_determinism(sc, opt, r, &det_report);
    r.trace.clear();
    const bool ok = r.passed && det;
    ++distinct_hashes[r.trace_hash];
    if (ok) {
      ++passed;
    } else {
      ++failed;
      std::printf("FAIL seed=%llu %s\n  replay: meshsim run %s --seed %llu%s\n",
                  static_cast<unsigned long long>(seed),
                  !r.violations.empty() ? r.violations.front().c_str() : det_report.c_str(),
                  c.scenario_path.c_str(), static_cast<unsigned long long>(seed),
                  det ? "" : " --check-determinism");
    }
    // Per-seed maxima feed the sweep-wide distributions.
    detection.push_back(r.detection_us.max);
    recovery.push_back(r.recovery_us.max);
    if (!c.json_path.empty()) per_seed.push_back(result_json(sc, seed, r, seconds_since(s0)));
    if (seed == last) break;  // guard against last == UINT64_MAX overflow
  }
  const double wall_s = seconds_since(t0);
  const uint64_t total = passed + failed;
  const Distribution d = distribution_of(detection), rc = distribution_of(recovery);
  std::printf("sweep scenario=%s seeds=%llu..%llu distinct_trace_hashes=%zu seeds_per_s=%.1f wall_s=%.1f\n",
              sc.name.c_str(), static_cast<unsigned long long>(first), static_cast<unsigned long long>(last),
              distinct_hashes.size(), wall_s > 0 ? total / wall_s : 0.0, wall_s);
  std::printf("worst detection per seed: p50=%.1fms p99=%.1fms max=%.1fms; worst recovery per seed: p50=%.1fms p99=%.1fms max=%.1fms\n",
              d.p50 / 1e3, d.p99 / 1e3, d.max / 1e3, rc.p50 / 1e3, rc.p99 / 1e3, rc.max / 1e3);
  if (require_distinct && distinct_hashes.size() != total) {
    std::printf("FAIL: %llu seeds produced only %zu distinct trace hashes (--require-distinct)\n",
                static_cast<unsigned long long>(total), distinct_hashes.size());
    ++failed;
  }
  std::printf("%llu passed, %llu failed\n", static_cast<unsigned long long>(passed),
              static_cast<unsigned long long>(failed));
  if (!c.json_path.empty() &&
      !write_json(c.json_path, {{"scenario", sc.name}, {"passed", passed}, {"failed", failed},
                                {"wall_s", wall_s}, {"seeds", per_seed}})) {
    return 2;
  }
  return failed == 0 ? 0 : 1;
}
