// `meshsim sweep`: many seeds, each in its own forked child (fork_pool.h),
// `--jobs` at a time, optionally one shard of the range; a live progress
// line, per-failure replay commands, sweep-wide bound percentiles, JSON and
// JUnit reports. The last line of stdout is always
// `sweep: N passed, M failed`.
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "tools/meshsim/buggify_tally.h"
#include "tools/meshsim/cli.h"
#include "tools/meshsim/commands.h"
#include "tools/meshsim/coverage.h"
#include "tools/meshsim/fork_pool.h"
#include "tools/meshsim/histogram.h"
#include "tools/meshsim/junit.h"
#include "tools/meshsim/seed_run.h"

using namespace meshd;
using namespace meshd::sim;
using namespace meshd::tools;

namespace {

constexpr uint64_t kSweepSeedsMax = 1'000'000'000;   // one sweep's seed count (seeds are generated, not stored)
constexpr int kPollMs = 100;                          // progress refresh period
constexpr double kPlainProgressPeriodS = 10.0;        // non-TTY progress lines
constexpr size_t kPrintedViolationsMax = 3;           // per failing seed

struct SweepArgs {
  std::string scenario_path, json_path, junit_path, plan_path, planted_bug;
  uint64_t first = 0, last = 0, shard_k = 1, shard_n = 1, jobs = 1, seed = 0;
  bool have_seeds = false, swarm = false, check_determinism = false, require_distinct = false, seed_given = false;
  bool fail_fast = false;  // stop starting seeds after the first failure (tools/mutate)
  double seed_timeout_s = 0;
};

const char* kUsage =
    "usage: meshsim sweep SCENARIO --seeds A..B [--jobs N] [--shard K/N] [--swarm] [--check-determinism]\n"
    "                     [--require-distinct] [--junit FILE] [--json FILE] [--seed-timeout S]\n"
    "                     [--plan FILE] [--plant-bug NAME] [--fail-fast]\n";

int parse_args(int argc, char** argv, SweepArgs& a) {
  ArgWalker w{argc, argv};
  for (; w.i < argc; ++w.i) {
    const std::string arg = argv[w.i];
    const int took = take_source_flag("sweep", w, a.seed, a.seed_given, a.swarm, a.plan_path, a.planted_bug);
    if (took == kTakeError) return kExitUsage;
    if (took == 1) continue;
    auto value = [&]() -> const char* { return w.next_value(); };
    if (arg == "--seeds") {
      const char* v = value();
      if (!v || !parse_seed_range(v, a.first, a.last)) return usage_error("sweep", "--seeds needs A..B with A <= B");
      if (a.last - a.first >= kSweepSeedsMax) return usage_error("sweep", "--seeds: at most 1000000000 seeds per sweep");
      a.have_seeds = true;
    } else if (arg == "--jobs") {
      const char* v = value();
      if (!v || !parse_u64(v, a.jobs) || a.jobs < 1 || a.jobs > kForkPoolJobsMax) {
        return usage_error("sweep", "--jobs needs an integer in [1, 256]");
      }
    } else if (arg == "--shard") {
      const char* v = value();
      if (!v || !parse_shard(v, a.shard_k, a.shard_n)) return usage_error("sweep", "--shard needs K/N with 1 <= K <= N");
    } else if (arg == "--json" || arg == "--junit") {
      const char* v = value();
      if (!v) return usage_error("sweep", arg + " needs a file");
      (arg == "--json" ? a.json_path : a.junit_path) = v;
    } else if (arg == "--seed-timeout") {
      const char* v = value();
      if (!v || !parse_seconds(v, a.seed_timeout_s)) return usage_error("sweep", "--seed-timeout needs seconds");
    } else if (arg == "--check-determinism") {
      a.check_determinism = true;
    } else if (arg == "--require-distinct") {
      a.require_distinct = true;
    } else if (arg == "--fail-fast") {
      a.fail_fast = true;
    } else if (arg[0] == '-') {
      return usage_error("sweep", "unknown option '" + arg + "'");
    } else if (a.scenario_path.empty()) {
      a.scenario_path = arg;
    } else {
      return usage_error("sweep", "unexpected argument '" + arg + "'");
    }
  }
  if (a.scenario_path.empty() || !a.have_seeds) {
    std::fputs(kUsage, stderr);
    return kExitUsage;
  }
  if (a.seed_given) return usage_error("sweep", "--seed is for run/replay; a sweep takes --seeds A..B");
  return 0;
}

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string ms(int64_t us) { return fmt::format("{:.1f}ms", static_cast<double>(us) / 1e3); }

class Progress {
 public:
  Progress(size_t total) : total_(total), tty_(isatty(STDERR_FILENO) == 1), t0_(std::chrono::steady_clock::now()) {}
  void update(size_t done, size_t failed, bool final) {
    const double wall = since(t0_);
    const double rate = wall > 0 ? static_cast<double>(done) / wall : 0;
    const double eta = rate > 0 ? static_cast<double>(total_ - done) / rate : 0;
    const std::string line = fmt::format("sweep: {}/{} seeds, {} failed, {:.1f} seeds/s, eta {:.0f}s", done, total_,
                                         failed, rate, eta);
    if (tty_) {
      std::fprintf(stderr, "\r\033[K%s%s", line.c_str(), final ? "\n" : "");
    } else if (!final && wall - last_plain_s_ >= kPlainProgressPeriodS) {
      std::fprintf(stderr, "%s\n", line.c_str());
      last_plain_s_ = wall;
    }
    std::fflush(stderr);
  }

 private:
  size_t total_;
  bool tty_;
  std::chrono::steady_clock::time_point t0_;
  double last_plain_s_ = 0;
};

// The record of a seed whose child died or sent nothing parseable.
nlohmann::json crash_record(uint64_t seed, const ChildOutcome& o) {
  std::string kind = !o.exited ? "signal:" + signal_name(o.signal) : fmt::format("exit:{}", o.exit_code);
  if (o.timed_out) kind = "timeout";
  return {{"seed", seed}, {"passed", false}, {"crashed", o.failure()}, {"kinds", {kind}},
          {"violations", nlohmann::json::array({"seed process " + o.failure()})}, {"wall_s", o.wall_s}};
}

std::string first_violation(const nlohmann::json& rec) {
  if (rec.contains("nondeterminism")) return "nondeterminism: " + rec["nondeterminism"].get<std::string>();
  const auto& v = rec["violations"];
  return v.empty() ? std::string("failed") : v[0].get<std::string>();
}

}  // namespace

int cmd_sweep(int argc, char** argv) {
  SweepArgs a;
  if (int rc = parse_args(argc, argv, a); rc != 0) return rc;
  SeedSource src;
  if (int rc = load_source("sweep", a.scenario_path, a.swarm, a.plan_path, a.planted_bug, src); rc != 0) return rc;
  std::vector<std::string> must_reach;
  if (std::string err; !load_must_reach(a.scenario_path, must_reach, err)) return usage_error("sweep", err);

  // --shard K/N: seed A+i belongs to shard (i mod N) + 1, so shards are
  // disjoint, cover the range, and each gets a spread of seeds. Seeds are
  // generated, not stored: shard seed j is A + (K-1) + j*N.
  const uint64_t offset = a.shard_k - 1;
  const uint64_t count = a.last - a.first >= offset ? (a.last - a.first - offset) / a.shard_n + 1 : 0;
  std::printf("sweep scenario=%s seeds=%llu..%llu shard=%llu/%llu (%llu seeds) jobs=%llu%s%s\n", src.base.name.c_str(),
              static_cast<unsigned long long>(a.first), static_cast<unsigned long long>(a.last),
              static_cast<unsigned long long>(a.shard_k), static_cast<unsigned long long>(a.shard_n),
              static_cast<unsigned long long>(count), static_cast<unsigned long long>(a.jobs),
              a.swarm ? " swarm" : "", a.check_determinism ? " check-determinism" : "");

  // Results are folded in as they arrive; full records are kept only for
  // failing seeds, or for every seed when a report file asks for them.
  const bool keep_all = !a.json_path.empty() || !a.junit_path.empty();
  const auto t0 = std::chrono::steady_clock::now();
  ForkPool pool(a.jobs, a.seed_timeout_s);
  Progress progress(count);
  std::map<uint64_t, nlohmann::json> records;
  uint64_t passed = 0, failed = 0, next = 0;
  LatencyHistogram detection, recovery, run_wall_us;
  // Membership (scenarios with a "membership" block): sweep-wide figures.
  LatencyHistogram m_detection, m_convergence, m_join, m_rejoin, m_leave;
  bool m_enabled = false;
  uint64_t m_false_failed = 0, m_flaps = 0, m_flaps_max_pair = 0, m_runs_with_fp = 0;
  double m_msgs_sum = 0;
  std::vector<int64_t> m_fp_per_run;
  std::set<std::string> hashes;
  BuggifyTally buggify;
  CoverageTally coverage;
  double overhead_s = 0;
  size_t overhead_n = 0;
  auto accept = [&](const ChildOutcome& o) {
    nlohmann::json rec;
    if (o.ok()) rec = nlohmann::json::parse(o.output, nullptr, false);
    if (!o.ok() || rec.is_discarded() || !rec.is_object()) rec = crash_record(o.tag, o);
    const bool ok = rec["passed"].get<bool>();
    (ok ? passed : failed) += 1;
    if (rec.contains("trace_hash")) {
      hashes.insert(rec["trace_hash"].get<std::string>());
      for (const auto& v : rec["detection_samples_us"]) detection.add(v.get<int64_t>());
      for (const auto& v : rec["recovery_samples_us"]) recovery.add(v.get<int64_t>());
      run_wall_us.add(static_cast<int64_t>(rec["wall_s"].get<double>() * 1e6));
      overhead_s += o.wall_s - rec["wall_s"].get<double>();
      ++overhead_n;
      buggify.add(rec);
      coverage.add(rec);
      rec.erase("reached");
      rec.erase("detection_samples_us");  // reports keep per-seed distributions
      rec.erase("recovery_samples_us");
      if (rec.contains("membership")) {
        nlohmann::json& m = rec["membership"];
        m_enabled = true;
        for (const auto& v : m["detection_samples_us"]) m_detection.add(v.get<int64_t>());
        for (const auto& v : m["convergence_samples_us"]) m_convergence.add(v.get<int64_t>());
        for (const auto& v : m["join_samples_us"]) m_join.add(v.get<int64_t>());
        for (const auto& v : m["rejoin_samples_us"]) m_rejoin.add(v.get<int64_t>());
        for (const auto& v : m["leave_samples_us"]) m_leave.add(v.get<int64_t>());
        const uint64_t fp = m["false_failed"].get<uint64_t>();
        m_false_failed += fp;
        m_runs_with_fp += fp > 0;
        m_fp_per_run.push_back(static_cast<int64_t>(fp));
        m_flaps += m["flaps"].get<uint64_t>();
        m_flaps_max_pair = std::max(m_flaps_max_pair, m["flaps_max_pair"].get<uint64_t>());
        m_msgs_sum += m["msgs_per_node_s"].get<double>();
        for (const char* k : {"detection_samples_us", "convergence_samples_us", "join_samples_us", "rejoin_samples_us", "leave_samples_us"}) {
          m.erase(k);
        }
      }
    }
    if (!ok || keep_all) records[o.tag] = std::move(rec);
  };
  while ((next < count && !(a.fail_fast && failed > 0)) || pool.running() > 0) {
    // --fail-fast: seeds start in increasing order and none starts after a
    // failure, so the lowest failing seed among those run is reported.
    while (next < count && pool.has_slot() && !(a.fail_fast && failed > 0)) {
      const uint64_t seed = a.first + offset + next++ * a.shard_n;
      ChildOutcome err;
      const bool check = a.check_determinism;
      if (!pool.start(seed, [&src, seed, check] { return run_seed_record(src, seed, check).dump(); }, &err)) {
        accept(err);
      }
    }
    for (const ChildOutcome& o : pool.wait_some(kPollMs)) accept(o);
    progress.update(passed + failed, failed, false);
  }
  progress.update(passed + failed, failed, true);
  const double wall_s = since(t0);

  // Report, in seed order.
  nlohmann::json per_seed = nlohmann::json::array();
  std::vector<JunitCase> cases;
  std::map<std::string, uint64_t> failure_kinds;
  for (auto& [seed, rec] : records) {
    const bool ok = rec["passed"].get<bool>();
    const std::string replay = replay_command(src, seed, a.check_determinism);
    JunitCase jc{fmt::format("seed {}", seed), rec.value("wall_s", 0.0), !ok, "", ""};
    if (!ok) {
      std::string kinds;
      for (const auto& k : rec["kinds"]) {
        kinds += (kinds.empty() ? "" : ",") + k.get<std::string>();
        ++failure_kinds[k.get<std::string>()];
      }
      std::printf("FAIL seed=%llu [%s] %s\n", static_cast<unsigned long long>(seed), kinds.c_str(),
                  first_violation(rec).c_str());
      const auto& vs = rec["violations"];
      for (size_t i = 1; i < vs.size() && i < kPrintedViolationsMax; ++i) {
        std::printf("  also: %s\n", vs[i].get<std::string>().c_str());
      }
      if (rec.value("violation_count", uint64_t{0}) > kPrintedViolationsMax) {
        std::printf("  ... %llu violations in all\n",
                    static_cast<unsigned long long>(rec["violation_count"].get<uint64_t>()));
      }
      std::printf("  replay: %s\n", replay.c_str());
      jc.message = first_violation(rec);
      for (const auto& v : vs) jc.details += v.get<std::string>() + "\n";
      jc.details += "replay: " + replay + "\n";
    }
    if (!a.junit_path.empty()) cases.push_back(std::move(jc));
    if (!a.json_path.empty()) {
      rec["replay"] = replay;
      per_seed.push_back(std::move(rec));
    }
  }
  const uint64_t total = passed + failed;
  const Distribution det = detection.summary(), rec = recovery.summary(), run = run_wall_us.summary();
  const double overhead_ms = overhead_n > 0 ? overhead_s * 1e3 / static_cast<double>(overhead_n) : 0;
  std::printf("bounds over %llu seeds: detection n=%zu p50=%s p99=%s max=%s | recovery n=%zu p50=%s p99=%s max=%s\n",
              static_cast<unsigned long long>(total), det.count, ms(det.p50).c_str(), ms(det.p99).c_str(),
              ms(det.max).c_str(), rec.count, ms(rec.p50).c_str(), ms(rec.p99).c_str(), ms(rec.max).c_str());
  std::printf("wall %.2fs, %.1f seeds/s on %llu jobs; per seed: run p50=%s p99=%s max=%s, isolation overhead %.2fms; "
              "distinct trace hashes %zu\n",
              wall_s, wall_s > 0 ? static_cast<double>(total) / wall_s : 0.0, static_cast<unsigned long long>(a.jobs),
              ms(run.p50).c_str(), ms(run.p99).c_str(), ms(run.max).c_str(), overhead_ms, hashes.size());
  nlohmann::json m_bounds = nullptr;
  if (m_enabled) {
    const Distribution md = m_detection.summary(), mc = m_convergence.summary(), mj = m_join.summary(),
                       mr = m_rejoin.summary(), ml = m_leave.summary();
    const Distribution fp = distribution_of(m_fp_per_run);
    const double runs = static_cast<double>(m_fp_per_run.size());
    std::printf("membership over %zu seeds: detection n=%zu p50=%s p99=%s max=%s | convergence n=%zu p50=%s p99=%s "
                "max=%s | join p50=%s p99=%s max=%s | rejoin n=%zu p50=%s p99=%s max=%s | leave n=%zu p50=%s p99=%s max=%s\n",
                m_fp_per_run.size(), md.count, ms(md.p50).c_str(), ms(md.p99).c_str(), ms(md.max).c_str(), mc.count,
                ms(mc.p50).c_str(), ms(mc.p99).c_str(), ms(mc.max).c_str(), ms(mj.p50).c_str(), ms(mj.p99).c_str(),
                ms(mj.max).c_str(), mr.count, ms(mr.p50).c_str(), ms(mr.p99).c_str(), ms(mr.max).c_str(), ml.count,
                ms(ml.p50).c_str(), ms(ml.p99).c_str(), ms(ml.max).c_str());
    std::printf("membership false positives: %llu in all, %.3f per run (p99 %lld, max %lld), %llu runs with any; "
                "flaps %llu (worst pair %llu); swim msgs/node/s %.2f\n",
                static_cast<unsigned long long>(m_false_failed), runs > 0 ? static_cast<double>(m_false_failed) / runs : 0.0,
                static_cast<long long>(fp.p99), static_cast<long long>(fp.max),
                static_cast<unsigned long long>(m_runs_with_fp), static_cast<unsigned long long>(m_flaps),
                static_cast<unsigned long long>(m_flaps_max_pair), runs > 0 ? m_msgs_sum / runs : 0.0);
    m_bounds = {{"detection", distribution_json(md)}, {"convergence", distribution_json(mc)},
                {"join", distribution_json(mj)}, {"rejoin", distribution_json(mr)}, {"leave", distribution_json(ml)},
                {"false_failed", m_false_failed}, {"false_failed_per_run", distribution_json(fp)},
                {"runs_with_false_failed", m_runs_with_fp}, {"flaps", m_flaps},
                {"flaps_max_pair", m_flaps_max_pair}, {"msgs_per_node_s", runs > 0 ? m_msgs_sum / runs : 0.0}};
  }
  if (buggify.seeds > 0) std::printf("%s", buggify.text().c_str());
  std::printf("%s", coverage.text().c_str());
  std::string unreached;
  for (const std::string& n : must_reach) {
    if (!coverage.reached.count(n)) unreached += (unreached.empty() ? "" : ", ") + n;
  }
  // Only a sweep that ran to the end can say something was never reached.
  const bool reach_ok = unreached.empty() || (a.fail_fast && failed > 0);
  if (!reach_ok) std::printf("FAIL: not reached in any seed (must_reach): %s\n", unreached.c_str());
  const bool distinct_ok = !a.require_distinct || hashes.size() == total;
  if (!distinct_ok) {
    std::printf("FAIL: %llu seeds produced only %zu distinct trace hashes (--require-distinct)\n",
                static_cast<unsigned long long>(total), hashes.size());
  }
  int rc = failed == 0 && distinct_ok && reach_ok ? 0 : 1;
  if (!a.json_path.empty()) {
    nlohmann::json kinds = failure_kinds;
    const nlohmann::json report = {
        {"scenario", src.base.name}, {"swarm", a.swarm}, {"seeds", {a.first, a.last}},
        {"shard", fmt::format("{}/{}", a.shard_k, a.shard_n)}, {"jobs", a.jobs},
        {"check_determinism", a.check_determinism}, {"passed", passed}, {"failed", failed},
        {"failure_kinds", kinds}, {"wall_s", wall_s},
        {"seeds_per_s", wall_s > 0 ? static_cast<double>(total) / wall_s : 0.0},
        {"isolation_overhead_ms_per_seed", overhead_ms}, {"distinct_trace_hashes", hashes.size()},
        {"bounds", {{"detection", distribution_json(det)}, {"recovery", distribution_json(rec)},
                    {"run_wall", distribution_json(run)}, {"membership", m_bounds}}},
        {"buggify", buggify.json()},
        {"coverage", {{"reached", coverage.reached}, {"never_reached", coverage.never_reached()},
                      {"must_reach_missing", unreached}}},
        {"per_seed", per_seed}};
    if (Status s = write_json_file(a.json_path, report); !s) rc = usage_error("sweep", "--json: " + s.message());
  }
  if (!a.junit_path.empty()) {
    std::string err;
    if (!write_junit(a.junit_path, "meshsim." + src.base.name + (a.swarm ? ".swarm" : ""), cases, wall_s, &err)) {
      rc = usage_error("sweep", "--junit: " + err);
    }
  }
  std::printf("sweep: %llu passed, %llu failed\n", static_cast<unsigned long long>(passed),
              static_cast<unsigned long long>(failed));
  return rc;
}
