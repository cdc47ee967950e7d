#include "io/udp.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "io/clock.h"
#include "io/fd.h"
#include "tests/io/io_test_util.h"

using meshd::Address;
using meshd::Errc;
using meshd::Metrics;
using meshd::Runtime;
using meshd::io::EventLoop;
using meshd::io::RealClock;
using meshd::io::UdpNetwork;
namespace metric = meshd::io::metric;
using meshd::io::test::run_until;

namespace {

constexpr uint32_t kLoopback = 0x7f000001;

struct Received {
  Address from;
  std::vector<uint8_t> bytes;
};

struct Fixture {
  RealClock clock;
  Runtime runtime{clock};
  std::unique_ptr<EventLoop> loop = std::move(EventLoop::create(runtime).value());
  Metrics metrics_a;
  Metrics metrics_b;
  std::unique_ptr<UdpNetwork> a = std::move(UdpNetwork::open(*loop, {kLoopback, 0}, metrics_a).value());
  std::unique_ptr<UdpNetwork> b = std::move(UdpNetwork::open(*loop, {kLoopback, 0}, metrics_b).value());
  std::vector<Received> at_b;

  Fixture() {
    b->set_receive_handler([this](const Address& from, std::span<const uint8_t> bytes) {
      at_b.push_back({from, std::vector<uint8_t>(bytes.begin(), bytes.end())});
    });
  }
};

std::vector<uint8_t> payload(size_t size, uint8_t seed) {
  std::vector<uint8_t> out(size);
  for (size_t i = 0; i < size; ++i) out[i] = static_cast<uint8_t>(seed + i * 7);
  return out;
}

}  // namespace

TEST_CASE("UdpNetwork: binds port 0 and reports the chosen port", "[io][udp]") {
  Fixture f;
  CHECK(f.a->local_address().ipv4 == kLoopback);
  CHECK(f.a->local_address().port != 0);
  CHECK(f.a->local_address() != f.b->local_address());
}

TEST_CASE("UdpNetwork: datagrams arrive intact with the sender's address", "[io][udp]") {
  Fixture f;
  const auto small = payload(1, 3);
  const auto max = payload(meshd::kDatagramBytesMax, 9);
  REQUIRE(f.a->send(f.b->local_address(), small));
  REQUIRE(f.a->send(f.b->local_address(), max));
  REQUIRE(run_until(*f.loop, [&] { return f.at_b.size() == 2; }));
  // Loopback preserves order in practice; compare as a set to not rely on it.
  bool saw_small = false, saw_max = false;
  for (const Received& r : f.at_b) {
    CHECK(r.from == f.a->local_address());
    saw_small |= r.bytes == small;
    saw_max |= r.bytes == max;
  }
  CHECK(saw_small);
  CHECK(saw_max);
  CHECK(f.metrics_a.value(metric::kUdpSentDatagrams) == 2);
  CHECK(f.metrics_a.value(metric::kUdpSentBytes) == int64_t(1 + meshd::kDatagramBytesMax));
  CHECK(f.metrics_b.value(metric::kUdpReceivedDatagrams) == 2);
}

TEST_CASE("UdpNetwork: one wakeup handles at most kReceiveBatchMax datagrams", "[io][udp]") {
  Fixture f;
  constexpr size_t kCount = UdpNetwork::kReceiveBatchMax * 3 + 5;
  for (size_t i = 0; i < kCount; ++i) {
    REQUIRE(f.a->send(f.b->local_address(), payload(64, static_cast<uint8_t>(i))));
  }
  // Loopback delivery is synchronous with sendto: everything is queued now.
  REQUIRE(f.loop->run_once(0));
  CHECK(f.at_b.size() == UdpNetwork::kReceiveBatchMax);
  REQUIRE(run_until(*f.loop, [&] { return f.at_b.size() == kCount; }));
  for (size_t i = 0; i < kCount; ++i) CHECK(f.at_b[i].bytes == payload(64, static_cast<uint8_t>(i)));
}

TEST_CASE("UdpNetwork: send errors", "[io][udp]") {
  Fixture f;
  const auto too_big = payload(meshd::kDatagramBytesMax + 1, 1);
  CHECK(f.a->send(f.b->local_address(), too_big).code() == Errc::too_large);
  CHECK(f.metrics_a.value(metric::kUdpSendDroppedTooLarge) == 1);
  CHECK(f.metrics_a.value(metric::kUdpSentDatagrams) == 0);
  f.a->close();
  CHECK(f.a->send(f.b->local_address(), payload(10, 1)).code() == Errc::closed);
  f.a->close();  // idempotent
}

TEST_CASE("UdpNetwork: a bound port cannot be bound twice", "[io][udp]") {
  Fixture f;
  Metrics m;
  auto again = UdpNetwork::open(*f.loop, f.a->local_address(), m);
  CHECK(again.code() == Errc::exists);
}

TEST_CASE("UdpNetwork: oversize incoming datagrams are dropped and counted", "[io][udp]") {
  Fixture f;
  meshd::io::UniqueFd raw(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  REQUIRE(raw.valid());
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(kLoopback);
  to.sin_port = htons(f.b->local_address().port);
  const auto big = payload(meshd::kDatagramBytesMax + 100, 5);
  const auto ok = payload(10, 5);
  REQUIRE(::sendto(raw.get(), big.data(), big.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)) ==
          ssize_t(big.size()));
  REQUIRE(::sendto(raw.get(), ok.data(), ok.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)) ==
          ssize_t(ok.size()));
  REQUIRE(run_until(*f.loop, [&] { return f.at_b.size() == 1; }));
  CHECK(f.at_b[0].bytes == ok);
  CHECK(f.metrics_b.value(metric::kUdpReceiveDroppedOversize) == 1);
}

TEST_CASE("UdpNetwork: the handler can replace itself mid-batch", "[io][udp]") {
  Fixture f;
  int first = 0, second = 0;
  f.b->set_receive_handler([&](const Address&, std::span<const uint8_t>) {
    ++first;
    // Replacing the running handler must not destroy it mid-call.
    f.b->set_receive_handler([&](const Address&, std::span<const uint8_t>) { ++second; });
  });
  for (int i = 0; i < 3; ++i) REQUIRE(f.a->send(f.b->local_address(), payload(8, 1)));
  REQUIRE(run_until(*f.loop, [&] { return first + second == 3; }));
  CHECK(first == 1);
  CHECK(second == 2);
}
