// The storage crash-consistency oracle: passes on the engine, catches a
// planted durability bug (acknowledging before fsync).
#include <catch2/catch.hpp>

#include <string>

#include "sim/scenario/runner.h"
#include "sim/scenario/scenario.h"

using namespace meshd;
using namespace meshd::sim;

namespace {
Scenario load(const char* name) {
  auto sc = load_scenario_file(std::string(MESHD_SOURCE_DIR) + "/scenarios/" + name + ".json");
  REQUIRE(sc.is_ok());
  REQUIRE(sc->storage.has_value());
  return *sc;
}
}  // namespace

TEST_CASE("storage oracle: the engine passes and durable appends are checked", "[storage][scenario]") {
  const Scenario sc = load("storage-group-crash");
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    RunOptions opt;
    opt.seed = seed;
    RunResult r = run_scenario(sc, opt);
    INFO("seed " << seed << ": " << (r.violations.empty() ? "" : r.violations.front()));
    CHECK(r.passed);
    CHECK(r.storage["durable_acks"] > 100);
    CHECK(r.storage["opens"] >= sc.nodes * 2);      // restarts happened and were checked
    CHECK(r.storage["records_verified"] > 100);
    CHECK(r.storage["disk.crashes"] > 0);
  }
}

TEST_CASE("storage oracle: catches acknowledging durability before fsync", "[storage][scenario]") {
  const Scenario sc = load("storage-group-crash");
  int caught = 0;
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    RunOptions opt;
    opt.seed = seed;
    opt.planted_bug = PlantedBug::storage_ack_before_fsync;
    RunResult r = run_scenario(sc, opt);
    if (r.passed) continue;
    ++caught;
    CHECK(r.violations.front().find("missing after restart") != std::string::npos);
  }
  CHECK(caught >= 3);
}

TEST_CASE("storage scenario: errors name the field and the line", "[storage][scenario]") {
  auto sc = parse_scenario("{\"name\": \"s\", \"nodes\": 1, \"duration_s\": 1,\n \"storage\": {\"sync\": \"sometimes\"}}",
                           "s.json");
  REQUIRE_FALSE(sc.is_ok());
  CHECK(sc.status().message() == "s.json: line 2: field 'storage.sync': expected every, group or none");
  auto sc2 = parse_scenario("{\"name\": \"s\", \"nodes\": 1, \"duration_s\": 1,\n \"storage\": {\n \"disk\": {\"misdirected\": 1}}}",
                            "s.json");
  REQUIRE_FALSE(sc2.is_ok());
  CHECK(sc2.status().message().find("misdirected") != std::string::npos);
}
