// TransportMachine and HandshakeManager stepped alone, through the one
// protocol shape (core/env/protocol.h): no Runtime, no Network, no World.
// Two machines exchange datagrams by hand; time is a variable; every loop
// has a step limit.
#include <catch2/catch.hpp>

#include <deque>
#include <set>
#include <string>

#include "core/transport/transport_machine.h"
#include "tests/crypto/test_keys.h"

using namespace meshd;
using namespace meshd::transport;
using crypto::testing::key_of;
using crypto::testing::psk_of;
using wire::DropReason;

namespace {

struct Side {
  Side(uint8_t seed, const Address& at, const crypto::Identity& id, const std::vector<TransportPeer>& peers,
       const int64_t& wall)
      : address(at),
        machine(id, crypto::KeyArchive{}, psk_of(9), RandomStream(key_of(static_cast<uint8_t>(seed + 50))),
                SecureTransportConfig{}, peers, [&wall] { return wall; }) {}
  Address address;
  TransportMachine machine;
  std::vector<std::string> received;
};

crypto::Identity identity(uint8_t seed) {
  RandomStream rng(key_of(seed));
  return crypto::Identity::generate(rng);
}

// Two machines, 1 ms apart, that know each other's keys (IK).
struct Pair {
  static constexpr int kStepsMax = 1000;
  int64_t now_us = 1'000'000;
  int64_t wall_us = 1'700'000'000'000'000;
  crypto::Identity ida = identity(1), idb = identity(2);
  Address a_at{0x0a000001u, 5000}, b_at{0x0a000002u, 5000};
  Side a{1, a_at, ida, {{b_at, idb.public_key(), {}}}, wall_us};
  Side b{2, b_at, idb, {{a_at, ida.public_key(), {}}}, wall_us};
  std::deque<std::pair<Address, Datagram>> wire;  // (from, datagram)
  std::map<DropReason, int> drops;
  int lose_next = 0;  // datagrams to lose on the wire

  Side& at(const Address& x) { return x == a_at ? a : b; }
  void take(Side& s, TransportOutput& out) {
    for (Datagram& d : out.send) {
      if (lose_next > 0) {
        --lose_next;
        continue;
      }
      wire.emplace_back(s.address, std::move(d));
    }
    for (const Delivery& d : out.deliver) s.received.emplace_back(d.bytes.begin(), d.bytes.end());
  }
  void send(Side& s, const std::string& text) {
    TransportOutput out;
    const auto* p = reinterpret_cast<const uint8_t*>(text.data());
    REQUIRE(s.machine.send(now_us, s.address == a_at ? b_at : a_at, std::span(p, text.size()), out));
    take(s, out);
  }
  void run() {
    int steps = 0;
    for (; steps < kStepsMax && !wire.empty(); ++steps) {
      auto [from, d] = std::move(wire.front());
      wire.pop_front();
      Side& to = at(d.to);
      TransportOutput out;
      const DropReason r = to.machine.on_datagram(now_us, from, d.bytes, out);
      if (r != DropReason::none) ++drops[r];
      take(to, out);
    }
    REQUIRE(steps < kStepsMax);
  }
  // Jumps to the earlier machine deadline and ticks whoever is due.
  void advance() {
    const int64_t next = std::min(a.machine.next_deadline_us(), b.machine.next_deadline_us());
    REQUIRE(next != INT64_MAX);
    wall_us += std::max<int64_t>(0, next - now_us);
    now_us = std::max(now_us, next);
    for (Side* s : {&a, &b}) {
      if (s->machine.next_deadline_us() > now_us) continue;
      TransportOutput out;
      s->machine.on_tick(now_us, out);
      CHECK(s->machine.next_deadline_us() > now_us);  // a tick always moves forward
      take(*s, out);
    }
  }
};

}  // namespace

TEST_CASE("transport machine: stepped alone, IK establishes and delivers both ways", "[transport][shape]") {
  Pair p;
  p.send(p.a, "hello");
  CHECK(p.a.machine.queued(p.b_at) == 1);  // waits for the handshake
  p.run();
  REQUIRE(p.b.received == std::vector<std::string>{"hello"});
  CHECK(p.a.machine.queued(p.b_at) == 0);
  p.send(p.b, "back");
  p.run();
  CHECK(p.a.received == std::vector<std::string>{"back"});
  CHECK(p.a.machine.count(TransportCount::handshakes_completed) == 1);
  CHECK(p.b.machine.count(TransportCount::handshakes_completed) == 1);
  CHECK(p.b.machine.count(TransportCount::delivered) == 1);
  CHECK(p.drops.empty());
}

TEST_CASE("transport machine: a lost initiation is resent at next_deadline_us, no poll", "[transport][shape]") {
  Pair p;
  p.lose_next = 1;
  p.send(p.a, "late");
  CHECK(p.wire.empty());
  const int64_t sent_at = p.now_us;
  // Only the retry timer can recover it: step deadline to deadline.
  for (int i = 0; i < 10 && p.b.received.empty(); ++i) {
    p.advance();
    p.run();
  }
  REQUIRE(p.b.received == std::vector<std::string>{"late"});
  const crypto::HandshakeManagerConfig hs;
  CHECK(p.now_us - sent_at >= hs.retry_initial_us);
  CHECK(p.now_us - sent_at <= hs.retry_initial_us * 4 / 3 + 1);  // backoff plus at most 1/3 jitter
}

TEST_CASE("transport machine: the rekey is in next_deadline_us", "[transport][shape]") {
  Pair p;
  p.send(p.a, "x");
  p.run();
  REQUIRE(p.b.received.size() == 1);
  const crypto::SessionConfig session;
  CHECK(p.a.machine.next_deadline_us() <= p.now_us + session.rekey_after_us);
  // Stepping only from deadline to deadline reaches a second handshake.
  for (int i = 0; i < 50 && p.a.machine.count(TransportCount::handshakes_completed) < 2; ++i) {
    p.advance();
    p.run();
    p.send(p.a, "keep");  // traffic, so silence never looks like loss
    p.send(p.b, "keep");
    p.run();
  }
  CHECK(p.a.machine.count(TransportCount::handshakes_completed) >= 2);
}

TEST_CASE("transport machine: malformed datagrams are dropped by reason, nothing delivered", "[transport][shape]") {
  Pair p;
  TransportOutput out;
  const std::vector<uint8_t> junk(10, 0xab);
  CHECK(p.a.machine.on_datagram(p.now_us, p.b_at, junk, out) == DropReason::truncated);
  std::vector<uint8_t> garbage(200, 0x5a);
  CHECK(p.a.machine.on_datagram(p.now_us, p.b_at, garbage, out) == DropReason::bad_magic);
  CHECK(out.send.empty());
  CHECK(out.deliver.empty());
}

TEST_CASE("handshake manager: driven through the one shape (on_datagram, on_tick)", "[crypto][shape]") {
  int64_t now_us = 1'000'000;
  int64_t wall_us = 1'700'000'000'000'000;
  const crypto::Identity ida = identity(1), idb = identity(2);
  crypto::KeyArchive archive;
  RandomStream ra(key_of(61)), rb(key_of(62));
  crypto::HandshakeManager a(ida, archive, psk_of(9), ra, {}, [&] { return wall_us; });
  crypto::HandshakeManager b(idb, archive, psk_of(9), rb, {}, [&] { return wall_us; });
  const Address a_at{0x0a000001u, 5000}, b_at{0x0a000002u, 5000};
  REQUIRE(a.add_peer(idb.node_id(), b_at, idb.public_key()));
  auto first = a.connect(idb.node_id(), now_us, wall_us);
  REQUIRE(first);
  REQUIRE(first->send.size() == 1);
  // The initiation is lost; on_tick at next_deadline_us resends it.
  now_us = a.next_deadline_us();
  crypto::HandshakeOutput retry;
  a.on_tick(now_us, retry);
  CHECK(a.next_deadline_us() > now_us);
  REQUIRE(retry.send.size() == 1);
  crypto::HandshakeOutput resp;
  CHECK(b.on_datagram(now_us, a_at, retry.send[0].bytes, resp) == DropReason::none);
  REQUIRE(resp.send.size() == 1);
  crypto::HandshakeOutput done;
  CHECK(a.on_datagram(now_us, b_at, resp.send[0].bytes, done) == DropReason::none);
  CHECK(a.has_session(idb.node_id(), now_us));
  // A transport packet is the session table's, not the manager's input.
  auto sealed = a.seal(idb.node_id(), {}, now_us);
  REQUIRE(sealed);
  crypto::HandshakeOutput other;
  CHECK(b.on_datagram(now_us, a_at, sealed->bytes, other) == DropReason::unknown_type);
  CHECK(other.send.empty());
}

TEST_CASE("metric keys: every transport counter has a distinct typed key", "[transport][metrics]") {
  std::set<std::string_view> series;
  for (size_t c = 0; c < kTransportCounts; ++c) {
    const CounterKey& k = metric::transport_key(static_cast<TransportCount>(c));
    CHECK(!k.series.empty());
    CHECK(!k.help.empty());
    CHECK(series.insert(k.series).second);
  }
  CHECK(series.size() == kTransportCounts);
}
