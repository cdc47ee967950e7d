#include "io/node_host.h"

#include <catch2/catch.hpp>

#include "tests/io/io_test_util.h"

using meshd::Address;
using meshd::io::NodeHost;
using meshd::io::test::run_until;
using meshd::io::test::TempDir;

TEST_CASE("NodeHost: a working Env over real sockets and files", "[io][host]") {
  TempDir tmp;
  auto host = NodeHost::create({Address{0x7f000001, 0}, tmp.sub("data"), meshd::LogLevel::error});
  REQUIRE(host);
  meshd::Env& env = (*host)->env();
  const Address self = env.network.local_address();
  CHECK(self.port != 0);

  // A fiber sends to its own endpoint and waits on a channel fed by the
  // receive handler: the pattern core/ uses.
  meshd::Channel<std::vector<uint8_t>> inbox(env.runtime, 4);
  env.network.set_receive_handler([&](const Address&, std::span<const uint8_t> bytes) {
    CHECK(inbox.try_send(std::vector<uint8_t>(bytes.begin(), bytes.end())));
  });
  std::vector<uint8_t> got;
  bool done = false;
  REQUIRE(env.runtime.spawn("ping", [&] {
    const std::vector<uint8_t> ping = {'p', 'i', 'n', 'g'};
    CHECK(env.network.send(self, ping));
    auto r = inbox.recv(env.runtime.now_us() + 5 * meshd::kMicrosPerSecond);
    if (r) got = *r;
    CHECK(meshd::write_file_atomic(env.disk, "seen", got));
    done = true;
  }));
  REQUIRE(run_until((*host)->loop(), [&] { return done; }));
  CHECK(got == std::vector<uint8_t>{'p', 'i', 'n', 'g'});
  CHECK(meshd::read_file(env.disk, "seen", 16).value() == got);
  CHECK(env.metrics.value(meshd::io::metric::kUdpReceivedDatagrams) == 1);
}

TEST_CASE("NodeHost: bind failure is reported", "[io][host]") {
  TempDir tmp;
  auto first = NodeHost::create({Address{0x7f000001, 0}, tmp.sub("a"), meshd::LogLevel::error});
  REQUIRE(first);
  auto second = NodeHost::create(
      {(*first)->network().local_address(), tmp.sub("b"), meshd::LogLevel::error});
  CHECK(second.code() == meshd::Errc::exists);
}
