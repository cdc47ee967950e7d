// `meshsim diverge SCENARIO --seed N [--against BINARY]`: runs the seed
// twice in this binary — or once here and once under BINARY (another build:
// gcc vs clang, -O0 vs -O2), which streams its trace through the hidden
// `emit-trace` subcommand — and names the first event where the traces
// differ, printing both events and the three before them.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "sim/scenario/runner.h"
#include "tools/meshsim/cli.h"
#include "tools/meshsim/commands.h"
#include "tools/meshsim/fork_pool.h"
#include "tools/meshsim/seed_run.h"

using namespace meshd;
using namespace meshd::sim;
using namespace meshd::tools;

namespace {

constexpr TraceKind kLastTraceKind = TraceKind::check;

bool parse_kind(const std::string& name, TraceKind& out) {
  for (int k = 0; k <= static_cast<int>(kLastTraceKind); ++k) {
    if (trace_kind_name(static_cast<TraceKind>(k)) == name) {
      out = static_cast<TraceKind>(k);
      return true;
    }
  }
  return false;
}

// Runs `argv` and parses its emit-trace output into events.
bool read_foreign_trace(const std::vector<std::string>& args, std::vector<TraceEvent>& out, uint64_t& hash,
                        std::string& error) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    error = "pipe failed";
    return false;
  }
  std::fflush(stdout);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    std::vector<char*> cargv;
    for (const auto& a : args) cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    execv(cargv[0], cargv.data());
    std::fprintf(stderr, "meshsim diverge: cannot execute %s: %s\n", cargv[0], std::strerror(errno));
    _exit(127);
  }
  close(fds[1]);
  FILE* in = fdopen(fds[0], "r");
  char* line = nullptr;
  size_t cap = 0;
  bool ended = false;
  while (getline(&line, &cap, in) > 0) {
    std::string s(line);
    if (!s.empty() && s.back() == '\n') s.pop_back();
    if (s.rfind("end ", 0) == 0) {
      unsigned long long n = 0, h = 0;
      ended = std::sscanf(s.c_str(), "end %llu %llx", &n, &h) == 2;
      hash = h;
      continue;
    }
    TraceEvent e;
    long long t = 0;
    unsigned node = 0;
    char kind[32] = {0};
    unsigned long long digest = 0;
    int consumed = 0;
    if (std::sscanf(s.c_str(), "%lld %u %31s %llx %n", &t, &node, kind, &digest, &consumed) < 4 ||
        !parse_kind(kind, e.kind)) {
      error = "unparseable trace line: " + s;
      break;
    }
    e.t_us = t;
    e.node = node;
    e.digest = digest;
    e.detail = s.substr(static_cast<size_t>(consumed));
    out.push_back(std::move(e));
  }
  std::free(line);
  fclose(in);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!error.empty()) return false;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !ended) {
    error = fmt::format("{} emit-trace did not finish cleanly ({})", args[0],
                        WIFSIGNALED(status) ? signal_name(WTERMSIG(status))
                                            : fmt::format("exit {}", WIFEXITED(status) ? WEXITSTATUS(status) : -1));
    return false;
  }
  return true;
}

}  // namespace

int cmd_diverge(int argc, char** argv) {
  std::string scenario_path, plan_path, planted_bug, against;
  uint64_t seed = 1;
  bool seed_given = false, swarm = false;
  ArgWalker w{argc, argv};
  for (; w.i < argc; ++w.i) {
    const std::string arg = argv[w.i];
    const int took = take_source_flag("diverge", w, seed, seed_given, swarm, plan_path, planted_bug);
    if (took == kTakeError) return kExitUsage;
    if (took == 1) continue;
    if (arg == "--against") {
      const char* v = w.next_value();
      if (!v) return usage_error("diverge", "--against needs a meshsim binary");
      against = v;
      if (access(against.c_str(), X_OK) != 0) return usage_error("diverge", "--against: " + against + " is not executable");
    } else if (arg[0] == '-') {
      return usage_error("diverge", "unknown option '" + arg + "'");
    } else if (scenario_path.empty()) {
      scenario_path = arg;
    } else {
      return usage_error("diverge", "unexpected argument '" + arg + "'");
    }
  }
  if (scenario_path.empty()) {
    return usage_error("diverge", "usage: meshsim diverge SCENARIO --seed N [--swarm] [--plan FILE] [--against BINARY]");
  }
  SeedSource src;
  if (int rc = load_source("diverge", scenario_path, swarm, plan_path, planted_bug, src); rc != 0) return rc;
  if (src.plan && !seed_given) seed = src.plan->provenance.seed;
  if (src.plan && planted_bug.empty()) {  // a plan remembers its planted bug, like replay
    src.planted_bug = parse_planted_bug(src.plan->provenance.planted_bug).value_or(PlantedBug::none);
    if (src.planted_bug != PlantedBug::none) planted_bug = std::string(planted_bug_name(src.planted_bug));
  }
  ResolvedRun rr = resolve(src, seed);
  RunOptions opt;
  opt.seed = seed;
  opt.planted_bug = src.planted_bug;
  opt.record_trace = true;
  opt.final_state = false;
  RunResult a = run_scenario(rr.scenario, opt);

  std::vector<TraceEvent> b_trace;
  uint64_t b_hash = 0;
  std::string label_b;
  if (against.empty()) {
    RunResult b = run_scenario(rr.scenario, opt);
    b_trace = std::move(b.trace);
    b_hash = b.trace_hash;
    label_b = "run 2";
  } else {
    std::vector<std::string> args = {against, "emit-trace", scenario_path, "--seed", std::to_string(seed)};
    if (swarm) args.push_back("--swarm");
    if (!swarm_without_flag().empty()) args.insert(args.end(), {"--swarm-without", swarm_without_flag()});
    if (!plan_path.empty()) args.insert(args.end(), {"--plan", plan_path});
    if (!planted_bug.empty()) args.insert(args.end(), {"--plant-bug", planted_bug});
    std::string err;
    if (!read_foreign_trace(args, b_trace, b_hash, err)) {
      std::fprintf(stderr, "meshsim diverge: %s\n", err.c_str());
      return kExitUsage;
    }
    label_b = "against";
  }
  const std::string label_a = against.empty() ? "run 1" : "this";
  auto report = divergence_report(a.trace, b_trace, label_a, label_b);
  if (!report && a.trace_hash == b_hash) {
    std::printf("diverge: identical: %zu events, trace_hash=%s (%s vs %s)\n", a.trace.size(),
                hex64(a.trace_hash).c_str(), label_a.c_str(), against.empty() ? "run 2" : against.c_str());
    return 0;
  }
  if (!report) {
    std::printf("diverge: events match but trace hashes differ (%s vs %s)\n", hex64(a.trace_hash).c_str(),
                hex64(b_hash).c_str());
    return 1;
  }
  std::printf("diverge: %s\n", report->c_str());
  std::printf("diverge: trace_hash %s=%s %s=%s\n", label_a.c_str(), hex64(a.trace_hash).c_str(), label_b.c_str(),
              hex64(b_hash).c_str());
  return 1;
}
