// The Raft workload in the simulator: the history file an outside checker
// reads, and the oracles shown to fail on corrupted input.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <sstream>

#include "sim/consensus/linearizability.h"
#include "sim/scenario/runner.h"
#include "sim/scenario/scenario.h"

using namespace meshd;
using namespace meshd::sim;

namespace {

Scenario raft_storm() {
  auto sc = load_scenario_file(std::string(MESHD_SOURCE_DIR) + "/scenarios/raft-storm.json");
  REQUIRE(sc.is_ok());
  return *sc;
}

// Parses the JSON-lines history back into operations (what an outside
// checker does), pairing each completion with its process's open invocation.
std::vector<HistoryOp> parse_history(const std::string& text) {
  std::vector<HistoryOp> ops;
  std::map<uint64_t, size_t> open;
  std::istringstream in(text);
  std::string line;
  int64_t last_us = 0;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line);
    REQUIRE(j["time_us"].get<int64_t>() >= last_us);  // sorted by time
    last_us = j["time_us"].get<int64_t>();
    const uint64_t p = j["process"].get<uint64_t>();
    if (j["type"] == "invoke") {
      REQUIRE(open.count(p) == 0);  // one outstanding operation per client
      HistoryOp o;
      o.process = p;
      o.key = j["key"].get<std::string>();
      const std::string op = j["op"].get<std::string>();
      o.op = op == "get" ? consensus::KvOp::get : op == "put" ? consensus::KvOp::put : consensus::KvOp::cas;
      if (j.contains("value")) o.value = j["value"].get<std::string>();
      if (j.contains("expected")) o.expected = j["expected"].get<std::string>();
      if (j.contains("expected_absent")) o.expected_absent = j["expected_absent"].get<bool>();
      o.invoke_us = last_us;
      open[p] = ops.size();
      ops.push_back(o);
      continue;
    }
    REQUIRE(open.count(p) == 1);
    HistoryOp& o = ops[open[p]];
    open.erase(p);
    REQUIRE(j["key"].get<std::string>() == o.key);
    if (j["type"] == "ok") {
      o.known = true;
      o.complete_us = last_us;
      o.result_ok = j["ok"].get<bool>();
      if (!j["found"].is_null()) o.found = j["found"].get<std::string>();
    } else {
      REQUIRE(j["type"] == "unknown");
    }
  }
  REQUIRE(open.empty());
  return ops;
}

}  // namespace

TEST_CASE("raft sim: the --history file is complete, deterministic and re-checks as linearizable", "[raft]") {
  const Scenario sc = raft_storm();
  RunOptions opt;
  opt.seed = 3;
  opt.history = true;
  opt.final_state = false;
  const RunResult a = run_scenario(sc, opt);
  const RunResult b = run_scenario(sc, opt);
  REQUIRE(a.passed);
  CHECK(a.history_jsonl == b.history_jsonl);
  std::vector<HistoryOp> ops = parse_history(a.history_jsonl);
  REQUIRE(ops.size() == a.raft["operations"].get<size_t>());
  REQUIRE(ops.size() > 100);
  CHECK(check_linearizable(ops).violations.empty());

  // The checker is not vacuous on a real history: make one answered read
  // return a value nobody ever wrote.
  for (HistoryOp& o : ops) {
    if (o.known && o.op == consensus::KvOp::get) {
      o.found = std::string("never-written");
      break;
    }
  }
  CHECK(check_linearizable(ops).violations.size() == 1);
}

TEST_CASE("raft sim: a scenario's raft block is validated with field names", "[raft]") {
  std::string text = R"({"name": "x", "nodes": 3, "duration_s": 5,
    "raft": {"voters": 3, "storm": {"start_ms": 0, "end_ms": 1000, "kinds": ["partition_flip"]}}})";
  auto sc = parse_scenario(text, "t");
  REQUIRE_FALSE(sc.is_ok());
  CHECK(sc.status().message().find("raft.voters") != std::string::npos);  // no client node left
  text = R"({"name": "x", "nodes": 4, "duration_s": 5,
    "raft": {"voters": 3, "storm": {"start_ms": 0, "end_ms": 1000, "kinds": ["meteor"]}}})";
  sc = parse_scenario(text, "t");
  REQUIRE_FALSE(sc.is_ok());
  CHECK(sc.status().message().find("raft.storm.kinds[0]") != std::string::npos);
}
