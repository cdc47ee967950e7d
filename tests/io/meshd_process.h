// Test helpers for end-to-end tests that run real meshd / meshctl
// processes on loopback (tests/io/meshd_integration_test.cpp,
// tests/membership/meshd_membership_test.cpp). Every wait is a bounded poll
// for an observable state; the budgets are failure bounds, never the thing
// a test asserts.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sys/stat.h>

#include <cstdint>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "io/control.h"
#include "io/fd.h"
#include "tests/io/io_test_util.h"

extern char** environ;

namespace meshd::io::test {

constexpr int64_t kConvergeBudgetMs = 20'000;
constexpr int64_t kPollIntervalMs = 20;
constexpr int64_t kExitBudgetMs = 10'000;

inline const std::string kMeshd = MESHD_BINARY_DIR "/tools/meshd";
inline const std::string kMeshctl = MESHD_BINARY_DIR "/tools/meshctl";
// The PSK every test mesh shares (64 hex digits).
inline const std::string kPskHex = "6d6573682d696e746567726174696f6e2d746573742d70736b2d333262797465";

inline void pause_ms(int64_t ms) {
  timespec ts{static_cast<time_t>(ms / 1000), static_cast<long>((ms % 1000) * 1'000'000)};
  nanosleep(&ts, nullptr);
}

// A loopback UDP port that was free a moment ago.
inline uint16_t free_udp_port() {
  UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0);
  socklen_t len = sizeof(sa);
  REQUIRE(::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&sa), &len) == 0);
  return ntohs(sa.sin_port);
}

inline std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Polls done() every kPollIntervalMs until it holds (true) or the budget
// runs out (false).
inline bool poll_until(const std::function<bool()>& done, int64_t budget_ms = kConvergeBudgetMs) {
  const int64_t deadline = monotonic_ms_now() + budget_ms;
  while (!done()) {
    if (monotonic_ms_now() > deadline) return false;
    pause_ms(kPollIntervalMs);
  }
  return true;
}

// A child process, SIGKILLed and reaped on destruction if still running.
class Process {
 public:
  Process(const std::vector<std::string>& argv, const std::string& stderr_path,
          const std::string& stdout_path = "/dev/null") {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, stdout_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_path.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGINT);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const int rc = posix_spawn(&pid_, argv[0].c_str(), &actions, &attr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) pid_ = -1;
  }
  ~Process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  bool running() const { return pid_ > 0; }
  void signal(int signo) { REQUIRE(::kill(pid_, signo) == 0); }
  // Raw wait status, or -1 if it did not exit within the budget.
  int wait_exit(int64_t budget_ms = kExitBudgetMs) {
    const int64_t deadline = monotonic_ms_now() + budget_ms;
    while (monotonic_ms_now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return status;
      }
      pause_ms(kPollIntervalMs);
    }
    return -1;
  }

 private:
  pid_t pid_ = -1;
};

// One meshd of a test mesh: its name, UDP port, data dir and config file.
struct NodeSpec {
  std::string name;
  uint16_t port = 0;
  std::string dir;
  std::string config_path;
  std::string socket() const { return dir + "/control.sock"; }
  std::string log_path() const { return dir + ".stderr"; }
};

// One NodeSpec per name: a free port, a data dir and a config path in `tmp`.
inline std::vector<NodeSpec> make_node_specs(const TempDir& tmp, std::initializer_list<const char*> names) {
  std::vector<NodeSpec> nodes;
  for (const char* name : names) {
    nodes.push_back({name, free_udp_port(), tmp.sub(name), tmp.sub(std::string(name) + ".json")});
  }
  return nodes;
}

// Writes kPskHex to a 0600 file in `tmp` (meshd refuses a readable one);
// returns its path.
inline std::string write_psk_file(const TempDir& tmp) {
  const std::string path = tmp.sub("mesh.psk");
  std::ofstream(path) << kPskHex << "\n";
  REQUIRE(::chmod(path.c_str(), 0600) == 0);
  return path;
}

// The config's "peers" array for `self`: every other node by name and
// loopback address.
inline nlohmann::json peers_json(const std::vector<NodeSpec>& nodes, const NodeSpec& self) {
  nlohmann::json peers = nlohmann::json::array();
  for (const NodeSpec& other : nodes) {
    if (other.name == self.name) continue;
    peers.push_back({{"name", other.name}, {"address", "127.0.0.1:" + std::to_string(other.port)}});
  }
  return peers;
}

// SWIM at test speed: a crash is declared failed within a few seconds.
inline const nlohmann::json kFastMembership = {{"protocol_period_ms", 200}, {"probe_timeout_ms", 80},
                                               {"gossip_interval_ms", 50}, {"push_pull_interval_ms", 1000},
                                               {"join_retry_ms", 200}};

// The member status (`meshctl peers`: alive, suspect, failed, left,
// unknown) `node` reports, by peer name; empty if unreachable.
inline std::map<std::string, std::string> peer_states(const NodeSpec& node) {
  std::map<std::string, std::string> out;
  auto status = control_call(node.socket(), {{"cmd", "status"}}, 1000);
  if (!status || !status->contains("peers")) return out;
  for (const nlohmann::json& p : (*status)["peers"]) out[p["name"].get<std::string>()] = p["status"];
  return out;
}

// Every node's stderr, for a failure message.
inline std::string all_logs(const std::vector<NodeSpec>& nodes) {
  std::string out;
  for (const NodeSpec& n : nodes) out += "--- " + n.name + " stderr:\n" + slurp(n.log_path());
  return out;
}

}  // namespace meshd::io::test
