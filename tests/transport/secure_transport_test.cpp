// SecureTransport on the simulator: two World nodes each run a bare
// transport (no Node), so the tests drive sends and inspect deliveries and
// drop counters directly. Time is virtual; nothing sleeps.
#include <catch2/catch.hpp>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/transport/secure_transport.h"
#include "sim/world.h"

using namespace meshd;
using namespace meshd::transport;
using wire::DropReason;

namespace {

crypto::Psk test_psk() {
  crypto::Psk p{};
  p.fill(0x42);
  return p;
}

crypto::Identity identity_of(size_t node) {
  Key32 k{};
  k.fill(static_cast<uint8_t>(0x10 + node));
  RandomStream rng(k);
  return crypto::Identity::generate(rng);
}

// The node's raw endpoint, able to swallow chosen outgoing transport
// packets (to deliver them later by hand: "in flight" across a rekey).
class HoldingNetwork final : public Network {
 public:
  explicit HoldingNetwork(Network& inner) : inner_(inner) {}
  Address local_address() const override { return inner_.local_address(); }
  Status send(const Address& to, std::span<const uint8_t> bytes) override {
    const bool transport = bytes.size() > wire::kHeaderBytes &&
                           bytes[3] == static_cast<uint8_t>(wire::PacketType::transport);
    if (transport && hold > 0) {
      --hold;
      held.emplace_back(bytes.begin(), bytes.end());
      return Status::ok();
    }
    return inner_.send(to, bytes);
  }
  void set_receive_handler(ReceiveHandler h) override { inner_.set_receive_handler(std::move(h)); }
  int hold = 0;
  std::vector<std::vector<uint8_t>> held;

 private:
  Network& inner_;
};

struct Received {
  Address from;
  std::string text;
};

class TransportService final : public sim::Service {
 public:
  TransportService(Env& env, size_t node, const SecureTransportConfig& config,
                   const std::vector<TransportPeer>& peers)
      : net(env.network),
        lower{env.clock, net, env.disk, env.random, env.runtime, env.log, env.metrics},
        transport(lower, identity_of(node), crypto::KeyArchive{}, test_psk(), config, peers) {}
  void start() override {
    net.set_receive_handler([this](const Address& from, std::span<const uint8_t> b) { transport.on_datagram(from, b); });
    transport.set_receive_handler([this](const Address& from, std::span<const uint8_t> b) {
      received.push_back({from, std::string(b.begin(), b.end())});
    });
    REQUIRE(transport.start());
  }
  nlohmann::json snapshot() const override { return transport.status(); }

  HoldingNetwork net;
  Env lower;
  SecureTransport transport;
  std::vector<Received> received;
};

struct Mesh {
  explicit Mesh(bool known_keys, SecureTransportConfig config = {}) : world(7) {
    for (size_t i = 0; i < 2; ++i) {
      world.add_node([this, known_keys, config](Env& env, size_t index) -> std::unique_ptr<sim::Service> {
        std::vector<TransportPeer> peers;
        if (known_keys) peers.push_back({world.address_of(1 - index), identity_of(1 - index).public_key(), {}});
        return std::make_unique<TransportService>(env, index, config, peers);
      });
    }
    world.start_all();
  }
  TransportService& at(size_t i) { return *dynamic_cast<TransportService*>(world.service(i)); }
  void send(size_t from, const std::string& text) {
    world.at(world.now_us(), [this, from, text] {
      const auto* p = reinterpret_cast<const uint8_t*>(text.data());
      REQUIRE(at(from).transport.send(world.address_of(1 - from), std::span(p, text.size())));
    });
  }
  void run_for_ms(int64_t ms) { world.run_until(world.now_us() + ms * 1000); }
  // Series by typed key only (count_key, metric::kPacketsDropped.series).
  uint64_t metric(size_t i, std::string_view series) {
    return static_cast<uint64_t>(world.metrics(i).value(series));
  }
  sim::World world;
};

std::string_view count_key(TransportCount c) { return metric::transport_key(c).series; }

}  // namespace

TEST_CASE("transport: IK with configured keys establishes and delivers both ways", "[transport]") {
  Mesh m(true);
  m.send(0, "hello");
  m.run_for_ms(100);
  REQUIRE(m.at(1).received.size() == 1);
  CHECK(m.at(1).received[0].text == "hello");
  CHECK(m.at(1).received[0].from == m.world.address_of(0));
  m.send(1, "back");
  m.run_for_ms(100);
  REQUIRE(m.at(0).received.size() == 1);
  CHECK(m.at(0).received[0].text == "back");
  CHECK(m.metric(0, count_key(TransportCount::handshakes_completed)) == 1);
  CHECK(m.metric(1, count_key(TransportCount::handshakes_completed)) == 1);
  for (size_t i = 0; i < 2; ++i) {
    for (size_t r = 1; r < wire::kDropReasonCount; ++r) CHECK(m.at(i).transport.dropped(DropReason(r)) == 0);
  }
}

TEST_CASE("transport: XX first contact by address learns the peer's NodeId", "[transport]") {
  Mesh m(false);
  m.send(0, "first contact");
  m.run_for_ms(100);
  m.send(0, "second");
  m.run_for_ms(100);
  // XX's third message and the first data packet leave together; a link
  // that reorders them loses the data packet (counted), like UDP would.
  REQUIRE_FALSE(m.at(1).received.empty());
  CHECK(m.at(1).received.back().text == "second");
  CHECK(m.at(1).received.size() + m.at(1).transport.dropped(DropReason::unknown_session) == 2);
  const NodeId id1 = m.at(1).transport.identity().node_id();
  REQUIRE(m.at(0).transport.handshakes().peer_key(id1).has_value());
  CHECK(*m.at(0).transport.handshakes().peer_key(id1) == m.at(1).transport.identity().public_key());
  // Both directions now run on the session; nothing was dropped.
  m.send(1, "reply");
  m.run_for_ms(100);
  REQUIRE(m.at(0).received.size() == 1);
  CHECK(m.at(0).transport.dropped(DropReason::unknown_session) == 0);
}

TEST_CASE("transport: the per-peer queue is bounded while the handshake runs", "[transport]") {
  Mesh m(true);
  m.world.at(m.world.now_us(), [&] {
    for (size_t i = 0; i < kQueuedPacketsPerPeerMax + 5; ++i) {
      const std::string text = "q" + std::to_string(i);
      const auto* p = reinterpret_cast<const uint8_t*>(text.data());
      CHECK(m.at(0).transport.send(m.world.address_of(1), std::span(p, text.size())));
    }
    CHECK(m.at(0).transport.queued(m.world.address_of(1)) == kQueuedPacketsPerPeerMax);
  });
  m.run_for_ms(100);
  CHECK(m.metric(0, count_key(TransportCount::queue_overflow)) == 5);
  REQUIRE(m.at(1).received.size() == kQueuedPacketsPerPeerMax);
  // The first 16 went out (the simulated link may reorder them).
  std::set<std::string> got, want;
  for (size_t i = 0; i < kQueuedPacketsPerPeerMax; ++i) {
    got.insert(m.at(1).received[i].text);
    want.insert("q" + std::to_string(i));
  }
  CHECK(got == want);
  CHECK(m.at(0).transport.queued(m.world.address_of(1)) == 0);
}

TEST_CASE("transport: hostile datagrams are dropped and counted by reason", "[transport]") {
  Mesh m(true);
  m.at(0).net.hold = 1;  // keep one sealed packet to replay and mutate
  m.send(0, "one");
  m.run_for_ms(100);
  REQUIRE(m.at(0).net.held.size() == 1);
  const std::vector<uint8_t> sealed = m.at(0).net.held[0];
  const Address to1 = m.world.address_of(1);
  // One at a time (the simulated links may reorder packets in flight).
  auto inject = [&](size_t from, const Address& to, std::vector<uint8_t> bytes) {
    m.world.at(m.world.now_us(), [&m, from, to, bytes] { (void)m.world.transmit(from, to, bytes); });
    m.run_for_ms(50);
  };
  std::vector<uint8_t> flipped = sealed;
  REQUIRE(flipped.size() > wire::kHeaderBytes + 1);
  flipped[wire::kHeaderBytes + 1] ^= 0x01;  // a ciphertext bit: fails before the window moves
  inject(0, to1, flipped);
  inject(0, to1, sealed);                                   // the real one: delivered
  inject(0, to1, sealed);                                   // replay
  inject(0, to1, std::vector<uint8_t>(sealed.begin(), sealed.begin() + 30));
  inject(0, to1, {'G', 'E', 'T', ' ', '/', ' ', 'H', 'T', 'T', 'P'});
  inject(1, m.world.address_of(0), sealed);                 // reflected back at its sender
  auto& t1 = m.at(1).transport;
  CHECK(m.at(1).received.size() == 1);
  CHECK(t1.dropped(DropReason::replay) == 1);
  CHECK(t1.dropped(DropReason::auth_failure) == 1);
  CHECK(t1.dropped(DropReason::truncated) == 2);  // the cut copy and the 10-byte garbage
  CHECK(m.metric(1, metric::kPacketsDropped.series(DropReason::replay)) == 1);
  CHECK(m.at(0).transport.dropped(DropReason::not_for_us) == 1);
  CHECK(m.at(0).received.empty());
}

TEST_CASE("transport: after a rekey the previous session opens in-flight packets, briefly", "[transport]") {
  SecureTransportConfig c;
  c.handshake.session.rekey_after_us = 10 * kMicrosPerSecond;
  c.handshake.session.reject_after_us = 15 * kMicrosPerSecond;
  c.handshake.session.previous_keep_us = 2 * kMicrosPerSecond;
  Mesh m(true, c);
  m.send(0, "establish");
  m.run_for_ms(9'900);
  const auto* before = m.at(0).transport.handshakes().sessions(m.at(1).transport.identity().node_id());
  REQUIRE(before != nullptr);
  REQUIRE(before->current());
  const uint32_t old_index = before->current()->remote_index();
  m.at(0).net.hold = 2;  // two packets sealed on the old session, held "in flight"
  m.send(0, "inflight-1");
  m.send(0, "inflight-2");
  m.run_for_ms(500);  // the initiator's rekey is due at 10 s
  REQUIRE(m.at(0).net.held.size() == 2);
  const auto* after = m.at(0).transport.handshakes().sessions(m.at(1).transport.identity().node_id());
  REQUIRE(after->current());
  CHECK(after->current()->remote_index() != old_index);
  CHECK(m.metric(0, count_key(TransportCount::handshakes_completed)) == 2);
  const Address to1 = m.world.address_of(1);
  const size_t delivered_before = m.at(1).received.size();
  m.world.at(m.world.now_us(), [&] { (void)m.world.transmit(0, to1, m.at(0).net.held[0]); });
  m.run_for_ms(100);
  REQUIRE(m.at(1).received.size() == delivered_before + 1);
  CHECK(m.at(1).received.back().text == "inflight-1");
  m.run_for_ms(3'000);  // past previous_keep
  m.world.at(m.world.now_us(), [&] { (void)m.world.transmit(0, to1, m.at(0).net.held[1]); });
  m.run_for_ms(100);
  CHECK(m.at(1).received.size() == delivered_before + 1);
  CHECK(m.at(1).transport.dropped(DropReason::unknown_session) == 1);
  // The new session carries traffic.
  m.send(0, "fresh");
  m.run_for_ms(100);
  CHECK(m.at(1).received.back().text == "fresh");
}

TEST_CASE("transport: a restarted peer gets a session again without waiting for silence", "[transport]") {
  Mesh m(true);
  m.send(0, "a");
  m.send(1, "b");
  m.run_for_ms(100);
  REQUIRE(m.at(0).received.size() == 1);
  m.world.restart(1);  // node 1 forgets its sessions
  m.run_for_ms(10);
  m.send(0, "to the restarted node");  // sealed on the dead session: unknown at node 1
  m.run_for_ms(100);
  CHECK(m.at(1).transport.dropped(DropReason::unknown_session) >= 1);
  m.send(1, "restarted speaks");
  m.run_for_ms(200);
  REQUIRE_FALSE(m.at(0).received.empty());
  CHECK(m.at(0).received.back().text == "restarted speaks");
  m.send(0, "and is answered");
  m.run_for_ms(100);
  REQUIRE_FALSE(m.at(1).received.empty());
  CHECK(m.at(1).received.back().text == "and is answered");
}

TEST_CASE("transport: the timer sleeps to its deadline, which includes the rekey", "[transport][deadline]") {
  Mesh m(true);
  m.send(0, "hello");
  m.run_for_ms(100);
  m.send(1, "back");
  m.run_for_ms(100);
  REQUIRE(m.at(1).received.size() == 1);
  const NodeId id1 = m.at(1).transport.identity().node_id();
  const crypto::PeerSessions* s = m.at(0).transport.handshakes().sessions(id1);
  REQUIRE(s != nullptr);
  REQUIRE(s->current().has_value());
  REQUIRE(s->current()->initiator());
  const int64_t established_us = s->current()->established_us();
  const crypto::SessionConfig session;
  // Quiet from here on: no polling interval stands in for the rekey timer.
  CHECK(m.at(0).transport.next_deadline_us() <= established_us + session.rekey_after_us);
  CHECK(m.at(0).transport.next_deadline_us() > m.world.now_us());
  m.run_for_ms((session.rekey_after_us + 2 * kMicrosPerSecond) / 1000);
  REQUIRE(s->current().has_value());
  CHECK(s->current()->established_us() > established_us);  // rekeyed while idle
  CHECK(m.at(0).transport.next_deadline_us() > m.world.now_us());
}

TEST_CASE("transport: idle entries of unconfigured peers are evicted and counted", "[transport][limits]") {
  SecureTransportConfig config;
  config.peer_idle_timeout_us = 30 * kMicrosPerSecond;
  Mesh m(false, config);  // no configured peers: first contact by address
  m.send(0, "first contact");
  m.run_for_ms(200);
  m.send(1, "reply");
  m.run_for_ms(3000);
  // After more than half the silence period, so node 1 answers with a
  // passive keepalive: neither side is left waiting for an answer (which
  // would keep it rehandshaking every silence period, i.e. not idle).
  m.send(0, "late");
  m.run_for_ms(500);
  REQUIRE(m.at(0).received.size() == 1);
  CHECK(m.at(0).transport.peer_entries() == 1);
  CHECK(m.at(0).transport.peer_id(m.world.address_of(1)).has_value());
  m.run_for_ms(config.peer_idle_timeout_us / 1000 + 1000);
  for (size_t i = 0; i < 2; ++i) {
    CHECK(m.at(i).transport.peer_entries() == 0);
    CHECK(m.metric(i, count_key(TransportCount::peers_evicted_idle)) == 1);
  }
  CHECK_FALSE(m.at(0).transport.peer_id(m.world.address_of(1)).has_value());
  // An evicted peer is only forgotten by address: the next send reaches it.
  m.send(0, "again");
  m.run_for_ms(500);
  REQUIRE_FALSE(m.at(1).received.empty());
  CHECK(m.at(1).received.back().text == "again");
}

TEST_CASE("transport: configured peers are never evicted", "[transport][limits]") {
  SecureTransportConfig config;
  config.peer_idle_timeout_us = 30 * kMicrosPerSecond;
  Mesh m(true, config);
  m.send(0, "hello");
  m.run_for_ms(config.peer_idle_timeout_us / 1000 * 2);
  CHECK(m.at(0).transport.peer_entries() == 1);
  CHECK(m.metric(0, count_key(TransportCount::peers_evicted_idle)) == 0);
  CHECK(m.at(0).transport.peer_id(m.world.address_of(1)).has_value());
}
