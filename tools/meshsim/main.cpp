// meshsim: the deterministic simulator's command line.
//
//   meshsim run SCENARIO [--seed N] [--trace FILE] [--check-determinism]
//                        [--until SECONDS] [--json FILE] [--verbose]
//   meshsim sweep SCENARIO --seeds A..B [--check-determinism] [--require-distinct]
//                          [--json FILE]
//   meshsim noise-vectors FILE
//
// See docs/simulation.md.
#include <cstdio>
#include <cstring>

#include "tools/meshsim/commands.h"

namespace {
void usage() {
  std::fprintf(stderr,
               "usage:\n"
               "  meshsim run SCENARIO [--seed N] [--trace FILE] [--check-determinism]\n"
               "                       [--until SECONDS] [--json FILE] [--verbose]\n"
               "  meshsim sweep SCENARIO --seeds A..B [--check-determinism] [--require-distinct]\n"
               "                         [--json FILE]\n"
               "  meshsim noise-vectors FILE\n");
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage();
    return 2;
  }
  const char* cmd = argv[1];
  if (std::strcmp(cmd, "run") == 0) return cmd_run(argc - 2, argv + 2);
  if (std::strcmp(cmd, "sweep") == 0) return cmd_sweep(argc - 2, argv + 2);
  if (std::strcmp(cmd, "noise-vectors") == 0) return cmd_noise_vectors(argc - 1, argv + 1);
  if (std::strcmp(cmd, "--help") == 0 || std::strcmp(cmd, "-h") == 0) {
    usage();
    return 0;
  }
  std::fprintf(stderr, "meshsim: unknown command '%s'\n", cmd);
  usage();
  return 2;
}
