// bench_dilation: time dilation (simulated seconds per wall second) and
// peak memory of the smoke scenario at 5, 100 and 1000 nodes.
//
// The scenario is scenarios/smoke.json's shape built in code so the node
// count can vary: a full mesh of liveness peers (each node pings every other
// every 100 ms, down after 500 ms), 300 us + exp(700 us) latency, clock
// offsets up to 5 s and drift up to 200 ppm, the liveness oracle checking
// every verdict. Its cost grows with N^2 (N*(N-1) pings per interval), so
// larger meshes simulate fewer seconds.
//
// Each size runs in a forked child so its peak RSS (ru_maxrss from wait4)
// is its own. Usage: bench_dilation [--nodes N --sim-s S] (one size) or no
// arguments for the default table. Real time is for measuring only (tools/
// is not under the determinism lint).
#include <fmt/format.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "sim/scenario/runner.h"

using namespace meshd;
using namespace meshd::sim;

namespace {

Scenario smoke(size_t nodes, double sim_s) {
  Scenario sc;
  sc.name = fmt::format("smoke-{}", nodes);
  sc.nodes = nodes;
  sc.duration_us = static_cast<int64_t>(sim_s * 1e6);
  sc.liveness.ping_interval_ms = 100;
  sc.liveness.down_after_ms = 500;
  sc.network.latency_us_min = 300;
  sc.network.latency_us_mean = 700;
  sc.clock_offset_us_max = 5'000'000;
  sc.clock_drift_ppm_max = 200;
  sc.invariants.detect_down_within_us = 700'000;
  sc.invariants.detect_up_within_us = 700'000;
  sc.invariants.no_false_down = true;
  return sc;
}

// Runs in the child: prints one result row, exits 0 on PASS.
int run_one(size_t nodes, double sim_s) {
  const Scenario sc = smoke(nodes, sim_s);
  RunOptions options;
  options.seed = 1;
  options.final_state = false;  // a JSON dump of 10^6 peer views is not the simulation
  const auto t0 = std::chrono::steady_clock::now();
  const RunResult r = run_scenario(sc, options);
  const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double simulated_s = static_cast<double>(r.sim_us) / 1e6;
  // No newline: the parent appends the child's peak RSS to this row.
  std::printf("%6zu %8.1f %9.3f %12.1f %12.0f %12.0f %6s", nodes, simulated_s, wall_s,
              simulated_s / wall_s, static_cast<double>(r.events), static_cast<double>(r.events) / wall_s,
              r.passed ? "PASS" : "FAIL");
  std::fflush(stdout);
  return r.passed ? 0 : 1;
}

struct Size {
  size_t nodes;
  double sim_s;
};

}  // namespace

int main(int argc, char** argv) {
  std::vector<Size> sizes = {{5, 600}, {100, 20}, {1000, 1}};
  if (argc == 5 && std::strcmp(argv[1], "--nodes") == 0 && std::strcmp(argv[3], "--sim-s") == 0) {
    sizes = {{static_cast<size_t>(std::atol(argv[2])), std::atof(argv[4])}};
  } else if (argc != 1) {
    std::fprintf(stderr, "usage: bench_dilation [--nodes N --sim-s S]\n");
    return 2;
  }
  std::printf("smoke scenario, full mesh, 100 ms pings, seed 1; one child process per size\n");
  std::printf("%6s %8s %9s %12s %12s %12s %s %10s\n", "nodes", "sim_s", "wall_s", "dilation", "events",
              "events/s", "oracle", "peak_MiB");
  std::fflush(stdout);
  int failures = 0;
  for (const Size& s : sizes) {
    std::fflush(stdout);
    const pid_t pid = fork();
    if (pid < 0) {
      std::perror("fork");
      return 1;
    }
    if (pid == 0) _exit(run_one(s.nodes, s.sim_s));
    int status = 0;
    struct rusage usage {};
    if (wait4(pid, &status, 0, &usage) != pid) {
      std::perror("wait4");
      return 1;
    }
    std::printf(" %10.1f\n", static_cast<double>(usage.ru_maxrss) / 1024.0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ++failures;
  }
  return failures == 0 ? 0 : 1;
}
