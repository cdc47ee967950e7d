// Testbed power (docs/testbed-power.md): every new oracle fails on a
// planted bug, and swarm mode reaches membership, attackers and buggify.
#include <catch2/catch.hpp>

#include <string>

#include "sim/scenario/monotonic_oracle.h"
#include "sim/scenario/runner.h"
#include "sim/scenario/scenario.h"
#include "sim/scenario/swarm.h"

using namespace meshd;
using namespace meshd::sim;

namespace {
std::string scenario_path(const char* name) {
  return std::string(MESHD_SOURCE_DIR) + "/scenarios/" + name + ".json";
}
MonotonicOracle::Boot boot(size_t node, uint64_t count, int64_t at_s, bool unreadable = false,
                           const char* identity = "a") {
  MonotonicOracle::Boot b;
  b.node = node;
  b.identity = identity;
  b.boot = count;
  b.at_us = at_s * 1'000'000;
  b.record_may_be_unreadable = unreadable;
  return b;
}
}  // namespace

TEST_CASE("monotonic oracle: a boot count that does not increase names the rule", "[scenario][testbed_power]") {
  MonotonicOracle o;
  o.on_boot(boot(3, 4, 1));
  o.on_boot(boot(3, 5, 2));
  CHECK(o.violation_count() == 0);
  o.on_boot(boot(3, 5, 7));
  REQUIRE(o.violation_count() == 1);
  CHECK(o.violations()[0].find("incarnation did not increase: node 3 boot 5 → 5 after restart at t=7.000s") !=
        std::string::npos);
  // A new identity (a wipe, a copied disk) starts a new sequence.
  o.on_boot(boot(3, 1, 8, false, "b"));
  CHECK(o.violation_count() == 1);
  // The documented recovery from an unreadable record may go back (the
  // wall clock stepped back), but never to 1.
  o.on_boot(boot(3, 2, 9, false, "b"));
  o.on_boot(boot(3, 2, 10, true, "b"));
  CHECK(o.violation_count() == 1);
  CHECK(o.excused() == 1);
  o.on_boot(boot(3, 1, 11, true, "b"));
  CHECK(o.violation_count() == 2);
  o.on_wipe(3);
  o.on_boot(boot(3, 1, 12, false, "b"));
  CHECK(o.violation_count() == 2);
}

TEST_CASE("monotonic oracle: a lost incarnation record (planted) fails the run", "[scenario][testbed_power]") {
  auto sc = load_scenario_file(scenario_path("crash-restart"));
  REQUIRE(sc.is_ok());
  RunOptions opt;
  opt.final_state = false;
  RunResult clean = run_scenario(*sc, opt);
  CHECK(clean.passed);
  CHECK(clean.security["monotonic.boots"] > sc->nodes);  // restarts were seen
  opt.planted_bug = PlantedBug::incarnation_record_lost_on_crash;
  RunResult r = run_scenario(*sc, opt);
  CHECK_FALSE(r.passed);
  bool named = false;
  for (const std::string& v : r.violations) {
    named |= v.rfind("[monotonic] incarnation did not increase: node ", 0) == 0 && v.find(" → 1 after restart") !=
                                                                                    std::string::npos;
  }
  CHECK(named);
}

TEST_CASE("swarm: membership, attackers and buggify are drawn per seed and printed", "[scenario][testbed_power]") {
  auto base = load_scenario_file(scenario_path("membership-crash"));
  REQUIRE(base.is_ok());
  bool attacker = false, buggify = false, no_attacker = false, clock = false;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    SwarmRun run = swarm_scenario(*base, seed);
    CHECK(run.scenario.membership.has_value());
    const std::string text = swarm_profile_text(run);
    CHECK(text.find("swarm: membership on (SWIM)") != std::string::npos);
    const bool a = !run.scenario.security.attackers.empty();
    attacker |= a;
    no_attacker |= !a;
    if (a) CHECK(text.find("swarm: attacker kinds=") != std::string::npos);
    buggify |= run.scenario.buggify.on();
    if (run.scenario.buggify.on()) CHECK(text.find(" points=") != std::string::npos);
    clock |= run.profile.categories[static_cast<size_t>(SwarmCategory::clock)].enabled;
    // Every fault kind of the timeline is printed with its count (the clock
    // category's clock_jump and drift included).
    for (const Fault& f : run.scenario.faults) {
      CHECK(text.find(" " + std::string(fault_kind_name(f.kind)) + "=") != std::string::npos);
    }
    CHECK(swarm_profile_json(run)["membership"].is_object());
  }
  CHECK(attacker);
  CHECK(no_attacker);
  CHECK(buggify);
  CHECK(clock);
  // The buggify points the profile names are the ones the run enables: a
  // point that fired is always among them.
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    SwarmRun run = swarm_scenario(*base, seed);
    const std::string text = swarm_profile_text(run);
    if (!run.scenario.buggify.on() || text.find("points=none") != std::string::npos) continue;
    RunOptions opt;
    opt.seed = seed;
    opt.final_state = false;
    const RunResult r = run_scenario(run.scenario, opt);
    size_t fired = 0;
    for (const auto& [name, st] : r.buggify) {
      if (st.fired == 0) continue;
      ++fired;
      CHECK(text.find(name) != std::string::npos);
    }
    CHECK(fired > 0);
    break;
  }
  // Without a membership block the swarm stays transport-only.
  auto smoke = load_scenario_file(scenario_path("smoke"));
  REQUIRE(smoke.is_ok());
  Scenario transport_only = *smoke;
  transport_only.membership.reset();
  CHECK_FALSE(swarm_scenario(transport_only, 1).scenario.membership.has_value());
}

TEST_CASE("cost oracle: a cookie gate that never closes spends DH on the storm", "[scenario][testbed_power]") {
  auto sc = load_scenario_file(scenario_path("security-handshake-storm"));
  REQUIRE(sc.is_ok());
  REQUIRE(sc->security.attackers.size() == 1);
  CHECK(sc->security.attackers[0].uncookied_dh_max_per_node == 130);
  RunOptions opt;
  opt.final_state = false;
  RunResult clean = run_scenario(*sc, opt);
  CHECK(clean.passed);
  CHECK(clean.security["cost.uncookied_initiation_dh"] > 0);
  // The planted bug: a rate limiter so generous that the storm never meets
  // the cookie gate (what a broken gate looks like from outside).
  sc->security.handshake_rate_per_s = 100'000;
  sc->security.handshake_burst = 100'000;
  RunResult r = run_scenario(*sc, opt);
  CHECK_FALSE(r.passed);
  bool named = false;
  for (const std::string& v : r.violations) {
    named |= v.rfind("[cost] node ", 0) == 0 && v.find("DH on handshake initiations without a cookie") != std::string::npos &&
             v.find("bound 130 (rule: under load an uncookied initiation gets a cookie reply, not DH") != std::string::npos;
  }
  CHECK(named);
}

TEST_CASE("cost oracle: the bound is parsed and checked by name and line", "[scenario][testbed_power]") {
  auto bad = parse_scenario(R"({"name": "x", "nodes": 2, "duration_s": 10,
    "attackers": [{"kinds": ["handshake_storm"], "from_s": 1, "until_s": 2, "uncookied_dh_max_per_node": -1}]})",
                            "s.json");
  REQUIRE_FALSE(bad.is_ok());
  CHECK(bad.status().message().find("uncookied_dh_max_per_node") != std::string::npos);
}
