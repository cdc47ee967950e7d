// Shrinking (the algorithm on a synthetic oracle, and the planted-bug
// end-to-end case) and divergence bisection.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>

#include "sim/scenario/plan.h"
#include "sim/scenario/shrink.h"
#include "tests/meshsim/meshsim_exec.h"

using namespace meshd;
using namespace meshd::sim;
using namespace meshd::test;

TEST_CASE("shrink: ddmin finds the two faults a synthetic failure needs", "[meshsim][shrink]") {
  auto sc = load_scenario_file(source_path("tests/meshsim/data/noisy.json"));
  REQUIRE(sc.is_ok());
  // Fails iff node 3 restarts while a partition that isolates node 3 from
  // node 2 stands (node numbers as renumbered by node removal).
  auto fails = [](const Scenario& c) {
    bool partitioned = false;
    for (const Fault& f : c.faults) {
      if (f.kind == FaultKind::partition) partitioned = true;
      if (f.kind == FaultKind::heal) partitioned = false;
      if (f.kind == FaultKind::restart && f.node == 3 && partitioned && c.nodes >= 4) return true;
    }
    return false;
  };
  REQUIRE(fails(*sc));
  ShrinkStats stats;
  const Scenario best = shrink_scenario(*sc, fails, ShrinkOptions{}, &stats);
  CHECK(fails(best));
  REQUIRE(best.faults.size() == 2);
  CHECK(best.faults[0].kind == FaultKind::partition);
  CHECK(best.faults[1].kind == FaultKind::restart);
  CHECK(best.nodes == 4);                                 // node 4 is not needed
  CHECK(best.duration_us <= best.faults[1].at_us + 1000); // run ends right after the restart
  CHECK_FALSE(stats.budget_exhausted);
  CHECK(stats.runs < 200);
}

TEST_CASE("shrink: removing a node renumbers faults and partitions", "[meshsim][shrink]") {
  auto sc = load_scenario_file(source_path("tests/meshsim/data/noisy.json"));
  REQUIRE(sc.is_ok());
  const Scenario s = without_node(*sc, 1);
  CHECK(s.nodes == 4);
  for (const Fault& f : s.faults) {
    CHECK(f.node < 4);
    CHECK(f.from < 4);
    CHECK(f.to < 4);
    if (f.kind == FaultKind::partition) {
      CHECK(f.side_a == std::vector<size_t>{0, 2});  // {0, 1, 3} without 1, renumbered
      CHECK(f.side_b == std::vector<size_t>{1, 3});  // {2, 4} renumbered
    }
  }
  auto json = scenario_to_json(s);
  CHECK(parse_scenario(json.dump(), "renumbered").is_ok());
}

TEST_CASE("meshsim shrink: a planted bug's noisy failure shrinks to a handful of faults", "[meshsim][shrink]") {
  const std::string noisy = source_path("tests/meshsim/data/noisy.json");
  const std::string out = temp_path("shrunk.json");
  // Without the bug the noisy scenario passes; with it, it fails.
  CHECK(meshsim("run " + noisy + " --seed 5").code == 0);
  Exec failing = meshsim("run " + noisy + " --seed 5 --plant-bug deaf-after-partitioned-restart");
  INFO(failing.out);
  REQUIRE(failing.code == 1);
  CHECK(failing.has("violation: [false_down]"));

  Exec shrink = meshsim("shrink " + noisy + " --seed 5 --plant-bug deaf-after-partitioned-restart --out " + out);
  INFO(shrink.out);
  REQUIRE(shrink.code == 0);
  CHECK(shrink.has("shrink: 26 faults -> "));
  CHECK(shrink.has("failure kept: [false_down]"));
  auto plan = load_plan_file(out);
  REQUIRE(plan.is_ok());
  CHECK(plan->scenario.faults.size() <= 4);
  CHECK(plan->scenario.nodes <= 3);
  CHECK(plan->provenance.faults_in_source == 26);
  CHECK(plan->provenance.planted_bug == "deaf-after-partitioned-restart");
  bool has_partition = false, has_restart = false;
  for (const Fault& f : plan->scenario.faults) {
    has_partition |= f.kind == FaultKind::partition;
    has_restart |= f.kind == FaultKind::restart || f.kind == FaultKind::wipe;
  }
  CHECK(has_partition);  // the bug needs both
  CHECK(has_restart);
  // The printed replay command reproduces the same failure kind; without
  // the bug the minimal plan passes.
  Exec replay = meshsim("replay " + noisy + " --plan " + out);
  INFO(replay.out);
  CHECK(replay.code == 1);
  CHECK(replay.has("violation: [false_down]"));
  CHECK(meshsim("replay " + noisy + " --plan " + out + " --plant-bug none").code == 0);
}

TEST_CASE("meshsim diverge: identical runs, and a foreign trace's first differing event", "[meshsim][diverge]") {
  const std::string sc = source_path("scenarios/partition-heal.json");
  Exec same = meshsim("diverge " + sc + " --seed 3");
  INFO(same.out);
  CHECK(same.code == 0);
  CHECK(same.has("diverge: identical: "));
  Exec self = meshsim("diverge " + sc + " --seed 3 --against " + meshsim_bin());
  INFO(self.out);
  CHECK(self.code == 0);
  // A "build" whose 1001st event differs in its digest.
  const std::string fake = temp_path("fake-build.sh");
  {
    std::ofstream f(fake);
    f << "#!/bin/sh\n" << meshsim_bin()
      << " \"$@\" | awk 'NR==1001 { $4 = \"00000000deadbeef\" } { print }'\n";
  }
  REQUIRE(std::system(("chmod +x " + fake).c_str()) == 0);
  Exec diff = meshsim("diverge " + sc + " --seed 3 --against " + fake);
  INFO(diff.out);
  CHECK(diff.code == 1);
  CHECK(diff.has("diverge: first divergence at event #1000"));
  CHECK(diff.has("digest=00000000deadbeef"));
  CHECK(diff.has("  same     #999: "));
}

TEST_CASE("meshsim shrink: a crashing seed shrinks to the fault that crashes it", "[meshsim][shrink]") {
  const std::string out = temp_path("shrunk-abort.json");
  Exec shrink = meshsim("shrink " + source_path("scenarios/crash-restart.json") +
                        " --seed 2 --plant-bug abort-on-crash-fault --out " + out + " 2>/dev/null");
  INFO(shrink.out);
  REQUIRE(shrink.code == 0);
  CHECK(shrink.has("failure kept: [signal:SIGABRT]"));
  auto plan = load_plan_file(out);
  REQUIRE(plan.is_ok());
  REQUIRE(plan->scenario.faults.size() == 1);
  CHECK(plan->scenario.faults[0].kind == FaultKind::crash);
  CHECK(plan->scenario.nodes == kShrinkNodesMin);
}
