// The security scenarios end to end (one seed each, the sweeps run 200):
// the attacker's packets are all rejected and counted by reason, the
// oracles see no forged/replayed/modified delivery and no nonce reuse,
// and each scenario exercises what it claims to.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include "sim/scenario/runner.h"

using namespace meshd;
using namespace meshd::sim;

namespace {

RunResult run(const std::string& name, uint64_t seed = 1) {
  auto sc = load_scenario_file(std::string(MESHD_SOURCE_DIR) + "/scenarios/" + name + ".json");
  REQUIRE(sc);
  RunOptions o;
  o.seed = seed;
  o.final_state = false;
  RunResult r = run_scenario(*sc, o);
  for (const auto& v : r.violations) UNSCOPED_INFO(v);
  std::string counters;
  for (const auto& [k, v] : r.security) counters += fmt::format("{}={} ", k, v);
  UNSCOPED_INFO(name << " counters: " << counters);
  return r;
}

uint64_t get(const RunResult& r, const std::string& key) {
  auto it = r.security.find(key);
  return it == r.security.end() ? 0 : it->second;
}

}  // namespace

TEST_CASE("security scenario: the attacker is rejected, counted, and changes nothing", "[transport][sim]") {
  const RunResult r = run("security-attacker");
  CHECK(r.passed);
  for (const char* kind : {"replay", "bitflip", "truncate", "reflect", "forge_psk", "forge_key",
                           "replay_initiation", "garbage"}) {
    INFO(kind);
    CHECK(get(r, std::string("attacker.injected.") + kind) > 0);
  }
  CHECK(get(r, "drops.replay") > 0);
  CHECK(get(r, "drops.auth_failure") > 0);
  CHECK(get(r, "drops.truncated") > 0);
  CHECK(get(r, "drops.bad_cookie") > 0);        // wrong PSK: mac1
  CHECK(get(r, "drops.handshake_failed") > 0);  // wrong static key for a member's id
  CHECK(get(r, "drops.not_for_us") > 0);        // reflections
  CHECK(get(r, "security.deliveries") > 1000);
}

TEST_CASE("security scenario: handshake storm runs into cookies", "[transport][sim]") {
  const RunResult r = run("security-handshake-storm");
  CHECK(r.passed);
  CHECK(get(r, "attacker.injected.handshake_storm") > 300);
  CHECK(get(r, "drops.cookie_required") > 100);
}

TEST_CASE("security scenario: clone refused, rotation, rekey across a partition", "[transport][sim]") {
  const RunResult clone = run("security-clone-restart");
  CHECK(clone.passed);
  CHECK(get(clone, "security.clone_refusals") == 1);
  CHECK(get(clone, "security.disk_copies") == 1);
  const RunResult rotation = run("security-rotation-peer-down");
  CHECK(rotation.passed);
  CHECK(get(rotation, "security.key_rotations") == 2);
  const RunResult rekey = run("security-rekey-partition");
  CHECK(rekey.passed);
  CHECK(get(rekey, "handshakes.completed") > 20);
}

TEST_CASE("security scenario: a run stopped early (--until) skips the end-of-run checks", "[transport][sim]") {
  // Stopped at 10.5 s the clone scenario has not copied the disk yet (at
  // 11 s), so its expected refusal cannot have happened; the attacker
  // scenario is stopped mid-attack. Neither is a violation: the end-of-run
  // checks (sessions recovered, refusals counted) describe a complete run.
  for (const auto& [name, until_us] : {std::pair<std::string, int64_t>{"security-clone-restart", 10'500'000},
                                       std::pair<std::string, int64_t>{"security-attacker", 10'000'000}}) {
    auto sc = load_scenario_file(std::string(MESHD_SOURCE_DIR) + "/scenarios/" + name + ".json");
    REQUIRE(sc);
    RunOptions o;
    o.seed = 1;
    o.until_us = until_us;
    o.final_state = false;
    const RunResult r = run_scenario(*sc, o);
    for (const auto& v : r.violations) UNSCOPED_INFO(v);
    CHECK(r.sim_us == until_us);
    CHECK(r.passed);
    CHECK(get(r, "security.clone_refusals") == 0);
  }
  // The complete clone run still demands its refusal.
  CHECK(get(run("security-clone-restart"), "security.clone_refusals") == 1);
}
