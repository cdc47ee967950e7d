// bench_sweep: the cost figures of issue 5's seed sweeps, measured on one
// core in-process:
//   * seeds per core-hour of a 60-simulated-second, 5-node scenario with
//     faults (scenarios/crash-restart.json and partition-heal.json by
//     default, or the files given as arguments; goal >= 10 000);
//   * the determinism-check cost ratio: a run twice with full recording
//     (what --check-determinism does) over one plain run (goal < 2x; a
//     plain check needs 2x by construction, so the goal reads "recording
//     adds little");
//   * the isolation cost per seed of the sweep's fork-per-seed model:
//     fork + a 4 KiB JSON record through a pipe + waitpid, with the
//     simulator's libraries mapped (goal < 5 ms). `meshsim sweep` also
//     prints the measured overhead of each real sweep.
// Real time here is for measuring only (tools/ is not under the lint).
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "sim/scenario/runner.h"
#include "sim/scenario/scenario.h"

using namespace meshd;
using namespace meshd::sim;

namespace {

constexpr uint64_t kSeeds = 20;
constexpr int kForks = 200;

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double run_seeds(const Scenario& sc, bool record, int runs_per_seed, uint64_t* events) {
  const auto t0 = std::chrono::steady_clock::now();
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    for (int k = 0; k < runs_per_seed; ++k) {
      RunOptions opt;
      opt.seed = seed;
      opt.record_trace = record;
      opt.final_state = false;
      RunResult r = run_scenario(sc, opt);
      if (events) *events += r.events;
    }
  }
  return seconds_since(t0) / static_cast<double>(kSeeds);
}

double fork_overhead_s() {
  const std::string record(4096, 'x');
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kForks; ++i) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return -1;
    const pid_t pid = fork();
    if (pid == 0) {
      close(fds[0]);
      if (write(fds[1], record.data(), record.size()) < 0) _exit(1);
      _exit(0);
    }
    close(fds[1]);
    char buf[8192];
    while (read(fds[0], buf, sizeof buf) > 0) {}
    close(fds[0]);
    waitpid(pid, nullptr, 0);
  }
  return seconds_since(t0) / kForks;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> paths;
  for (int i = 1; i < argc; ++i) paths.emplace_back(argv[i]);
  if (paths.empty()) paths = {"scenarios/crash-restart.json", "scenarios/partition-heal.json"};
  for (const auto& path : paths) {
    auto sc = load_scenario_file(path);
    if (!sc) {
      std::fprintf(stderr, "bench_sweep: %s (run from the repository root or pass scenario files)\n",
                   sc.status().message().c_str());
      return 2;
    }
    uint64_t events = 0;
    const double plain_s = run_seeds(*sc, false, 1, &events);
    const double checked_s = run_seeds(*sc, true, 2, nullptr);
    std::printf("%s (%zu nodes, %.0f sim-s, %zu faults): %.1f ms/seed, %.0f events/seed -> %.0f seeds/core-hour; "
                "determinism check %.2fx a plain run\n",
                sc->name.c_str(), sc->nodes, sc->duration_us / 1e6, sc->faults.size(), plain_s * 1e3,
                static_cast<double>(events) / kSeeds, 3600.0 / plain_s, checked_s / plain_s);
  }
  std::printf("isolation: fork + 4 KiB record + waitpid: %.3f ms/seed\n", fork_overhead_s() * 1e3);
  return 0;
}
