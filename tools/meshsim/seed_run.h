// What every seed-running subcommand shares: how a (scenario, seed) pair is
// resolved into the scenario that actually runs (as written, a swarm draw,
// or a fault plan), the per-seed result as JSON (the record a sweep child
// sends its parent), failure kinds, and the exact replay command.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sim/scenario/plan.h"
#include "sim/scenario/runner.h"
#include "sim/scenario/scenario.h"
#include "sim/scenario/swarm.h"

namespace meshd::tools {

// The binary as invoked (argv[0]), for printing replay commands.
extern std::string g_program;

struct SeedSource {
  std::string scenario_path;            // as given on the command line
  sim::Scenario base;
  bool swarm = false;
  sim::SwarmCategoryMask swarm_without = 0;  // --swarm-without CATEGORY,...
  std::string swarm_without_text;
  std::optional<sim::Plan> plan;        // replay: the plan replaces the scenario
  std::string plan_path;
  sim::PlantedBug planted_bug = sim::PlantedBug::none;
};

struct ResolvedRun {
  sim::Scenario scenario;
  std::optional<sim::SwarmRun> swarm;   // set for swarm runs
};
ResolvedRun resolve(const SeedSource& source, uint64_t seed);

// Failure kinds that shrink preserves: "detect_down", "detect_up",
// "false_down", the tag of a "[tag] ..." report (e.g. "recovery",
// "security"), "violation" (unrecognised text), "nondeterminism", or
// "signal:SIGxxx" / "exit:N" for a child that died.
std::string violation_kind(const std::string& violation_text);

// The record of a finished run (what sweep children send, what --json writes).
nlohmann::json result_record(const ResolvedRun& resolved, const sim::RunResult& result, uint64_t seed,
                             double wall_s, const std::string& nondeterminism /* "" if deterministic */);

// Runs one seed (in the calling process) and returns its record.
// With check_determinism the seed runs twice with full recording.
nlohmann::json run_seed_record(const SeedSource& source, uint64_t seed, bool check_determinism);

// `meshsim run ... --seed N ...` (or `replay` for a plan) reproducing it.
std::string replay_command(const SeedSource& source, uint64_t seed, bool check_determinism);

std::string hex64(uint64_t v);
nlohmann::json distribution_json(const sim::Distribution& d);

// The determinism check: runs `scenario` again under `opt` and compares
// trace hashes and event counts with `first`; only on a mismatch does it
// rerun both with full recording to name the first divergent event (so a
// passing check costs one extra plain run). Returns "" when identical.
std::string check_determinism(const sim::Scenario& scenario, sim::RunOptions opt, const sim::RunResult& first);

// Runs a and b with recording and describes the first divergent event;
// nullopt when identical.
std::optional<std::string> divergence_report(const std::vector<sim::TraceEvent>& a,
                                             const std::vector<sim::TraceEvent>& b,
                                             const std::string& label_a, const std::string& label_b);
std::string describe_event(const sim::TraceEvent& e);

}  // namespace meshd::tools
