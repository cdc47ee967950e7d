// meshsim: the deterministic simulator's command line.
//
//   meshsim run SCENARIO [--seed N] [--swarm] [--trace FILE] [--check-determinism]
//                        [--until SECONDS] [--json FILE] [--plan-out FILE] [--history FILE] [--verbose]
//   meshsim replay SCENARIO --plan FILE [--seed N] [run's output flags]
//   meshsim sweep SCENARIO --seeds A..B [--jobs N] [--shard K/N] [--swarm] [--junit FILE]
//                          [--json FILE] [--check-determinism] [--require-distinct]
//   meshsim shrink SCENARIO --seed N [--swarm] [--out FILE] [--max-runs N]
//   meshsim diverge SCENARIO --seed N [--swarm] [--against BINARY]
//   meshsim timeline SCENARIO --html FILE [--seed N] [--swarm] [--until SECONDS]
//   meshsim noise-vectors FILE
//
// Every seed-running command also takes --swarm-without CATEGORY,... and
// --plant-bug NAME (test-only planted defects, sim/scenario/planted_bug.h).
// The hidden `emit-trace` streams a run's trace for `diverge --against`.
// See docs/simulation-tools.md.
#include <cstdio>
#include <cstring>

#include "io/build_info.h"
#include "tools/meshsim/commands.h"
#include "tools/meshsim/seed_run.h"

namespace {
void usage(FILE* to) {
  std::fprintf(to,
               "usage:\n"
               "  meshsim run SCENARIO [--seed N] [--swarm] [--trace FILE] [--check-determinism]\n"
               "                       [--until SECONDS] [--json FILE] [--plan-out FILE] [--history FILE] [--verbose]\n"
               "  meshsim replay SCENARIO --plan FILE [--seed N] [--trace FILE] [--json FILE] [--plan-out FILE]\n"
               "  meshsim sweep SCENARIO --seeds A..B [--jobs N] [--shard K/N] [--swarm] [--junit FILE]\n"
               "                         [--json FILE] [--check-determinism] [--require-distinct] [--seed-timeout S]\n"
               "  meshsim shrink SCENARIO --seed N [--swarm] [--plan FILE] [--out FILE] [--max-runs N]\n"
               "  meshsim diverge SCENARIO --seed N [--swarm] [--plan FILE] [--against BINARY]\n"
               "  meshsim timeline SCENARIO --html FILE [--seed N] [--swarm] [--plan FILE] [--until SECONDS]\n"
               "  meshsim noise-vectors FILE\n"
               "Seed-running commands also take --swarm-without CATEGORY,... (with --swarm) and the test-only\n"
               "--plant-bug NAME; see docs/simulation-tools.md.\n");
}
}  // namespace

int main(int argc, char** argv) {
  // The CLI convention (io/build_info.h): --version and VERB --help exit 0.
  if (meshd::io::argv_has(argc, argv, "--version", "-V")) {
    std::printf("%s\n", meshd::io::version_line("meshsim").c_str());
    return 0;
  }
  if (meshd::io::argv_has(argc, argv, "--help", "-h")) {
    usage(stdout);
    return 0;
  }
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  meshd::tools::g_program = argv[0];
  const char* cmd = argv[1];
  struct Entry {
    const char* name;
    int (*fn)(int, char**);
  };
  static constexpr Entry kCommands[] = {
      {"run", cmd_run},         {"replay", cmd_replay},   {"sweep", cmd_sweep},
      {"shrink", cmd_shrink},   {"diverge", cmd_diverge}, {"emit-trace", cmd_emit_trace},
      {"timeline", cmd_timeline},
  };
  for (const Entry& e : kCommands) {
    if (std::strcmp(cmd, e.name) == 0) return e.fn(argc - 2, argv + 2);
  }
  if (std::strcmp(cmd, "noise-vectors") == 0) return cmd_noise_vectors(argc - 1, argv + 1);
  if (std::strcmp(cmd, "--help") == 0 || std::strcmp(cmd, "-h") == 0) {
    usage(stdout);
    return 0;
  }
  std::fprintf(stderr, "meshsim: unknown command '%s'\n", cmd);
  usage(stderr);
  return 2;
}
