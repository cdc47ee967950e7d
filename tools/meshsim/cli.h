// Small command-line helpers shared by the meshsim subcommands: every bad
// input is reported with the flag it concerns and yields exit code 2.
#pragma once

#include <cstdint>
#include <string>

#include "tools/meshsim/seed_run.h"

namespace meshd::tools {

constexpr int kExitUsage = 2;

// Prints "meshsim CMD: MESSAGE" to stderr and returns kExitUsage.
int usage_error(const std::string& cmd, const std::string& message);

bool parse_u64(const std::string& text, uint64_t& out);
bool parse_seconds(const std::string& text, double& out);  // >= 0
// "A..B" with A <= B.
bool parse_seed_range(const std::string& text, uint64_t& first, uint64_t& last);
// "K/N" with 1 <= K <= N.
bool parse_shard(const std::string& text, uint64_t& k, uint64_t& n);

// Walks argv: `next_value` returns the value after flag argv[i] (advancing
// i) or nullptr when it is missing.
struct ArgWalker {
  int argc;
  char** argv;
  int i = 0;
  const char* next_value() { return i + 1 < argc ? argv[++i] : nullptr; }
};

// Handles the flags every seed-running command accepts: --seed N, --swarm,
// --plant-bug NAME, --plan FILE. Returns 1 if argv[w.i] was one of them,
// 0 if not, or kExitUsage+100 on a bad value (already reported).
// (--swarm-without CATEGORY[,CATEGORY...] is taken into `swarm_without`.)
int take_source_flag(const std::string& cmd, ArgWalker& w, uint64_t& seed, bool& seed_given, bool& swarm,
                     std::string& plan_path, std::string& planted_bug);
// The value of the last --swarm-without seen by take_source_flag ("" if none).
const std::string& swarm_without_flag();
constexpr int kTakeError = 102;

// Loads the scenario (and the plan, if any) into `source`, with
// swarm_without_flag(); returns 0 or
// kExitUsage after printing the error. A plan must belong to the scenario
// (same name) and excludes --swarm: it already holds the resolved profile.
int load_source(const std::string& cmd, const std::string& scenario_path, bool swarm, const std::string& plan_path,
                const std::string& planted_bug, SeedSource& source);

}  // namespace meshd::tools
