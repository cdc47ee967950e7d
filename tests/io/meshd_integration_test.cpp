// End-to-end: real meshd processes on loopback, observed via the control
// socket. Every wait is a bounded poll for an observable state (a peer
// verdict, an exit status); the deadlines are failure bounds, not the
// thing asserted.
#include <fcntl.h>
#include <poll.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "core/crypto/handshake_manager.h"
#include "core/node/config.h"
#include "core/node/node.h"
#include "core/transport/transport_machine.h"
#include "io/control.h"
#include "io/fd.h"
#include "tests/io/io_test_util.h"
#include "tests/io/meshd_process.h"


using meshd::io::test::monotonic_ms_now;
using meshd::io::test::TempDir;
using namespace meshd::io::test;
using nlohmann::json;

namespace {

}  // namespace

TEST_CASE("meshd: three nodes detect a kill -9 and a restart", "[io][integration]") {
  REQUIRE(::access(kMeshd.c_str(), X_OK) == 0);
  TempDir tmp;
  const std::vector<NodeSpec> nodes = make_node_specs(tmp, {"n1", "n2", "n3"});
  const std::string psk_path = write_psk_file(tmp);
  for (const NodeSpec& n : nodes) {
    const json peers = peers_json(nodes, n);
    const json config = {{"name", n.name},
                         {"listen", "127.0.0.1:" + std::to_string(n.port)},
                         {"data_dir", n.dir},
                         {"log_level", "debug"},
                         {"peers", peers},
                         {"membership", kFastMembership},
                         {"security", {{"psk_file", psk_path}, {"rekey_after_s", 10}}}};
    std::ofstream(n.config_path) << config.dump(2) << "\n";
  }
  auto start = [&](const NodeSpec& n) {
    auto p = std::make_unique<Process>(std::vector<std::string>{kMeshd, "--config", n.config_path},
                                       n.log_path());
    REQUIRE(p->running());
    return p;
  };
  std::vector<std::unique_ptr<Process>> procs;
  for (const NodeSpec& n : nodes) procs.push_back(start(n));

  auto all_see = [&](const std::vector<size_t>& observers, const std::string& peer,
                     const std::string& state) {
    for (size_t i : observers) {
      if (peer_states(nodes[i])[peer] != state) return false;
    }
    return true;
  };
  // On failure, show what the nodes logged.
  auto logs = [&] { return all_logs(nodes); };
  if (!poll_until([&] {
        return all_see({1, 2}, "n1", "alive") && all_see({0, 2}, "n2", "alive") && all_see({0, 1}, "n3", "alive");
      })) {
    FAIL("nodes did not all come up\n" << logs());
  }
  auto first_status = meshd::io::control_call(nodes[1].socket(), {{"cmd", "status"}});
  REQUIRE(first_status);
  const json first_node_id = (*first_status)["transport"]["node_id"];
  REQUIRE(first_node_id.is_string());

  // Crash n2: no goodbye, its control socket file is left behind.
  procs[1]->signal(SIGKILL);
  const int killed = procs[1]->wait_exit();
  REQUIRE(killed != -1);
  CHECK(WIFSIGNALED(killed));
  if (!poll_until([&] { return all_see({0, 2}, "n2", "failed"); })) FAIL("n2 not declared failed\n" << logs());
  // The survivors still see each other (polled: a loaded machine may
  // delay a probe and cause a refuted suspicion for a moment).
  CHECK(poll_until([&] { return all_see({0}, "n3", "alive") && all_see({2}, "n1", "alive"); }));

  // Restart n2 from its data directory: the stale socket is replaced and
  // the others see it up again (with a higher incarnation).
  procs[1] = start(nodes[1]);
  if (!poll_until([&] { return all_see({0, 2}, "n2", "alive") && all_see({1}, "n1", "alive"); })) {
    FAIL("restarted n2 not alive again\n" << logs());
  }
  auto status = meshd::io::control_call(nodes[1].socket(), {{"cmd", "status"}});
  REQUIRE(status);
  CHECK((*status)["incarnation"].get<uint64_t>() == 2);
  // SWIM ran over encrypted sessions: handshakes completed, datagrams
  // were sealed and delivered, and the restarted node kept its identity
  // (same NodeId from its 0600 key file).
  const json& transport = (*status)["transport"];
  REQUIRE(transport.is_object());
  CHECK(transport["handshakes_completed"].get<uint64_t>() >= 2);
  CHECK(transport["delivered"].get<uint64_t>() > 0);
  CHECK(transport["node_id"] == first_node_id);
  struct stat key_stat {};
  REQUIRE(::stat((nodes[1].dir + "/node.key").c_str(), &key_stat) == 0);
  CHECK((key_stat.st_mode & 077) == 0);

  // Metrics over the control socket are Prometheus text.
  auto metrics = meshd::io::control_call(nodes[0].socket(), {{"cmd", "metrics"}});
  REQUIRE(metrics);
  const std::string text = (*metrics)["text"];
  CHECK(text.find("# TYPE meshd_udp_sent_datagrams_total counter") != std::string::npos);

  // A graceful stop (SIGTERM) of n3 is `left` at the others, never failed.
  procs[2]->signal(SIGTERM);
  if (!poll_until([&] { return all_see({0, 1}, "n3", "left"); })) FAIL("n3 not reported left\n" << logs());

  // SIGTERM: every node drains and exits 0, removing its control socket.
  for (size_t i = 0; i < 2; ++i) procs[i]->signal(SIGTERM);
  for (size_t i = 0; i < procs.size(); ++i) {
    const int st = procs[i]->wait_exit();
    INFO("node " << nodes[i].name << " stderr: " << slurp(nodes[i].log_path()));
    REQUIRE(st != -1);
    REQUIRE(WIFEXITED(st));
    CHECK(WEXITSTATUS(st) == 0);
    CHECK(::access(nodes[i].socket().c_str(), F_OK) != 0);
  }
  // The JSON logs are one object per line.
  std::istringstream log(slurp(nodes[0].log_path()));
  size_t lines = 0;
  for (std::string line; std::getline(log, line); ++lines) {
    const json j = json::parse(line, nullptr, false);
    REQUIRE_FALSE(j.is_discarded());
    CHECK(j.contains("time"));
    CHECK(j.contains("event"));
  }
  CHECK(lines > 0);
}

TEST_CASE("meshd: configuration errors exit 2 naming the field", "[io][integration]") {
  REQUIRE(::access(kMeshd.c_str(), X_OK) == 0);
  TempDir tmp;
  const std::string config = tmp.sub("bad.json");
  std::ofstream(config) << "{\n  \"name\": \"n1\",\n  \"listen\": \"127.0.0.1:99999\",\n"
                           "  \"data_dir\": \"" << tmp.sub("d") << "\"\n}\n";
  struct Case {
    std::vector<std::string> argv;
    std::string needle;
  };
  const std::vector<Case> cases = {
      {{kMeshd, "--config", config}, "\"field\":\"listen\""},
      {{kMeshd, "--config", tmp.sub("missing.json")}, "cannot read the config file"},
      {{kMeshd}, "--config is required"},
  };
  for (const Case& c : cases) {
    const std::string err_path = tmp.sub("stderr");
    std::remove(err_path.c_str());
    Process p(c.argv, err_path);
    REQUIRE(p.running());
    const int st = p.wait_exit();
    REQUIRE(st != -1);
    REQUIRE(WIFEXITED(st));
    CHECK(WEXITSTATUS(st) == 2);
    const std::string err = slurp(err_path);
    INFO(err);
    CHECK(err.find(c.needle) != std::string::npos);
  }
  const std::string first_err = "\"line\":3";  // the line of the bad field
  Process p({kMeshd, "--config", config}, tmp.sub("stderr2"));
  REQUIRE(p.wait_exit() != -1);
  CHECK(slurp(tmp.sub("stderr2")).find(first_err) != std::string::npos);
}

TEST_CASE("meshctl: talks to a running meshd; exit codes", "[io][integration]") {
  REQUIRE(::access(kMeshd.c_str(), X_OK) == 0);
  REQUIRE(::access(kMeshctl.c_str(), X_OK) == 0);
  TempDir tmp;
  const std::string socket = tmp.sub("ctl.sock");
  const json config = {{"name", "solo"},
                       {"listen", "127.0.0.1:" + std::to_string(free_udp_port())},
                       {"data_dir", tmp.sub("data")},
                       {"control_socket", socket},
                       {"security", {{"psk_hex", kPskHex}, {"identity", "ephemeral"}}}};
  std::ofstream(tmp.sub("solo.json")) << config.dump() << "\n";
  Process node({kMeshd, "--config", tmp.sub("solo.json")}, tmp.sub("meshd.stderr"));
  REQUIRE(node.running());
  REQUIRE(poll_until([&] { return meshd::io::control_call(socket, {{"cmd", "status"}}, 1000).is_ok(); }));

  // Runs meshctl; returns {exit code, stdout, stderr}.
  auto meshctl = [&](std::vector<std::string> args) {
    args.insert(args.begin(), kMeshctl);
    Process p(args, tmp.sub("ctl.stderr"), tmp.sub("ctl.stdout"));
    REQUIRE(p.running());
    const int st = p.wait_exit();
    REQUIRE(st != -1);
    REQUIRE(WIFEXITED(st));
    return std::make_tuple(WEXITSTATUS(st), slurp(tmp.sub("ctl.stdout")), slurp(tmp.sub("ctl.stderr")));
  };

  auto [code, out, err] = meshctl({"--socket", socket, "status"});
  CHECK(code == 0);
  const json status = json::parse(out, nullptr, false);
  REQUIRE_FALSE(status.is_discarded());
  CHECK(status["name"] == "solo");

  std::tie(code, out, err) = meshctl({"--socket", socket, "metrics"});
  CHECK(code == 0);
  CHECK(out.find("# TYPE meshd_udp_sent_datagrams_total counter") != std::string::npos);

  std::tie(code, out, err) = meshctl({"--socket", socket, "no_such_command"});
  CHECK(code == 3);
  CHECK(err.find("unknown command") != std::string::npos);

  std::tie(code, out, err) = meshctl({"--socket", tmp.sub("absent.sock"), "status"});
  CHECK(code == 1);
  CHECK(err.find("absent.sock") != std::string::npos);

  // Without --socket (and $MESHCTL_SOCKET): the packaged node's socket.
  std::tie(code, out, err) = meshctl({"status"});
  CHECK(code == 1);
  CHECK(err.find("/var/lib/meshd/control.sock") != std::string::npos);
  std::tie(code, out, err) = meshctl({"status", "--socket"});
  CHECK(code == 2);
  CHECK(err.find("--socket") != std::string::npos);

  std::tie(code, out, err) = meshctl({"--socket", socket, "status", "not-json"});
  CHECK(code == 2);

  node.signal(SIGINT);
  const int st = node.wait_exit();
  REQUIRE(st != -1);
  CHECK(WIFEXITED(st));
  CHECK(WEXITSTATUS(st) == 0);
}

namespace {

// A mesh member played by the test itself over a real UDP socket: it
// handshakes with a meshd (XX first contact) and seals datagrams, so the
// test holds genuine ciphertexts to replay and mutate.
class TestMember {
 public:
  explicit TestMember(const meshd::crypto::Psk& psk)
      : id_rng_(key(0x51)), rng_(key(0x52)), identity_(meshd::crypto::Identity::generate(id_rng_)),
        manager_(identity_, archive_, psk, rng_, meshd::crypto::HandshakeManagerConfig{}),
        fd_(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0);
  }
  // Completes a handshake with the node at 127.0.0.1:port; its NodeId.
  std::optional<meshd::NodeId> connect(uint16_t port) {
    const meshd::Address to{0x7f000001, port};
    auto out = manager_.connect_address(to, now_us(), wall_us());
    REQUIRE(out);
    std::optional<meshd::NodeId> peer;
    auto handle = [&](meshd::crypto::HandshakeOutput& o) {
      for (const auto& p : o.send) send_raw(p.to.port, p.bytes);
      for (const auto& e : o.events) {
        if (e.kind == meshd::crypto::HandshakeEventKind::established) peer = e.peer;
      }
    };
    handle(*out);
    const int64_t deadline = monotonic_ms_now() + 5000;
    std::vector<uint8_t> buf(2048);
    while (!peer && monotonic_ms_now() < deadline) {
      pollfd pfd{fd_.get(), POLLIN, 0};
      if (::poll(&pfd, 1, 100) <= 0) continue;
      sockaddr_in from{};
      socklen_t len = sizeof(from);
      const ssize_t n = ::recvfrom(fd_.get(), buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n <= 0) continue;
      const auto d = meshd::wire::decode_packet(std::span(buf.data(), static_cast<size_t>(n)));
      if (!d.ok() || d.header.type == meshd::wire::PacketType::transport) continue;
      auto o = manager_.on_handshake_packet({ntohl(from.sin_addr.s_addr), ntohs(from.sin_port)}, d, now_us(),
                                            wall_us());
      handle(o);
    }
    return peer;
  }
  std::vector<uint8_t> seal(const meshd::NodeId& peer, const std::string& text) {
    auto p = manager_.seal(peer, std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()), now_us());
    REQUIRE(p);
    return p->bytes;
  }
  void send_raw(uint16_t port, const std::vector<uint8_t>& bytes) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons(port);
    REQUIRE(::sendto(fd_.get(), bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) ==
            static_cast<ssize_t>(bytes.size()));
  }

 private:
  static meshd::Key32 key(uint8_t v) {
    meshd::Key32 k{};
    k.fill(v);
    return k;
  }
  static int64_t now_us() { return monotonic_ms_now() * 1000; }
  static int64_t wall_us() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return int64_t{ts.tv_sec} * 1'000'000 + ts.tv_nsec / 1000;
  }
  meshd::RandomStream id_rng_;
  meshd::RandomStream rng_;
  meshd::crypto::Identity identity_;
  meshd::crypto::KeyArchive archive_;
  meshd::crypto::HandshakeManager manager_;
  meshd::io::UniqueFd fd_;
};

// The value of one Prometheus series in `text`; -1 if absent.
int64_t series_value(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(series + " ", 0) == 0) return std::stoll(line.substr(series.size() + 1));
  }
  return -1;
}

}  // namespace

TEST_CASE("meshd: garbage, replayed and forged datagrams are dropped and counted; the mesh keeps working",
          "[io][integration]") {
  REQUIRE(::access(kMeshd.c_str(), X_OK) == 0);
  TempDir tmp;
  const std::vector<NodeSpec> nodes = make_node_specs(tmp, {"a1", "a2"});
  for (const NodeSpec& n : nodes) {
    const json config = {
        {"name", n.name},
        {"listen", "127.0.0.1:" + std::to_string(n.port)},
        {"data_dir", n.dir},
        {"peers", peers_json(nodes, n)},
        {"membership", kFastMembership},
        {"security", {{"psk_hex", kPskHex}}}};
    std::ofstream(n.config_path) << config.dump(2) << "\n";
  }
  std::vector<std::unique_ptr<Process>> procs;
  for (const NodeSpec& n : nodes) {
    procs.push_back(std::make_unique<Process>(std::vector<std::string>{kMeshd, "--config", n.config_path},
                                              n.log_path()));
  }
  auto both_up = [&] {
    return peer_states(nodes[0])["a2"] == "alive" && peer_states(nodes[1])["a1"] == "alive";
  };
  REQUIRE(poll_until(both_up));

  auto psk = meshd::parse_psk_hex(kPskHex);
  REQUIRE(psk);
  TestMember member(*psk);
  const auto target = member.connect(nodes[0].port);
  REQUIRE(target.has_value());
  const uint16_t port = nodes[0].port;
  const std::vector<uint8_t> sealed = member.seal(*target, "not a protocol anyone speaks");
  member.send_raw(port, sealed);                        // authentic: delivered (then unknown_protocol)
  member.send_raw(port, sealed);                        // replayed
  std::vector<uint8_t> forged = member.seal(*target, "will be tampered with");
  forged[meshd::wire::kHeaderBytes + 3] ^= 0x20;        // modified ciphertext
  member.send_raw(port, forged);
  member.send_raw(port, std::vector<uint8_t>(80, 0xff));            // garbage: bad magic
  member.send_raw(port, {'h', 'e', 'l', 'l', 'o'});                // garbage: truncated
  std::vector<uint8_t> stranger = sealed;                            // an unknown session
  stranger[40] ^= 0xff;
  member.send_raw(port, stranger);

  auto metric = [&](const std::string& series) {
    auto m = meshd::io::control_call(nodes[0].socket(), {{"cmd", "metrics"}}, 1000);
    return m ? series_value((*m)["text"], series) : -1;
  };
  const auto drops = [&](meshd::wire::DropReason r) { return metric(meshd::wire::metric::kPacketsDropped.series(r)); };
  using meshd::wire::DropReason;
  REQUIRE(poll_until([&] {
    return drops(DropReason::replay) >= 1 && drops(DropReason::auth_failure) >= 1 &&
           drops(DropReason::bad_magic) >= 1 && drops(DropReason::truncated) >= 1 &&
           drops(DropReason::unknown_session) >= 1;
  }));
  CHECK(metric(std::string(meshd::Node::kDroppedUnknownProtocol.series)) == 1);  // only the authentic copy
  // The mesh keeps working: SWIM still flows both ways after the attack.
  const std::string delivered_series(
      meshd::transport::metric::transport_key(meshd::transport::TransportCount::delivered).series);
  const int64_t delivered = metric(delivered_series);
  CHECK(poll_until([&] { return metric(delivered_series) > delivered + 10; }));
  CHECK(both_up());
  for (auto& p : procs) p->signal(SIGTERM);
  for (auto& p : procs) CHECK(p->wait_exit() != -1);
}
