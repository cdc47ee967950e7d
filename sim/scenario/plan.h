// Fault plans: a run's realized fault timeline, written as a complete,
// scenario-compatible JSON document so that it can be replayed exactly.
//
// A plan is a scenario (same schema as sim/scenario/scenario.h, so
// `meshsim run PLAN.json --seed N` also works) whose "faults" are the faults
// that actually fired, in firing order, plus a "plan" object recording its
// provenance: {"scenario": name, "seed": N, "swarm": bool, "planted_bug":
// name, "faults_in_source": count}. parse_scenario ignores "plan".
// A swarm run's plan carries the resolved swarm profile (nodes, knobs,
// network, generated faults), so replaying it needs no swarm draws: fault
// choice has no randomness left; only the per-datagram network fates and
// the nodes' own randomness come from the seed, as in any run.
//
// scenario_to_json(parse_scenario(x)) round-trips every field the parser
// reads (times at microsecond precision, clock jumps in ms).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "core/env/status.h"
#include "sim/scenario/scenario.h"

namespace meshd::sim {

struct PlanProvenance {
  std::string scenario;          // the source scenario's name
  uint64_t seed = 0;             // the seed the plan was realized under
  bool swarm = false;            // the source run was a swarm run
  std::string planted_bug = "none";
  size_t faults_in_source = 0;   // faults the source timeline scheduled
};

struct Plan {
  Scenario scenario;             // ready to run: faults = the plan
  PlanProvenance provenance;
};

nlohmann::json fault_to_json(const Fault& fault);
nlohmann::json scenario_to_json(const Scenario& scenario);
// `ran` with its faults replaced by `fired`, plus the provenance.
nlohmann::json plan_to_json(const Scenario& ran, const std::vector<Fault>& fired,
                            const PlanProvenance& provenance);

Result<Plan> parse_plan(std::string_view json_text, std::string_view what);
Result<Plan> load_plan_file(const std::string& path);
Status write_json_file(const std::string& path, const nlohmann::json& json);

}  // namespace meshd::sim
