// meshsim sweep: isolation, sharding, reports (runs the built binary).
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <set>

#include "tests/meshsim/meshsim_exec.h"

using namespace meshd::test;

TEST_CASE("meshsim sweep: parallel isolated seeds, summary line, JSON and JUnit", "[meshsim]") {
  const std::string json = temp_path("sweep.json"), junit = temp_path("sweep.xml");
  Exec e = meshsim("sweep " + source_path("scenarios/crash-restart.json") + " --seeds 1..6 --jobs 2 --json " + json +
              " --junit " + junit);
  INFO(e.out);
  CHECK(e.code == 0);
  CHECK(e.last_line() == "sweep: 6 passed, 0 failed");
  CHECK(e.has("bounds over 6 seeds: detection n="));
  const auto report = nlohmann::json::parse(read_file(json));
  CHECK(report["passed"] == 6);
  REQUIRE(report["per_seed"].size() == 6);
  CHECK(report["per_seed"][0]["seed"] == 1);
  CHECK(report["per_seed"][0]["detection"]["count"].get<int>() > 0);  // crashes were detected
  CHECK(report["bounds"]["detection"]["max_us"].get<int64_t>() > 0);
  CHECK(report["bounds"]["detection"]["max_us"].get<int64_t>() <= 700'000);  // the scenario's bound
  const std::string xml = read_file(junit);
  CHECK(xml.find("<testsuite name=\"meshsim.crash-restart\" tests=\"6\" failures=\"0\"") != std::string::npos);
  CHECK(xml.find("name=\"seed 6\"") != std::string::npos);
}

TEST_CASE("meshsim sweep: a seed that aborts is a reported failure, not the end of the sweep", "[meshsim]") {
  const std::string junit = temp_path("abort.xml");
  Exec e = meshsim("sweep " + source_path("scenarios/crash-restart.json") +
                   " --seeds 1..3 --jobs 2 --plant-bug abort-on-crash-fault --junit " + junit + " 2>/dev/null");
  INFO(e.out);
  CHECK(e.code == 1);
  CHECK(e.last_line() == "sweep: 0 passed, 3 failed");
  CHECK(e.has("FAIL seed=2 [signal:SIGABRT] seed process crashed: SIGABRT"));
  CHECK(e.has("--seed 2 --plant-bug abort-on-crash-fault"));
  CHECK(read_file(junit).find("<failure message=\"seed process crashed: SIGABRT\">") != std::string::npos);
}

TEST_CASE("meshsim sweep: shards are disjoint and cover the range", "[meshsim]") {
  std::multiset<uint64_t> seen;
  for (int k = 1; k <= 3; ++k) {
    const std::string json = temp_path("shard" + std::to_string(k) + ".json");
    Exec e = meshsim("sweep " + source_path("scenarios/smoke.json") + " --seeds 10..17 --shard " +
                     std::to_string(k) + "/3 --json " + json);
    REQUIRE(e.code == 0);
    const auto report = nlohmann::json::parse(read_file(json));  // outlives the loop
    for (const auto& s : report["per_seed"]) seen.insert(s["seed"].get<uint64_t>());
  }
  CHECK(seen == std::multiset<uint64_t>{10, 11, 12, 13, 14, 15, 16, 17});
}

TEST_CASE("meshsim: bad input names the flag and exits 2", "[meshsim]") {
  const std::string sc = source_path("scenarios/smoke.json");
  auto err = [](const std::string& args) { return meshsim(args + " 2>&1"); };
  Exec e = err("sweep " + sc + " --seeds 5..1");
  CHECK(e.code == 2);
  CHECK(e.has("--seeds needs A..B"));
  e = err("sweep " + sc + " --seeds 1..2 --shard 4/3");
  CHECK(e.code == 2);
  CHECK(e.has("--shard needs K/N"));
  e = err("sweep " + sc + " --seeds 1..2 --jobs 0");
  CHECK(e.code == 2);
  CHECK(e.has("--jobs needs"));
  e = err("run " + sc + " --plant-bug nonsense");
  CHECK(e.code == 2);
  CHECK(e.has("--plant-bug needs one of"));
  e = err("replay " + sc);
  CHECK(e.code == 2);
  CHECK(e.has("needs --plan FILE"));
  e = err("shrink " + sc);
  CHECK(e.code == 2);
  e = err("diverge " + sc + " --seed 1 --against /nonexistent/meshsim");
  CHECK(e.code == 2);
  CHECK(e.has("--against"));
}
