#include "tools/meshsim/cli.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace meshd::tools {

int usage_error(const std::string& cmd, const std::string& message) {
  std::fprintf(stderr, "meshsim %s: %s\n", cmd.c_str(), message.c_str());
  return kExitUsage;
}

bool parse_u64(const std::string& s, uint64_t& out) {
  if (s.empty() || s[0] == '-' || s[0] == '+') return false;
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  if (errno != 0 || *end != '\0') return false;
  out = v;
  return true;
}

bool parse_seconds(const std::string& s, double& out) {
  if (s.empty()) return false;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (*end != '\0' || !(v >= 0) || v > 1e9) return false;
  out = v;
  return true;
}

bool parse_seed_range(const std::string& s, uint64_t& first, uint64_t& last) {
  const size_t dots = s.find("..");
  return dots != std::string::npos && parse_u64(s.substr(0, dots), first) && parse_u64(s.substr(dots + 2), last) &&
         first <= last;
}

bool parse_shard(const std::string& s, uint64_t& k, uint64_t& n) {
  const size_t slash = s.find('/');
  return slash != std::string::npos && parse_u64(s.substr(0, slash), k) && parse_u64(s.substr(slash + 1), n) &&
         n >= 1 && k >= 1 && k <= n;
}

namespace {
std::string g_swarm_without;
}

const std::string& swarm_without_flag() { return g_swarm_without; }

int take_source_flag(const std::string& cmd, ArgWalker& w, uint64_t& seed, bool& seed_given, bool& swarm,
                     std::string& plan_path, std::string& planted_bug) {
  const char* a = w.argv[w.i];
  if (std::strcmp(a, "--seed") == 0) {
    const char* v = w.next_value();
    if (!v || !parse_u64(v, seed)) {
      usage_error(cmd, "--seed needs a non-negative integer");
      return kTakeError;
    }
    seed_given = true;
    return 1;
  }
  if (std::strcmp(a, "--swarm") == 0) {
    swarm = true;
    return 1;
  }
  if (std::strcmp(a, "--swarm-without") == 0) {
    const char* v = w.next_value();
    if (!v) {
      usage_error(cmd, "--swarm-without needs CATEGORY[,CATEGORY...] (crash, pause, partition, block, clog, "
                       "lossy_link, blackhole, clock, disk, wipe, attacker)");
      return kTakeError;
    }
    g_swarm_without = v;
    return 1;
  }
  if (std::strcmp(a, "--plan") == 0) {
    const char* v = w.next_value();
    if (!v) {
      usage_error(cmd, "--plan needs a plan file (written by --plan-out or shrink)");
      return kTakeError;
    }
    plan_path = v;
    return 1;
  }
  if (std::strcmp(a, "--plant-bug") == 0) {
    const char* v = w.next_value();
    if (!v || !sim::parse_planted_bug(v)) {
      usage_error(cmd, "--plant-bug needs one of: none, deaf-after-partitioned-restart, abort-on-crash-fault");
      return kTakeError;
    }
    planted_bug = v;
    return 1;
  }
  return 0;
}

int load_source(const std::string& cmd, const std::string& scenario_path, bool swarm, const std::string& plan_path,
                const std::string& planted_bug, SeedSource& src) {
  auto sc = sim::load_scenario_file(scenario_path);
  if (!sc) return usage_error(cmd, sc.status().message());
  src.scenario_path = scenario_path;
  src.base = std::move(*sc);
  src.swarm = swarm;
  if (!g_swarm_without.empty()) {
    if (!swarm) return usage_error(cmd, "--swarm-without needs --swarm");
    size_t start = 0;
    while (start <= g_swarm_without.size()) {
      const size_t comma = std::min(g_swarm_without.find(',', start), g_swarm_without.size());
      const std::string name = g_swarm_without.substr(start, comma - start);
      auto c = sim::parse_swarm_category(name);
      if (!c) {
        return usage_error(cmd, "--swarm-without: unknown category '" + name + "' (crash, pause, partition, block, "
                                "clog, lossy_link, blackhole, clock, disk, wipe, attacker)");
      }
      src.swarm_without |= sim::SwarmCategoryMask{1} << static_cast<unsigned>(*c);
      start = comma + 1;
    }
    src.swarm_without_text = g_swarm_without;
  }
  if (!planted_bug.empty()) src.planted_bug = *sim::parse_planted_bug(planted_bug);
  if (!plan_path.empty()) {
    if (swarm) return usage_error(cmd, "--swarm and --plan exclude each other: a plan already holds the resolved swarm scenario");
    auto plan = sim::load_plan_file(plan_path);
    if (!plan) return usage_error(cmd, "--plan: " + plan.status().message());
    if (plan->provenance.scenario != src.base.name) {
      return usage_error(cmd, fmt::format("--plan: {} is a plan of scenario '{}', not of '{}' ({})", plan_path,
                                          plan->provenance.scenario, src.base.name, scenario_path));
    }
    src.plan = std::move(*plan);
    src.plan_path = plan_path;
  }
  return 0;
}

}  // namespace meshd::tools
