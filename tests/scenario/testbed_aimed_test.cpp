// Testbed power, aimed workloads (docs/testbed-power.md): the replay-window
// and key-lifetime rules of the SecurityOracle fail on planted defects, and
// the aimed attackers (replay_edge, bogus_cookie) reach what they aim at.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "core/crypto/replay_window.h"
#include "sim/scenario/oracle.h"
#include "sim/scenario/runner.h"
#include "sim/scenario/scenario.h"

using namespace meshd;
using namespace meshd::sim;

namespace {
std::string scenario_path(const char* name) {
  return std::string(MESHD_SOURCE_DIR) + "/scenarios/" + name + ".json";
}
NodeId id(uint8_t b) {
  NodeId n;
  n.bytes[0] = b;
  return n;
}
bool has(const std::vector<std::string>& violations, const std::string& prefix, const std::string& part) {
  for (const std::string& v : violations) {
    if (v.rfind(prefix, 0) == 0 && v.find(part) != std::string::npos) return true;
  }
  return false;
}
const std::vector<uint8_t> kFrame{1, 2, 3};
}  // namespace

TEST_CASE("security oracle: a delivery below the replay window's bottom edge names the rule",
          "[scenario][testbed_power]") {
  SecurityOracle o;
  const uint64_t top = crypto::kReplayWindowPackets + 100;
  for (uint64_t c = 0; c <= top; ++c) o.on_seal(id(1), id(2), {7, c}, kFrame);
  o.on_deliver(id(2), id(1), {7, top}, kFrame);
  // Exactly at the edge (top - window) is still inside: never delivered, so fine.
  o.on_deliver(id(2), id(1), {7, top - crypto::kReplayWindowPackets}, kFrame);
  CHECK(o.violation_count() == 0);
  CHECK(o.deliveries_window_slid() == 1);
  // One below the edge is too old, even though it was never delivered.
  o.on_deliver(id(2), id(1), {7, top - crypto::kReplayWindowPackets - 1}, kFrame);
  REQUIRE(o.violation_count() == 1);
  CHECK(has(o.violations(), "[replay_window] node 02",
            "4033 below the highest delivered counter 4132 (rule: a counter more than 4032 below the highest "
            "accepted is too old)"));
}

TEST_CASE("security oracle: a key used past reject_after on its node's clock names the rule",
          "[scenario][testbed_power]") {
  SecurityOracle o;
  int64_t now_us = 5'000'000;
  o.set_key_lifetime(15'000'000, [&](const NodeId& n) -> std::optional<int64_t> {
    if (n == id(3)) return std::nullopt;  // not running: not judged
    return now_us;
  });
  o.on_seal(id(1), id(2), {9, 0}, kFrame);  // first use: age 0 from here
  now_us += 14'999'999;
  o.on_seal(id(1), id(2), {9, 1}, kFrame);
  o.on_deliver(id(2), id(1), {9, 1}, kFrame);  // the receiver's first delivery: its age 0
  CHECK(o.violation_count() == 0);
  CHECK(o.uses_past_rekey() == 1);  // the seal at ~15 s is past 2/3 of the lifetime
  now_us += 1;
  o.on_seal(id(1), id(2), {9, 2}, kFrame);
  REQUIRE(o.violation_count() == 1);
  CHECK(has(o.violations(), "[key_lifetime] node 01000000 sealed under key 0000000000000009 (counter 2",
            "15.000s after its first use on that node's clock (rule: a session key is never used past "
            "reject_after = 15.000s)"));
}

TEST_CASE("key lifetime: keys living twice as long (planted) fail the rekey-partition scenario",
          "[scenario][testbed_power]") {
  auto sc = load_scenario_file(scenario_path("security-rekey-partition"));
  REQUIRE(sc.is_ok());
  RunOptions opt;
  opt.final_state = false;
  RunResult clean = run_scenario(*sc, opt);
  CHECK(clean.passed);
  CHECK(clean.security["security.key_uses_past_rekey"] > 0);  // the oracle's precondition is reached
  opt.planted_bug = PlantedBug::key_lifetime_doubled;
  RunResult r = run_scenario(*sc, opt);
  CHECK_FALSE(r.passed);
  CHECK(has(r.violations, "[key_lifetime] node ", "(rule: a session key is never used past reject_after = 15.000s)"));
}

TEST_CASE("aimed attackers: replays at both window edges and bogus cookies are sent and dropped",
          "[scenario][testbed_power]") {
  RunOptions opt;
  opt.final_state = false;
  auto edge = load_scenario_file(scenario_path("security-replay-edge"));
  REQUIRE(edge.is_ok());
  RunResult r = run_scenario(*edge, opt);
  CHECK(r.passed);
  CHECK(r.security["attacker.injected.replay_edge"] > 1000);
  CHECK(r.security["security.deliveries_window_slid"] > 0);  // the bottom edge was in reach
  CHECK(r.security["drops.replay"] > 1000);
  auto storm = load_scenario_file(scenario_path("security-handshake-storm"));
  REQUIRE(storm.is_ok());
  RunResult s = run_scenario(*storm, opt);
  CHECK(s.passed);
  CHECK(s.security["attacker.injected.bogus_cookie"] > 200);
  CHECK(s.security["drops.cookie_required"] > 100);
}
