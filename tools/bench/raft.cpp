// bench_raft: Raft figures from the simulator (docs/consensus.md, "Figures").
//
//  1. Time from a leader crash to the next leader, p50/p99/max over
//     RAFT_BENCH_SEEDS seeds (default 1000) of scenarios/raft-leader-crash.json
//     (4 voters, heartbeat 50 ms, election timeout 300 ms) and of the same
//     scenario at etcd's defaults (heartbeat 100 ms, election timeout 1000 ms).
//  2. Availability under the storm of scenarios/raft-storm.json and
//     raft-storm-5.json: the share of 100 ms windows of the storm in which
//     some client operation completed.
//  3. Simulated committed writes per simulated second with 3 and 5 voters,
//     no faults, 16 clients each with one request outstanding back to back
//     (a latency-bound figure: 1 ms one-way links, 500 us fsyncs).
// Seeds run one after another in this process; everything is virtual time.
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "sim/scenario/runner.h"
#include "sim/scenario/scenario.h"

using namespace meshd;
using namespace meshd::sim;

namespace {

Scenario load(const std::string& name) {
  auto sc = load_scenario_file(std::string(MESHD_SOURCE_DIR) + "/scenarios/" + name + ".json");
  if (!sc) {
    std::fprintf(stderr, "bench_raft: %s\n", sc.status().to_string().c_str());
    std::exit(2);
  }
  return *sc;
}

std::string dist(std::vector<int64_t> v) {
  if (v.empty()) return "n=0";
  std::sort(v.begin(), v.end());
  auto at = [&](size_t p) { return v[std::min(v.size() - 1, v.size() * p / 100)] / 1e3; };
  return fmt::format("n={} p50={:.0f}ms p99={:.0f}ms max={:.0f}ms", v.size(), at(50), at(99), v.back() / 1e3);
}

int failures = 0;

RunResult run(const Scenario& sc, uint64_t seed) {
  RunOptions opt;
  opt.seed = seed;
  opt.final_state = false;
  RunResult r = run_scenario(sc, opt);
  if (!r.passed) {
    ++failures;
    std::printf("FAIL %s seed=%llu: %s\n", sc.name.c_str(), static_cast<unsigned long long>(seed),
                r.violations.empty() ? "?" : r.violations[0].c_str());
  }
  return r;
}

void election_figure(Scenario sc, const std::string& label, uint64_t seeds) {
  std::vector<int64_t> samples;
  for (uint64_t s = 1; s <= seeds; ++s) {
    RunResult r = run(sc, s);
    for (int64_t us : r.raft["election_after_crash_us"].get<std::vector<int64_t>>()) samples.push_back(us);
  }
  std::printf("leader crash -> new leader [%s]: %s\n", label.c_str(), dist(samples).c_str());
}

void availability_figure(const Scenario& sc, uint64_t seeds) {
  uint64_t windows = 0, available = 0;
  std::vector<int64_t> stable;
  for (uint64_t s = 1; s <= seeds; ++s) {
    RunResult r = run(sc, s);
    windows += r.raft["storm_windows"].get<uint64_t>();
    available += r.raft["storm_windows_available"].get<uint64_t>();
    stable.push_back(r.raft["stable_leader_after_storm_us"].get<int64_t>());
  }
  std::printf("availability under the storm [%s]: %.1f%% of %llu 100-ms windows; stable leader after the storm: %s\n",
              sc.name.c_str(), windows ? 100.0 * static_cast<double>(available) / static_cast<double>(windows) : 0.0,
              static_cast<unsigned long long>(windows), dist(stable).c_str());
}

void throughput_figure(Scenario sc, int64_t voters) {
  RaftSpec& spec = *sc.raft;
  spec.voters = voters;
  spec.storm = RaftStorm{};
  spec.crash_after_vote_percent = 0;
  spec.drift_ppm_max = 0;
  spec.op_interval_ms = 0;
  spec.read_percent = 0;
  spec.cas_percent = 0;
  sc.nodes = static_cast<size_t>(voters) + 16;
  sc.network.loss = 0;
  RunResult r = run(sc, 1);
  const double s = r.sim_us / 1e6;
  std::printf("sim committed writes/s [%lld voters, 16 clients, no faults]: %.0f (%llu entries in %.0f s)\n",
              static_cast<long long>(voters), static_cast<double>(r.raft["committed"].get<uint64_t>()) / s,
              static_cast<unsigned long long>(r.raft["committed"].get<uint64_t>()), s);
}

}  // namespace

int main() {
  const char* env = std::getenv("RAFT_BENCH_SEEDS");  // lint:allow bench configuration, not in core/ or sim/
  const uint64_t seeds = env ? std::strtoull(env, nullptr, 10) : 1000;
  Scenario crash = load("raft-leader-crash");
  election_figure(crash, "4 voters, heartbeat 50 ms, election timeout 300..600 ms", seeds);
  crash.raft->heartbeat_ms = 100;
  crash.raft->election_timeout_ms = 1000;
  crash.duration_us = 12'000'000;
  crash.raft->leader_within_ms = 8000;
  election_figure(crash, "4 voters, etcd defaults: heartbeat 100 ms, election timeout 1000..2000 ms", seeds);
  Scenario lossy = load("raft-leader-crash");
  lossy.network.loss = 0.05;
  lossy.raft->elections_max = 0;  // loss may depose a leader: not this figure's question
  election_figure(lossy, "4 voters, 5% loss, election timeout 300..600 ms", seeds);
  availability_figure(load("raft-storm"), std::max<uint64_t>(1, seeds / 4));
  availability_figure(load("raft-storm-5"), std::max<uint64_t>(1, seeds / 4));
  throughput_figure(load("raft-storm"), 3);
  throughput_figure(load("raft-storm"), 5);
  if (failures > 0) std::printf("bench_raft: %d seeds failed\n", failures);
  return failures > 0 ? 1 : 0;
}
