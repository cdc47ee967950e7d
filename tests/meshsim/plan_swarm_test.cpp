// Fault plans (round trip, exact replay) and swarm profiles.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <set>

#include "sim/scenario/plan.h"
#include "sim/scenario/swarm.h"
#include "tests/meshsim/meshsim_exec.h"

using namespace meshd;
using namespace meshd::sim;
using namespace meshd::test;

TEST_CASE("plan: scenario_to_json round-trips through the scenario parser", "[meshsim][plan]") {
  for (const auto& entry : std::filesystem::directory_iterator(source_path("scenarios"))) {
    if (entry.path().extension() != ".json") continue;
    INFO(entry.path());
    auto sc = load_scenario_file(entry.path().string());
    REQUIRE(sc.is_ok());
    const nlohmann::json once = scenario_to_json(*sc);
    auto back = parse_scenario(once.dump(), "roundtrip");
    REQUIRE(back.is_ok());
    CHECK(scenario_to_json(*back) == once);
  }
  auto base = load_scenario_file(source_path("scenarios/smoke.json"));
  REQUIRE(base.is_ok());
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    const SwarmRun run = swarm_scenario(*base, seed);
    const nlohmann::json once = scenario_to_json(run.scenario);
    auto back = parse_scenario(once.dump(), "swarm roundtrip");
    REQUIRE(back.is_ok());
    CHECK(scenario_to_json(*back) == once);
  }
}

TEST_CASE("plan: provenance survives and a plan is a runnable scenario", "[meshsim][plan]") {
  auto sc = load_scenario_file(source_path("scenarios/crash-restart.json"));
  REQUIRE(sc.is_ok());
  std::vector<Fault> fired(sc->faults.begin(), sc->faults.begin() + 3);
  const nlohmann::json j = plan_to_json(*sc, fired, {"crash-restart", 42, false, "none", sc->faults.size()});
  auto plan = parse_plan(j.dump(), "plan");
  REQUIRE(plan.is_ok());
  CHECK(plan->provenance.seed == 42);
  CHECK(plan->provenance.faults_in_source == 12);
  CHECK(plan->scenario.faults.size() == 3);
  CHECK(plan->scenario.nodes == 5);
}

TEST_CASE("swarm: the seed alone fixes the profile; seeds differ; categories switch off", "[meshsim][swarm]") {
  auto base = load_scenario_file(source_path("scenarios/smoke.json"));
  REQUIRE(base.is_ok());
  std::set<std::string> profiles;
  std::set<size_t> node_counts;
  size_t seeds_with_a_category_off = 0, seeds_with_false_down_check = 0;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    const SwarmRun a = swarm_scenario(*base, seed), b = swarm_scenario(*base, seed);
    CHECK(scenario_to_json(a.scenario) == scenario_to_json(b.scenario));
    profiles.insert(scenario_to_json(a.scenario).dump());
    node_counts.insert(a.scenario.nodes);
    bool off = false;
    for (const auto& c : a.profile.categories) off |= !c.enabled;
    seeds_with_a_category_off += off ? 1 : 0;
    seeds_with_false_down_check += a.scenario.invariants.no_false_down ? 1 : 0;
    CHECK(a.scenario.nodes >= kSwarmNodesMin);
    CHECK(a.scenario.nodes <= kSwarmNodesMax);
    CHECK(a.scenario.faults.size() <= kSwarmFaultsMax);
    for (size_t i = 1; i < a.scenario.faults.size(); ++i) {
      CHECK(a.scenario.faults[i - 1].at_us <= a.scenario.faults[i].at_us);
    }
    // Bounds are derived from the knobs, never looser than the timeout itself.
    CHECK(a.scenario.invariants.detect_down_within_us > a.scenario.liveness.down_after_ms * 1000);
    // A lossy network turns the false-positive check off, with the reason shown.
    if (a.scenario.network.loss > 0) CHECK_FALSE(a.scenario.invariants.no_false_down);
    CHECK(swarm_profile_text(a).find("swarm: bounds") != std::string::npos);
  }
  CHECK(profiles.size() == 40);
  CHECK(node_counts.size() >= 3);
  CHECK(seeds_with_a_category_off >= 35);
  CHECK(seeds_with_false_down_check >= 1);  // about 1 in 8: no loss, corruption or lossy links
  CHECK(seeds_with_false_down_check <= 37);
}

TEST_CASE("meshsim: a realized plan replays to the identical trace hash", "[meshsim][plan]") {
  const std::string plan = temp_path("plan-cr.json");
  const std::string sc = source_path("scenarios/crash-restart.json");
  Exec run = meshsim("run " + sc + " --seed 7 --until 30 --plan-out " + plan);
  INFO(run.out);
  REQUIRE(run.code == 0);
  CHECK(run.has("plan: 7 of 12 faults fired"));  // --until 30: the faults after t=30 s never fire
  Exec replay = meshsim("replay " + sc + " --plan " + plan + " --until 30");
  INFO(replay.out);
  CHECK(replay.code == 0);
  CHECK(trace_hash_of(replay) == trace_hash_of(run));
  // The plan is itself a scenario.
  Exec as_scenario = meshsim("run " + plan + " --seed 7 --until 30");
  CHECK(trace_hash_of(as_scenario) == trace_hash_of(run));
}

TEST_CASE("swarm: --swarm-without switches a category off without moving other draws", "[meshsim][swarm]") {
  auto base = load_scenario_file(source_path("scenarios/smoke.json"));
  REQUIRE(base.is_ok());
  const auto wipe = static_cast<size_t>(SwarmCategory::wipe);
  size_t seeds_changed = 0;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    const SwarmRun all = swarm_scenario(*base, seed);
    const SwarmRun without = swarm_scenario(*base, seed, SwarmCategoryMask{1} << wipe);
    CHECK_FALSE(without.profile.categories[wipe].enabled);
    for (const Fault& f : without.scenario.faults) CHECK(f.kind != FaultKind::wipe);
    // Every other fault is exactly where it was.
    std::vector<Fault> rest;
    for (const Fault& f : all.scenario.faults) {
      if (f.kind != FaultKind::wipe) rest.push_back(f);
    }
    Scenario a = all.scenario, b = without.scenario;
    a.faults = rest;
    CHECK(scenario_to_json(a)["faults"] == scenario_to_json(b)["faults"]);
    CHECK(a.nodes == b.nodes);
    seeds_changed += all.profile.categories[wipe].enabled ? 1 : 0;
  }
  CHECK(seeds_changed > 0);
}

TEST_CASE("meshsim: a swarm run prints its profile and its plan replays exactly", "[meshsim][swarm]") {
  const std::string plan = temp_path("plan-swarm.json");
  const std::string sc = source_path("scenarios/smoke.json");
  Exec run = meshsim("run " + sc + " --seed 11 --swarm --plan-out " + plan);
  INFO(run.out);
  REQUIRE((run.code == 0 || run.code == 1));
  CHECK(run.has("swarm: seed=11 nodes="));
  CHECK(run.has("swarm: faults "));
  Exec again = meshsim("run " + sc + " --seed 11 --swarm");
  CHECK(trace_hash_of(again) == trace_hash_of(run));
  Exec replay = meshsim("replay " + sc + " --plan " + plan);
  INFO(replay.out);
  CHECK(replay.has("realized from scenario 'smoke' seed 11, swarm"));
  CHECK(trace_hash_of(replay) == trace_hash_of(run));
  CHECK(replay.code == run.code);
}
