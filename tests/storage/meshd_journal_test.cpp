// The node journal end to end: real meshd processes on loopback write their
// journal (core/node/journal.h) into their data directory; once they are
// stopped — gracefully, and by kill -9 — the real meshlog binary verifies
// and dumps it. Every wait is a bounded poll for an observable state.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "io/control.h"
#include "tests/io/meshd_process.h"
#include "tests/meshsim/meshsim_exec.h"

using namespace meshd::io::test;
using nlohmann::json;

namespace {

meshd::test::Exec meshlog(const std::string& args) {
  return meshd::test::run_command(std::string(MESHD_BINARY_DIR) + "/tools/meshlog " + args + " 2>&1");
}

std::string peer_state(const NodeSpec& node, const std::string& peer) {
  auto status = meshd::io::control_call(node.socket(), {{"cmd", "status"}}, 1000);
  if (!status || !status->contains("peers")) return "";
  for (const json& p : (*status)["peers"]) {
    if (p["name"] == peer) return p["status"].get<std::string>();
  }
  return "";
}

// The journal's records, in order, from `meshlog dump DIR --json`.
std::vector<json> dump_records(const std::string& dir) {
  meshd::test::Exec d = meshlog("dump " + dir + " --json");
  INFO(d.out);
  REQUIRE(d.code == 0);
  std::vector<json> out;
  std::istringstream lines(d.out);
  for (std::string line; std::getline(lines, line);) {
    const json j = json::parse(line, nullptr, false);
    REQUIRE_FALSE(j.is_discarded());
    REQUIRE(j.contains("seq"));
    REQUIRE(j.contains("record"));  // every journal payload is a JSON event
    if (!out.empty()) REQUIRE(j["seq"] == out.back()["seq"].get<uint64_t>() + 1);  // dense
    out.push_back(j);
  }
  return out;
}

size_t count_event(const std::vector<json>& records, const std::string& event) {
  size_t n = 0;
  for (const json& r : records) n += r["record"]["event"] == event ? 1 : 0;
  return n;
}

}  // namespace

TEST_CASE("meshd journal: meshlog verifies and dumps a stopped node's data directory", "[storage][journal][integration]") {
  REQUIRE(::access(kMeshd.c_str(), X_OK) == 0);
  TempDir tmp;
  const std::vector<NodeSpec> nodes = make_node_specs(tmp, {"j1", "j2"});
  const std::string psk_path = write_psk_file(tmp);
  for (const NodeSpec& n : nodes) {
    const json config = {{"name", n.name},
                         {"listen", "127.0.0.1:" + std::to_string(n.port)},
                         {"data_dir", n.dir},
                         {"peers", peers_json(nodes, n)},
                         {"membership", kFastMembership},
                         {"security", {{"psk_file", psk_path}}}};
    std::ofstream(n.config_path) << config.dump(2) << "\n";
  }
  auto start = [&](const NodeSpec& n) {
    auto p = std::make_unique<Process>(std::vector<std::string>{kMeshd, "--config", n.config_path}, n.log_path());
    REQUIRE(p->running());
    return p;
  };
  auto logs = [&] {
    std::string out;
    for (const NodeSpec& n : nodes) out += "--- " + n.name + " stderr:\n" + slurp(n.log_path());
    return out;
  };
  auto p1 = start(nodes[0]);
  auto p2 = start(nodes[1]);
  if (!poll_until([&] { return peer_state(nodes[0], "j2") == "alive" && peer_state(nodes[1], "j1") == "alive"; })) {
    FAIL("nodes did not see each other\n" << logs());
  }
  // The journal reports itself through the control socket.
  auto status = meshd::io::control_call(nodes[0].socket(), {{"cmd", "status"}}, 1000);
  REQUIRE(status);
  CHECK((*status)["journal"]["health"] == "ok");

  // Graceful stop of j1 (SIGTERM): the journal is synced before exit.
  p1->signal(SIGTERM);
  int st = p1->wait_exit();
  INFO(logs());
  REQUIRE(st != -1);
  REQUIRE(WIFEXITED(st));
  REQUIRE(WEXITSTATUS(st) == 0);
  // kill -9 of j2 while it is suspecting j1: whatever the journal synced survives.
  if (!poll_until([&] { return peer_state(nodes[1], "j1") == "left"; })) FAIL("j1 not seen left\n" << logs());
  p2->signal(SIGKILL);
  st = p2->wait_exit();
  REQUIRE(st != -1);
  CHECK(WIFSIGNALED(st));

  for (const NodeSpec& n : nodes) {
    meshd::test::Exec v = meshlog("verify " + n.dir);
    INFO(n.name << ": " << v.out);
    CHECK(v.code == 0);
    CHECK(v.out.find("CLEAN") != std::string::npos);
  }
  const std::vector<json> r1 = dump_records(nodes[0].dir);
  REQUIRE(!r1.empty());
  CHECK(r1.front()["seq"] == 1);
  CHECK(count_event(r1, "node_started") == 1);
  CHECK(count_event(r1, "member_joined") >= 1);  // the verdict on j2, with its evidence
  CHECK(count_event(r1, "node_stopped") == 1);   // the last thing before a graceful exit
  CHECK(r1.back()["record"]["event"] == "node_stopped");
  for (const json& r : r1) {
    if (r["record"]["event"] == "member_joined") CHECK(r["record"]["fields"].contains("id"));
  }
  // j2 was killed: its journal holds at least its start and the join.
  const std::vector<json> r2 = dump_records(nodes[1].dir);
  CHECK(count_event(r2, "node_started") == 1);
  CHECK(count_event(r2, "node_stopped") == 0);

  // A restart recovers and counts the records, then appends after them.
  p1 = start(nodes[0]);
  if (!poll_until([&] { return meshd::io::control_call(nodes[0].socket(), {{"cmd", "status"}}, 1000).is_ok(); })) {
    FAIL("j1 did not restart\n" << logs());
  }
  p1->signal(SIGTERM);
  REQUIRE(p1->wait_exit() != -1);
  const std::vector<json> again = dump_records(nodes[0].dir);
  REQUIRE(again.size() > r1.size());
  CHECK(count_event(again, "node_started") == 2);
  CHECK(again[r1.size() - 1]["hex"] == r1.back()["hex"]);  // the first life's records are intact
  const std::string log1 = slurp(nodes[0].log_path());
  CHECK(log1.find("\"records\":" + std::to_string(r1.size())) != std::string::npos);  // journal_opened counted them
}
