#include "io/control.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstring>
#include <thread>
#include <vector>

#include "io/clock.h"
#include "tests/io/io_test_util.h"

using meshd::Errc;
using meshd::Runtime;
using meshd::io::ControlServer;
using meshd::io::EventLoop;
using meshd::io::RealClock;
using meshd::io::UniqueFd;
using meshd::io::test::run_until;
using meshd::io::test::TempDir;
using nlohmann::json;

namespace {

// The server runs on this thread's loop; clients (blocking) on another
// thread. Threads are fine in io/ tests: nothing here is simulated.
struct Fixture {
  TempDir tmp;
  std::string path = tmp.sub("control.sock");
  RealClock clock;
  Runtime runtime{clock};
  std::unique_ptr<EventLoop> loop = std::move(EventLoop::create(runtime).value());
  std::vector<json> seen;
  std::unique_ptr<ControlServer> server;

  Fixture() {
    auto s = ControlServer::open(*loop, path, [this](const json& request) {
      seen.push_back(request);
      if (request["cmd"] == "boom") throw std::runtime_error("handler failed");
      return json{{"ok", true}, {"echo", request}};
    });
    REQUIRE(s);
    server = std::move(*s);
  }

  // Runs `client` on a thread while driving the loop until it finishes.
  template <class F>
  void with_client(F client) {
    std::atomic<bool> done{false};
    std::thread t([&] {
      client();
      done = true;
    });
    const bool finished = run_until(*loop, [&] { return done.load(); });
    t.join();
    REQUIRE(finished);
  }
};

UniqueFd raw_connect(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::memcpy(sa.sun_path, path.data(), path.size());
  REQUIRE(::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0);
  return fd;
}

}  // namespace

TEST_CASE("ControlServer: request/response round trip", "[io][control]") {
  Fixture f;
  meshd::Result<json> response = meshd::Status(Errc::timeout);
  f.with_client([&] { response = meshd::io::control_call(f.path, {{"cmd", "status"}, {"x", 7}}); });
  REQUIRE(response);
  CHECK((*response)["ok"] == true);
  CHECK((*response)["echo"]["cmd"] == "status");
  CHECK((*response)["echo"]["x"] == 7);
  REQUIRE(f.seen.size() == 1);
  CHECK(f.server->requests_served() == 1);
}

TEST_CASE("ControlServer: socket file is 0600", "[io][control]") {
  Fixture f;
  struct stat st {};
  REQUIRE(::lstat(f.path.c_str(), &st) == 0);
  CHECK(S_ISSOCK(st.st_mode));
  CHECK((st.st_mode & 0777) == 0600);
}

TEST_CASE("ControlServer: malformed requests get error responses", "[io][control]") {
  Fixture f;
  std::vector<meshd::Result<std::string>> out;
  f.with_client([&] {
    out.push_back(meshd::io::control_exchange(f.path, "not json"));
    out.push_back(meshd::io::control_exchange(f.path, "[1,2]"));
    out.push_back(meshd::io::control_exchange(f.path, R"({"cmd": 5})"));
    out.push_back(meshd::io::control_exchange(f.path, R"({"cmd": "boom"})"));
  });
  REQUIRE(out.size() == 4);
  for (auto& r : out) {
    REQUIRE(r);
    const json j = json::parse(*r);
    CHECK(j["ok"] == false);
    CHECK(j["error"].is_string());
  }
  CHECK(json::parse(*out[3])["error"].get<std::string>().find("handler failed") != std::string::npos);
  CHECK(f.seen.size() == 1);  // only the well-formed "boom" reached the handler
}

TEST_CASE("ControlServer: oversize request is rejected and the connection closed", "[io][control]") {
  Fixture f;
  meshd::Result<std::string> big = meshd::Status(Errc::timeout);
  meshd::Result<json> after = meshd::Status(Errc::timeout);
  f.with_client([&] {
    std::string line = R"({"cmd":"status","pad":")" +
                       std::string(meshd::io::kControlRequestBytesMax + 10, 'x') + "\"}";
    big = meshd::io::control_exchange(f.path, line);
    after = meshd::io::control_call(f.path, {{"cmd", "status"}});
  });
  REQUIRE(big);
  const json j = json::parse(*big);
  CHECK(j["ok"] == false);
  CHECK(j["error"].get<std::string>().find("too large") != std::string::npos);
  CHECK(f.seen.size() == 1);  // only the follow-up request
  REQUIRE(after);             // the server survived
  CHECK((*after)["ok"] == true);
}

TEST_CASE("ControlServer: pipelined requests answered in order", "[io][control]") {
  Fixture f;
  UniqueFd fd = raw_connect(f.path);
  const std::string requests = "{\"cmd\":\"a\"}\n{\"cmd\":\"b\"}\n{\"cmd\":\"c\"}\n";
  REQUIRE(::send(fd.get(), requests.data(), requests.size(), 0) == ssize_t(requests.size()));
  REQUIRE(::shutdown(fd.get(), SHUT_WR) == 0);
  std::string got;
  REQUIRE(run_until(*f.loop, [&] {
    char buf[4096];
    const ssize_t n = ::recv(fd.get(), buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0) got.append(buf, size_t(n));
    return n == 0;  // the server closes after answering a half-closed client
  }));
  std::vector<std::string> cmds;
  size_t start = 0;
  for (size_t nl; (nl = got.find('\n', start)) != std::string::npos; start = nl + 1) {
    cmds.push_back(json::parse(got.substr(start, nl - start))["echo"]["cmd"]);
  }
  CHECK(cmds == std::vector<std::string>{"a", "b", "c"});
  CHECK(f.server->client_count() == 0);
}

TEST_CASE("ControlServer: client limit", "[io][control]") {
  Fixture f;
  std::vector<UniqueFd> clients;
  for (size_t i = 0; i < meshd::io::kControlClientsMax; ++i) clients.push_back(raw_connect(f.path));
  REQUIRE(run_until(*f.loop, [&] { return f.server->client_count() == meshd::io::kControlClientsMax; }));
  UniqueFd extra = raw_connect(f.path);
  std::string got;
  REQUIRE(run_until(*f.loop, [&] {
    char buf[256];
    const ssize_t n = ::recv(extra.get(), buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0) got.append(buf, size_t(n));
    return n == 0;
  }));
  CHECK(json::parse(got)["error"] == "too many control clients");
  CHECK(f.server->client_count() == meshd::io::kControlClientsMax);
}

TEST_CASE("ControlServer: stale socket replaced, live one refused, file removed on close",
          "[io][control]") {
  TempDir tmp;
  const std::string path = tmp.sub("c.sock");
  {
    // A socket file left behind by a dead process.
    UniqueFd dead(::socket(AF_UNIX, SOCK_STREAM, 0));
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path, path.data(), path.size());
    REQUIRE(::bind(dead.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0);
  }
  RealClock clock;
  Runtime runtime(clock);
  auto loop = EventLoop::create(runtime).value();
  auto handler = [](const json&) { return json{{"ok", true}}; };
  {
    auto first = ControlServer::open(*loop, path, handler);
    REQUIRE(first);
    CHECK(ControlServer::open(*loop, path, handler).code() == Errc::exists);
  }
  struct stat st {};
  CHECK(::lstat(path.c_str(), &st) != 0);  // unlinked by the destructor
  // A regular file is never replaced.
  { FILE* file = fopen(path.c_str(), "w"); REQUIRE(file != nullptr); fclose(file); }
  CHECK(ControlServer::open(*loop, path, handler).code() == Errc::exists);
}

TEST_CASE("control_call: nothing listening is Errc::unavailable", "[io][control]") {
  TempDir tmp;
  CHECK(meshd::io::control_call(tmp.sub("absent.sock"), {{"cmd", "status"}}).code() ==
        Errc::unavailable);
  CHECK(meshd::io::control_call(std::string(200, 'x'), {{"cmd", "status"}}).code() ==
        Errc::too_large);
}
