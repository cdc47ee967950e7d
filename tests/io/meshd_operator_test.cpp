// End-to-end tests of the operator's meshd (issue 18): real meshd and
// meshctl processes on loopback — CLI conventions, the JSON log schema,
// SIGHUP / `meshctl reload`, keys (show, rotate, pin), verdict evidence and
// `meshctl why`, refused handshakes, config errors and the HTTP /metrics
// endpoint. Every wait is a bounded poll for an observable state; the
// budgets are failure bounds, never the thing asserted.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "io/control.h"
#include "io/fd.h"
#include "tests/io/io_test_util.h"
#include "tests/io/meshd_process.h"
#include "tests/meshsim/meshsim_exec.h"

using namespace meshd::io::test;
using nlohmann::json;

namespace {

const std::string kMeshsimBin = MESHD_BINARY_DIR "/tools/meshsim";
const std::string kMeshlogBin = MESHD_BINARY_DIR "/tools/meshlog";

json node_config(const NodeSpec& n, const json& peers, const std::string& psk_path) {
  return {{"name", n.name},
          {"listen", "127.0.0.1:" + std::to_string(n.port)},
          {"data_dir", n.dir},
          {"metrics_listen", "127.0.0.1:0"},
          {"peers", peers},
          {"membership", kFastMembership},
          {"security", {{"psk_file", psk_path}}}};
}

void write_config(const NodeSpec& n, const json& config) { std::ofstream(n.config_path) << config.dump(2) << "\n"; }

std::unique_ptr<Process> start(const NodeSpec& n, std::vector<std::string> extra = {}) {
  std::vector<std::string> argv{kMeshd, "--config", n.config_path};
  argv.insert(argv.end(), extra.begin(), extra.end());
  auto p = std::make_unique<Process>(argv, n.log_path());
  REQUIRE(p->running());
  return p;
}

// Every line of a meshd stderr file: parsed, in order.
std::vector<json> log_lines(const std::string& path) {
  std::vector<json> out;
  std::istringstream in(slurp(path));
  for (std::string line; std::getline(in, line);) out.push_back(json::parse(line, nullptr, false));
  return out;
}

// The documented schema: exactly time, level, event, node, fields.
void check_log_schema(const std::string& path) {
  const std::string text = slurp(path);
  INFO(path << ":\n" << text);
  std::istringstream in(text);
  size_t n = 0;
  for (std::string line; std::getline(in, line); ++n) {
    const json j = json::parse(line, nullptr, false);
    REQUIRE_FALSE(j.is_discarded());
    REQUIRE(j.is_object());
    CHECK(j.size() == 5);
    CHECK(j["time"].is_string());
    CHECK(j["level"].is_string());
    CHECK(j["event"].is_string());
    CHECK((j["node"].is_string() || j["node"].is_null()));
    CHECK(j["fields"].is_object());
    CHECK(line.rfind("{\"time\":", 0) == 0);
  }
  CHECK(n > 0);
}

std::vector<json> events(const std::string& path, const std::string& name) {
  std::vector<json> out;
  for (const json& j : log_lines(path)) {
    if (j.is_object() && j["event"] == name) out.push_back(j);
  }
  return out;
}

int exit_code_of(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

meshd::test::Exec meshctl(const NodeSpec& n, const std::string& args) {
  return meshd::test::run_command(kMeshctl + " --socket " + n.socket() + " " + args + " 2>&1");
}

// One HTTP exchange with a raw TCP socket: the whole response.
std::string http_exchange(uint16_t port, const std::string& request) {
  meshd::io::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = htons(port);
  REQUIRE(::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0);
  timeval tv{10, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  (void)::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL);
  std::string out;
  char buf[4096];
  for (ssize_t r; (r = ::read(fd.get(), buf, sizeof(buf))) > 0;) out.append(buf, static_cast<size_t>(r));
  return out;
}

// The port of a node's HTTP /metrics endpoint, from its meshd_ready line.
uint16_t metrics_port(const NodeSpec& n) {
  uint16_t port = 0;
  poll_until([&] {
    auto ready = events(n.log_path(), "meshd_ready");
    if (ready.empty()) return false;
    const std::string url = ready[0]["fields"]["metrics"];
    port = static_cast<uint16_t>(std::stoi(url.substr(url.rfind(':') + 1)));
    return true;
  });
  return port;
}

void stop_all(std::vector<std::unique_ptr<Process>>& procs, const std::vector<NodeSpec>& nodes) {
  for (auto& p : procs) {
    if (p && p->running()) p->signal(SIGTERM);
  }
  for (size_t i = 0; i < procs.size(); ++i) {
    if (!procs[i] || !procs[i]->running()) continue;
    const int st = procs[i]->wait_exit();
    INFO("node " << nodes[i].name << " stderr: " << slurp(nodes[i].log_path()));
    REQUIRE(st != -1);
    CHECK(exit_code_of(st) == 0);
    CHECK(::access(nodes[i].socket().c_str(), F_OK) != 0);  // no stale control socket
  }
}

}  // namespace

TEST_CASE("cli: every binary answers --version and VERB --help with exit 0", "[io][operator]") {
  using meshd::test::run_command;
  for (const std::string& bin : {kMeshd, kMeshctl, kMeshsimBin, kMeshlogBin}) {
    const auto v = run_command(bin + " --version 2>&1");
    INFO(bin << ": " << v.out);
    CHECK(v.code == 0);
    CHECK(v.out.find("(git ") != std::string::npos);
    CHECK(v.out.find(", ") != std::string::npos);  // build type after the revision
    CHECK(run_command(bin + " --help 2>&1").code == 0);
  }
  for (std::string verb : {"run", "key", "key show"}) CHECK(run_command(kMeshd + " " + verb + " --help").code == 0);
  for (std::string verb : {"run", "sweep", "timeline", "shrink"}) {
    CHECK(run_command(kMeshsimBin + " " + verb + " --help").code == 0);
  }
  for (std::string verb : {"dump", "verify"}) CHECK(run_command(kMeshlogBin + " " + verb + " --help").code == 0);
  const auto help = run_command(kMeshctl + " --help");
  for (std::string verb : {"status", "peers", "members", "transport", "metrics", "announce", "why", "reload",
                                  "rotate-key"}) {
    INFO(verb);
    CHECK(help.out.find("  " + verb + " ") != std::string::npos);
    CHECK(run_command(kMeshctl + " " + verb + " --help").code == 0);
  }
  // Usage errors still exit 2, and meshd's are JSON lines too.
  CHECK(run_command(kMeshctl + " --bogus 2>/dev/null").code == 2);
  const auto bad = run_command(kMeshd + " --bogus 2>&1");
  CHECK(bad.code == 2);
  const json line = json::parse(bad.out, nullptr, false);
  REQUIRE_FALSE(line.is_discarded());
  CHECK(line["event"] == "usage_error");
}

TEST_CASE("meshd: config errors name file, line and field, as JSON lines", "[io][operator]") {
  TempDir tmp;
  const std::string psk = write_psk_file(tmp);
  struct Case {
    std::string text;
    int line;
    std::string field;
    std::string needle;
  };
  const std::string dir = tmp.sub("d");
  const std::vector<Case> cases = {
      // A missing comma at the end of line 3 is reported on line 3.
      {"{\n  \"name\": \"n1\",\n  \"listen\": \"127.0.0.1:1\"\n  \"data_dir\": \"" + dir + "\"\n}\n", 3, "",
       "not valid JSON"},
      // A trailing comma on line 2.
      {"{\n  \"name\": \"n1\",\n}\n", 2, "", "not valid JSON"},
      // A missing required field: the enclosing object's line.
      {"{\n  \"listen\": \"127.0.0.1:7\",\n  \"data_dir\": \"" + dir + "\"\n}\n", 1, "name", ""},
      {"{\n  \"name\": \"n1\",\n  \"listen\": \"127.0.0.1:99999\",\n  \"data_dir\": \"" + dir + "\"\n}\n", 3, "listen",
       "a.b.c.d:port"},
      {"{\n  \"name\": \"n1\",\n  \"listen\": \"127.0.0.1:7\",\n  \"data_dir\": \"" + dir +
           "\",\n  \"security\": {\n    \"psk_file\": \"" + tmp.sub("nope.psk") + "\"\n  }\n}\n",
       6, "security.psk_file", "cannot read"},
  };
  for (const Case& c : cases) {
    std::ofstream(tmp.sub("c.json")) << c.text;
    const auto r = meshd::test::run_command(kMeshd + " --config " + tmp.sub("c.json") + " 2>&1");
    INFO(c.text << "\n-> " << r.out);
    CHECK(r.code == 2);
    const json j = json::parse(r.out, nullptr, false);
    REQUIRE_FALSE(j.is_discarded());
    CHECK(j["event"] == "config_invalid");
    CHECK(j["fields"]["file"] == tmp.sub("c.json"));
    CHECK(j["fields"]["line"] == c.line);
    CHECK(j["fields"]["field"] == c.field);
    CHECK(j["fields"]["error"].get<std::string>().find(c.needle) != std::string::npos);
  }
  // A readable PSK file: refused, naming the field and its line.
  const std::string open_psk = tmp.sub("open.psk");
  std::ofstream(open_psk) << kPskHex << "\n";
  REQUIRE(::chmod(open_psk.c_str(), 0644) == 0);
  std::ofstream(tmp.sub("c.json")) << "{\"name\": \"n1\", \"listen\": \"127.0.0.1:7\", \"data_dir\": \"" << dir
                                   << "\",\n \"security\": {\"psk_file\": \"" << open_psk << "\"}}\n";
  auto r = meshd::test::run_command(kMeshd + " --config " + tmp.sub("c.json") + " 2>&1");
  CHECK(r.code == 2);
  json j = json::parse(r.out, nullptr, false);
  CHECK(j["fields"]["field"] == "security.psk_file");
  CHECK(j["fields"]["line"] == 2);
  // The port is taken: exit 1, naming the listen field and its line.
  const NodeSpec busy{"n1", free_udp_port(), dir, tmp.sub("busy.json")};
  meshd::io::UniqueFd holder(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = htons(busy.port);
  REQUIRE(::bind(holder.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0);
  write_config(busy, node_config(busy, json::array(), psk));
  r = meshd::test::run_command(kMeshd + " --config " + busy.config_path + " 2>&1");
  CHECK(r.code == 1);
  j = json::parse(r.out, nullptr, false);
  REQUIRE_FALSE(j.is_discarded());
  CHECK(j["fields"]["field"] == "listen");
  CHECK(j["fields"]["line"] == 3);
}

TEST_CASE("meshd: the example config runs, with a membership block", "[io][operator]") {
  TempDir tmp;
  json example = json::parse(slurp(MESHD_SOURCE_DIR "/packaging/meshd.example.json"));
  REQUIRE(example.contains("membership"));
  NodeSpec n{"example", free_udp_port(), tmp.sub("data"), tmp.sub("example.json")};
  example["listen"] = "127.0.0.1:" + std::to_string(n.port);
  example["data_dir"] = n.dir;
  example["metrics_listen"] = "127.0.0.1:0";
  example["control_socket"] = n.socket();
  example["security"]["psk_file"] = write_psk_file(tmp);
  write_config(n, example);
  std::vector<std::unique_ptr<Process>> procs;
  procs.push_back(start(n));
  REQUIRE(poll_until([&] { return meshctl(n, "members").code == 0; }));
  stop_all(procs, {n});
  check_log_schema(n.log_path());
}

TEST_CASE("meshd: SIGHUP and meshctl reload apply live fields, refuse the rest", "[io][operator]") {
  TempDir tmp;
  const std::vector<NodeSpec> nodes = make_node_specs(tmp, {"n1", "n2", "n3"});
  const std::string psk = write_psk_file(tmp);
  // n1 and n2 know each other; n3 knows nobody (it must be found by n1
  // once n1's reloaded config names it).
  write_config(nodes[0], node_config(nodes[0], peers_json({nodes[0], nodes[1]}, nodes[0]), psk));
  write_config(nodes[1], node_config(nodes[1], peers_json({nodes[0], nodes[1]}, nodes[1]), psk));
  write_config(nodes[2], node_config(nodes[2], json::array(), psk));
  std::vector<std::unique_ptr<Process>> procs;
  for (const NodeSpec& n : nodes) procs.push_back(start(n));
  auto logs = [&] { return all_logs(nodes); };
  if (!poll_until([&] { return peer_states(nodes[0])["n2"] == "alive" && peer_states(nodes[1])["n1"] == "alive"; })) {
    FAIL("n1/n2 did not come up\n" << logs());
  }
  auto status = meshd::io::control_call(nodes[0].socket(), {{"cmd", "status"}});
  REQUIRE(status);
  const uint64_t handshakes_before = (*status)["transport"]["handshakes_completed"];
  CHECK(peer_states(nodes[0]).count("n3") == 0);

  // Add n3 to n1's peers, turn on debug logging and change a SWIM knob; SIGHUP.
  json live = node_config(nodes[0], peers_json(nodes, nodes[0]), psk);
  live["log_level"] = "debug";
  live["membership"]["suspicion_mult"] = 5;
  write_config(nodes[0], live);
  procs[0]->signal(SIGHUP);
  if (!poll_until([&] {
        return peer_states(nodes[0])["n3"] == "alive" && peer_states(nodes[2])["n1"] == "alive" &&
               peer_states(nodes[1])["n3"] == "alive";
      })) {
    FAIL("n3 not found after the reload\n" << logs());
  }
  CHECK(procs[0]->wait_exit(0) == -1);  // still running: SIGHUP no longer kills
  const auto reloaded = events(nodes[0].log_path(), "config_reloaded");
  REQUIRE(reloaded.size() == 1);
  CHECK(reloaded[0]["fields"]["peers"] == 2);
  CHECK(events(nodes[0].log_path(), "membership_reconfigured").size() == 1);
  bool debug_after_reload = false;
  bool seen_reload = false;
  for (const json& j : log_lines(nodes[0].log_path())) {
    if (j["event"] == "config_reloaded") seen_reload = true;
    if (seen_reload && j["level"] == "debug") debug_after_reload = true;
  }
  CHECK(debug_after_reload);
  // The n1-n2 session survived the reload: with debug on from the reload
  // on, n1 logs every session it establishes — none is with n2 (n3's are).
  auto n2_status = meshd::io::control_call(nodes[1].socket(), {{"cmd", "status"}});
  REQUIRE(n2_status);
  const std::string n2_id = (*n2_status)["identity"]["node_id"];
  size_t sessions_after_reload = 0;
  seen_reload = false;
  for (const json& j : log_lines(nodes[0].log_path())) {
    if (j["event"] == "config_reloaded") seen_reload = true;
    if (!seen_reload || j["event"] != "session_established") continue;
    ++sessions_after_reload;
    CHECK(j["fields"]["peer"] != n2_id);
  }
  CHECK(sessions_after_reload >= 1);  // n3's: the check above could see one
  status = meshd::io::control_call(nodes[0].socket(), {{"cmd", "status"}});
  REQUIRE(status);
  CHECK((*status)["transport"]["handshakes_completed"].get<uint64_t>() > handshakes_before);

  // A field that cannot change live: refused, with the field, the old config keeps running.
  json moved = live;
  moved["listen"] = "127.0.0.1:" + std::to_string(free_udp_port());
  write_config(nodes[0], moved);
  auto r = meshctl(nodes[0], "reload");
  INFO(r.out);
  CHECK(r.code == 3);
  CHECK(r.out.find("listen") != std::string::npos);
  procs[0]->signal(SIGHUP);
  CHECK(poll_until([&] { return events(nodes[0].log_path(), "config_reload_refused").size() == 2; }));
  const json refused = events(nodes[0].log_path(), "config_reload_refused").back();
  CHECK(refused["fields"]["field"] == "listen");
  CHECK(refused["fields"]["line"] == 3);
  CHECK(refused["fields"]["trigger"] == "SIGHUP");
  // A broken file: refused, naming the line; the node runs on.
  std::ofstream(nodes[0].config_path) << "{\n  \"name\": \"n1\",\n";
  r = meshctl(nodes[0], "reload");
  CHECK(r.code == 3);
  CHECK(r.out.find("line 2") != std::string::npos);
  CHECK(peer_states(nodes[0])["n3"] == "alive");
  CHECK(peer_states(nodes[0])["n2"] == "alive");

  stop_all(procs, nodes);
  for (const NodeSpec& n : nodes) check_log_schema(n.log_path());
}

TEST_CASE("meshd: keys shown, pinned and rotated live", "[io][operator]") {
  TempDir tmp;
  const std::vector<NodeSpec> nodes = make_node_specs(tmp, {"n1", "n2"});
  const std::string psk = write_psk_file(tmp);
  write_config(nodes[0], node_config(nodes[0], peers_json(nodes, nodes[0]), psk));
  // Before the first start: generate the key, then show it (what n2 pins).
  auto gen = meshd::test::run_command(kMeshd + " key generate --config " + nodes[0].config_path + " 2>/dev/null");
  REQUIRE(gen.code == 0);
  auto shown = meshd::test::run_command(kMeshd + " key show --config " + nodes[0].config_path + " 2>/dev/null");
  REQUIRE(shown.code == 0);
  const json key = json::parse(shown.out);
  const std::string pk = key["public_key"];
  CHECK(pk.size() == 64);
  CHECK(key["pin"]["public_key"] == pk);
  CHECK(meshd::test::run_command(kMeshd + " key generate --config " + nodes[0].config_path + " 2>/dev/null").code ==
        1);  // never replaced
  // n2 pins n1's key (the "pin" entry as printed).
  json n2_peers = json::array({key["pin"]});
  write_config(nodes[1], node_config(nodes[1], n2_peers, psk));
  std::vector<std::unique_ptr<Process>> procs;
  for (const NodeSpec& n : nodes) procs.push_back(start(n));
  REQUIRE(poll_until([&] { return peer_states(nodes[1])["n1"] == "alive" && peer_states(nodes[0])["n2"] == "alive"; }));

  auto st = meshctl(nodes[0], "status");
  REQUIRE(st.code == 0);
  json status = json::parse(st.out);
  CHECK(status["identity"]["public_key"] == pk);
  CHECK(status["identity"]["fingerprint"] == key["fingerprint"]);
  CHECK(status["identity"]["node_id"] == key["node_id"]);
  CHECK(status["version"].get<std::string>().find("meshd ") == 0);

  // Live rotation: same NodeId, a new key, the old one archived; n2 keeps n1 alive.
  auto rot = meshctl(nodes[0], "rotate-key");
  INFO(rot.out);
  REQUIRE(rot.code == 0);
  const json rotated = json::parse(rot.out);
  CHECK(rotated["node_id"] == key["node_id"]);
  CHECK(rotated["public_key"] != pk);
  CHECK(::access((nodes[0].dir + "/node.key.archive").c_str(), F_OK) == 0);
  status = json::parse(meshctl(nodes[0], "status").out);
  CHECK(status["identity"]["public_key"] == rotated["public_key"]);
  CHECK(events(nodes[0].log_path(), "key_rotated").size() == 1);
  // `meshd key rotate` on a running node goes through the node too.
  auto rot2 = meshd::test::run_command(kMeshd + " key rotate --config " + nodes[0].config_path + " 2>/dev/null");
  REQUIRE(rot2.code == 0);
  CHECK(json::parse(rot2.out)["public_key"] != rotated["public_key"]);
  CHECK(events(nodes[0].log_path(), "key_rotated").size() == 2);
  CHECK(peer_states(nodes[1])["n1"] == "alive");
  stop_all(procs, nodes);
  // An exposed key file stops the start (exit 1, naming the field); the
  // promised remedy, `meshd key rotate`, works offline and the node starts.
  const std::string key_file = nodes[0].dir + "/node.key";
  REQUIRE(::chmod(key_file.c_str(), 0644) == 0);
  const std::string exposed_log = tmp.sub("exposed.stderr");
  Process exposed({kMeshd, "--config", nodes[0].config_path}, exposed_log);
  const int exposed_status = exposed.wait_exit();
  REQUIRE(exposed_status != -1);
  CHECK(exit_code_of(exposed_status) == 1);
  const auto start_failed = events(exposed_log, "node_start_failed");
  REQUIRE(start_failed.size() == 1);
  CHECK(start_failed[0]["fields"]["field"] == "security.identity");
  CHECK(start_failed[0]["fields"]["file"] == nodes[0].config_path);
  CHECK(start_failed[0]["fields"]["error"].get<std::string>().find("rotate") != std::string::npos);
  check_log_schema(exposed_log);
  auto offline = meshd::test::run_command(kMeshd + " key rotate --config " + nodes[0].config_path + " 2>/dev/null");
  REQUIRE(offline.code == 0);
  CHECK(json::parse(offline.out)["node_id"] == key["node_id"]);
  struct stat key_stat {};
  REQUIRE(::stat(key_file.c_str(), &key_stat) == 0);
  CHECK((key_stat.st_mode & 077) == 0);
  procs.clear();
  procs.push_back(start(nodes[0]));
  CHECK(poll_until([&] { return meshctl(nodes[0], "status").code == 0; }));
  stop_all(procs, {nodes[0]});
  // identity_created exactly once (by `key generate` for n1, at first start for n2).
  CHECK(events(nodes[0].log_path(), "identity_created").empty());
  CHECK(events(nodes[1].log_path(), "identity_created").size() == 1);
  for (const NodeSpec& n : nodes) check_log_schema(n.log_path());
}

TEST_CASE("meshd: verdicts carry evidence, meshctl why, a wrong PSK says why", "[io][operator]") {
  TempDir tmp;
  const std::vector<NodeSpec> nodes = make_node_specs(tmp, {"n1", "n2", "n3", "rogue"});
  const std::string psk = write_psk_file(tmp);
  const std::vector<NodeSpec> mesh(nodes.begin(), nodes.begin() + 3);
  for (const NodeSpec& n : mesh) write_config(n, node_config(n, peers_json(mesh, n), psk));
  // rogue: another PSK, knows n1; gives up on handshakes after 1 s.
  const std::string rogue_psk = tmp.sub("rogue.psk");
  std::ofstream(rogue_psk) << std::string(64, 'a') << "\n";
  REQUIRE(::chmod(rogue_psk.c_str(), 0600) == 0);
  json rogue = node_config(nodes[3], peers_json({nodes[0], nodes[3]}, nodes[3]), rogue_psk);
  rogue["security"]["handshake_timeout_s"] = 1;
  write_config(nodes[3], rogue);
  std::vector<std::unique_ptr<Process>> procs;
  for (const NodeSpec& n : nodes) procs.push_back(start(n));
  auto logs = [&] { return all_logs(nodes); };
  if (!poll_until([&] { return peer_states(nodes[0])["n3"] == "alive" && peer_states(nodes[1])["n3"] == "alive"; })) {
    FAIL("mesh did not come up\n" << logs());
  }
  // n1 refuses the rogue's initiations and says why and from whom.
  const std::string rogue_addr = "127.0.0.1:" + std::to_string(nodes[3].port);
  REQUIRE(poll_until([&] {
    for (const json& j : events(nodes[0].log_path(), "handshake_refused")) {
      if (j["fields"]["from"] == rogue_addr) return true;
    }
    return false;
  }));
  json refusal;
  for (const json& j : events(nodes[0].log_path(), "handshake_refused")) {
    if (j["fields"]["from"] == rogue_addr) refusal = j;
  }
  INFO(refusal.dump());
  CHECK(refusal["level"] == "warn");
  CHECK(refusal["fields"]["hint"].get<std::string>().find("PSK") != std::string::npos);
  // The rogue itself logs that its handshakes went unanswered, and why that may be.
  REQUIRE(poll_until([&] { return !events(nodes[3].log_path(), "handshake_failed").empty(); }));
  const json failed_hs = events(nodes[3].log_path(), "handshake_failed").front();
  CHECK(failed_hs["fields"]["reason"] == "no_response");
  CHECK(failed_hs["fields"]["hint"].get<std::string>().find("PSK") != std::string::npos);

  // Crash n3: n1's suspect and failed lines carry the evidence.
  procs[2]->signal(SIGKILL);
  REQUIRE(procs[2]->wait_exit() != -1);
  if (!poll_until([&] { return peer_states(nodes[0])["n3"] == "failed"; })) FAIL("n3 not failed\n" << logs());
  const auto failed = events(nodes[0].log_path(), "member_failed");
  REQUIRE_FALSE(failed.empty());
  const json& ev = failed.back()["fields"]["evidence"];
  INFO(failed.back().dump());
  REQUIRE(ev.is_object());
  CHECK(ev.contains("accuser"));
  CHECK(ev["accuser"].contains("hostname"));
  CHECK(ev.contains("confirmations"));
  CHECK(ev.contains("expected_confirmations"));
  CHECK(ev.contains("local_health"));
  CHECK(ev.contains("suspect_for_ms"));
  const auto suspects = events(nodes[0].log_path(), "member_suspect");
  REQUIRE_FALSE(suspects.empty());
  CHECK(suspects.back()["fields"]["evidence"].contains("our_probe_failed"));
  // Some suspector's own probe failed: n1 or n2 (whoever probed n3 first).
  bool some_probe_failed = false;
  for (const NodeSpec& n : {nodes[0], nodes[1]}) {
    for (const json& j : events(n.log_path(), "member_suspect")) {
      if (j["fields"]["evidence"].value("our_probe_failed", false)) {
        some_probe_failed = true;
        CHECK(j["fields"]["evidence"].contains("indirect_probes"));
      }
    }
  }
  CHECK(some_probe_failed);

  auto why = meshctl(nodes[0], "why n3");
  INFO(why.out);
  REQUIRE(why.code == 0);
  const json w = json::parse(why.out);
  CHECK(w["status"] == "failed");
  CHECK(w["record"]["verdict"] == "failed");
  CHECK(w["record"]["evidence"]["accuser"].contains("id"));
  CHECK(meshctl(nodes[0], "why nobody").code == 3);
  auto alive = json::parse(meshctl(nodes[0], "why n2").out);
  CHECK(alive["status"] == "alive");

  procs[2].reset();
  stop_all(procs, nodes);
  for (const NodeSpec& n : nodes) check_log_schema(n.log_path());
}

TEST_CASE("meshd: HTTP /metrics serves Prometheus text with build info and every counter", "[io][operator]") {
  TempDir tmp;
  const std::vector<NodeSpec> nodes = make_node_specs(tmp, {"n1"});
  write_config(nodes[0], node_config(nodes[0], json::array(), write_psk_file(tmp)));
  std::vector<std::unique_ptr<Process>> procs;
  procs.push_back(start(nodes[0]));
  const uint16_t port = metrics_port(nodes[0]);
  REQUIRE(port != 0);
  const std::string resp = http_exchange(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  INFO(resp.substr(0, 400));
  REQUIRE(resp.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(resp.find("Content-Type: text/plain; version=0.0.4") != std::string::npos);
  const std::string body = resp.substr(resp.find("\r\n\r\n") + 4);
  CHECK(body.find("meshd_build_info{version=\"") != std::string::npos);
  CHECK(body.find("meshd_uptime_seconds ") != std::string::npos);
  // Every series the control socket reports is scrapable.
  auto ctl = meshd::io::control_call(nodes[0].socket(), {{"cmd", "metrics"}});
  REQUIRE(ctl);
  std::istringstream series((*ctl)["text"].get<std::string>());
  size_t checked = 0;
  for (std::string line; std::getline(series, line);) {
    if (line.empty() || line[0] == '#') continue;
    const std::string name = line.substr(0, line.find_first_of("{ "));
    CHECK(body.find("\n" + name) != std::string::npos);
    ++checked;
  }
  CHECK(checked > 20);
  CHECK(http_exchange(port, "GET /nope HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 404", 0) == 0);
  CHECK(http_exchange(port, "POST /metrics HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 405", 0) == 0);
  CHECK(http_exchange(port, "garbage\r\n\r\n").rfind("HTTP/1.1 400", 0) == 0);
  CHECK(http_exchange(port, "GET /metrics HTTP/1.1\r\nX: " + std::string(9000, 'a') + "\r\n\r\n")
            .rfind("HTTP/1.1 431", 0) == 0);
  // More idle connections than the limit: the endpoint still answers.
  std::vector<meshd::io::UniqueFd> idle;
  for (int i = 0; i < 12; ++i) {
    idle.emplace_back(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons(port);
    REQUIRE(::connect(idle.back().get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0);
  }
  CHECK(http_exchange(port, "GET /metrics HTTP/1.0\r\n\r\n").rfind("HTTP/1.1 200", 0) == 0);

  // promtool, where Debian's prometheus package is installed.
  if (::access("/usr/bin/promtool", X_OK) == 0) {
    std::ofstream(tmp.sub("scrape.prom")) << body;
    const auto check = meshd::test::run_command("/usr/bin/promtool check metrics < " + tmp.sub("scrape.prom") + " 2>&1");
    INFO(check.out);
    CHECK(check.code == 0);
  } else {
    WARN("promtool not installed: `promtool check metrics` skipped");
  }
  stop_all(procs, nodes);
  check_log_schema(nodes[0].log_path());
}
