// HandshakeManager: the mesh handshake state machine driven without a
// runtime — packets are moved between managers by hand.
#include <catch2/catch.hpp>

#include <cstring>
#include <deque>
#include <map>

#include "core/crypto/handshake_manager.h"

using namespace meshd;
using namespace meshd::crypto;
using wire::DropReason;

namespace {

Key32 key_of(uint8_t v) {
  Key32 k{};
  k.fill(v);
  return k;
}

Psk psk_of(uint8_t v) {
  Psk p{};
  p.fill(v);
  return p;
}

struct Node {
  Node(uint8_t seed, const Psk& psk, HandshakeManagerConfig config = {})
      : id_rng(key_of(seed)),
        rng(key_of(static_cast<uint8_t>(seed + 100))),
        identity(Identity::generate(id_rng)),
        address{0x0a000000u + seed, 5000},
        manager(std::make_unique<HandshakeManager>(identity, archive, psk, rng, config)) {}
  RandomStream id_rng;
  RandomStream rng;
  Identity identity;
  KeyArchive archive;
  Address address;
  std::unique_ptr<HandshakeManager> manager;
  std::vector<DropReason> drops;
  std::vector<HandshakeEvent> events;
};

struct World {
  std::map<Address, Node*> nodes;
  std::deque<std::pair<Address, OutPacket>> queue;  // (from, packet)
  std::vector<std::pair<Address, OutPacket>> sent;   // every packet ever sent (attacker's view)
  int64_t now_us = 1'000'000;
  int64_t wall_us = 1'700'000'000'000'000;

  void add(Node& n) { nodes[n.address] = &n; }
  void push(const Address& from, HandshakeOutput out, Node& at) {
    for (auto& e : out.events) at.events.push_back(e);
    if (out.drop != DropReason::none) at.drops.push_back(out.drop);
    for (auto& p : out.packets) {
      sent.emplace_back(from, p);
      queue.emplace_back(from, std::move(p));
    }
  }
  void deliver(const Address& from, const OutPacket& p) {
    auto it = nodes.find(p.to);
    if (it == nodes.end()) return;
    Node& n = *it->second;
    const auto d = wire::decode_packet(p.bytes);
    if (!d.ok()) {
      n.drops.push_back(d.drop);
      return;
    }
    push(n.address, n.manager->on_handshake_packet(from, d, now_us, wall_us), n);
  }
  void run() {
    for (int guard = 0; guard < 10000 && !queue.empty(); ++guard) {
      auto [from, p] = std::move(queue.front());
      queue.pop_front();
      deliver(from, p);
    }
  }
  void connect(Node& a, Node& b) {
    auto out = a.manager->connect(b.identity.node_id(), now_us, wall_us);
    REQUIRE(out);
    push(a.address, std::move(*out), a);
  }
};

// Seals text from a to b and opens it at b; returns b's verdict.
DropReason transfer(Node& a, Node& b, std::string_view text, int64_t now_us) {
  auto p = a.manager->seal(b.identity.node_id(),
                           std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()), now_us);
  if (!p) return DropReason::unknown_session;
  const auto d = wire::decode_packet(p->bytes);
  REQUIRE(d.ok());
  std::vector<uint8_t> out(d.payload.size());
  size_t n = 0;
  NodeId from;
  const DropReason r = b.manager->open(d, out, n, from, now_us);
  if (r == DropReason::none) {
    CHECK(from == a.identity.node_id());
    CHECK(std::string(out.begin(), out.begin() + static_cast<long>(n)) == text);
  }
  return r;
}

bool has_event(const Node& n, HandshakeEventKind kind) {
  for (const auto& e : n.events) {
    if (e.kind == kind) return true;
  }
  return false;
}

size_t count_drops(const Node& n, DropReason r) {
  return static_cast<size_t>(std::count(n.drops.begin(), n.drops.end(), r));
}

}  // namespace

TEST_CASE("handshake manager: IKpsk2 to a known key, then traffic both ways", "[crypto][hsm]") {
  World w;
  Node a(1, psk_of(9)), b(2, psk_of(9));
  w.add(a);
  w.add(b);
  REQUIRE(a.manager->add_peer(b.identity.node_id(), b.address, b.identity.public_key()));
  w.connect(a, b);
  w.run();
  CHECK(a.drops.empty());
  CHECK(b.drops.empty());
  REQUIRE(a.manager->has_session(b.identity.node_id(), w.now_us));
  CHECK(has_event(a, HandshakeEventKind::established));
  CHECK(has_event(b, HandshakeEventKind::established));
  CHECK_FALSE(b.manager->has_session(a.identity.node_id(), w.now_us));  // waits for confirmation
  CHECK(transfer(a, b, "ping", w.now_us) == DropReason::none);
  REQUIRE(b.manager->has_session(a.identity.node_id(), w.now_us));
  CHECK(transfer(b, a, "pong", w.now_us) == DropReason::none);
  CHECK(w.sent.size() == 2);  // one round trip
}

TEST_CASE("handshake manager: XXpsk3 first contact learns both keys", "[crypto][hsm]") {
  World w;
  Node a(1, psk_of(9)), b(2, psk_of(9));
  w.add(a);
  w.add(b);
  REQUIRE(a.manager->add_peer(b.identity.node_id(), b.address, std::nullopt));
  w.connect(a, b);
  w.run();
  CHECK(w.sent.size() == 3);
  REQUIRE(a.manager->has_session(b.identity.node_id(), w.now_us));
  REQUIRE(b.manager->has_session(a.identity.node_id(), w.now_us));
  CHECK(a.manager->peer_key(b.identity.node_id()) == b.identity.public_key());
  CHECK(b.manager->peer_key(a.identity.node_id()) == a.identity.public_key());
  CHECK(transfer(b, a, "from responder", w.now_us) == DropReason::none);
  CHECK(transfer(a, b, "from initiator", w.now_us) == DropReason::none);
}

TEST_CASE("handshake manager: wrong PSK costs one hash and is dropped", "[crypto][hsm]") {
  World w;
  Node a(1, psk_of(9)), b(2, psk_of(8));
  w.add(a);
  w.add(b);
  REQUIRE(a.manager->add_peer(b.identity.node_id(), b.address, b.identity.public_key()));
  w.connect(a, b);
  w.run();
  CHECK(count_drops(b, DropReason::bad_cookie) == 1);
  CHECK_FALSE(a.manager->has_session(b.identity.node_id(), w.now_us));
}

TEST_CASE("handshake manager: wrong static key for the peer fails", "[crypto][hsm]") {
  World w;
  Node a(1, psk_of(9)), b(2, psk_of(9)), impostor(3, psk_of(9));
  w.add(a);
  w.add(b);
  REQUIRE(a.manager->add_peer(b.identity.node_id(), b.address, impostor.identity.public_key()));
  w.connect(a, b);
  w.run();
  CHECK(count_drops(b, DropReason::handshake_failed) == 1);
  CHECK_FALSE(a.manager->has_session(b.identity.node_id(), w.now_us));
}

TEST_CASE("handshake manager: replayed initiation never replaces the live session", "[crypto][hsm]") {
  World w;
  Node a(1, psk_of(9)), b(2, psk_of(9));
  w.add(a);
  w.add(b);
  REQUIRE(a.manager->add_peer(b.identity.node_id(), b.address, b.identity.public_key()));
  w.connect(a, b);
  w.run();
  REQUIRE(transfer(a, b, "confirm", w.now_us) == DropReason::none);
  const uint32_t live = b.manager->sessions(a.identity.node_id())->current()->local_index();
  const OutPacket initiation = w.sent.front().second;
  w.now_us += 2 * kMicrosPerSecond;  // within stale_grace of the last packet
  w.deliver(a.address, initiation);  // the attacker replays it
  CHECK(count_drops(b, DropReason::stale_handshake) == 1);
  CHECK(b.manager->sessions(a.identity.node_id())->current()->local_index() == live);
  CHECK_FALSE(b.manager->sessions(a.identity.node_id())->next());
  CHECK(transfer(a, b, "still works", w.now_us) == DropReason::none);

  // Silent for longer than stale_grace (a might have lost its state): the
  // replay is answered, but its session can never be confirmed by the
  // attacker, so the live one stays current and keeps working.
  w.now_us += HandshakeManagerConfig{}.stale_grace_us;
  w.deliver(a.address, initiation);
  CHECK(count_drops(b, DropReason::stale_handshake) == 1);
  CHECK(b.manager->sessions(a.identity.node_id())->current()->local_index() == live);
  CHECK(b.manager->sessions(a.identity.node_id())->next());
  CHECK(transfer(a, b, "live session untouched", w.now_us) == DropReason::none);
  CHECK(b.manager->sessions(a.identity.node_id())->current()->local_index() == live);
}

TEST_CASE("handshake manager: a restart after the wall clock stepped back is fresh by its boot count",
          "[crypto][hsm]") {
  // Pinned from swarm seed smoke/72 (scenarios/security-clock-step-restart.json):
  // timestamps alone made every post-restart initiation stale.
  for (const uint64_t boot_after : {uint64_t{1}, uint64_t{2}}) {
    World w;
    HandshakeManagerConfig first;
    first.boot = 1;
    Node a(1, psk_of(9), first), b(2, psk_of(9));
    w.add(a);
    w.add(b);
    REQUIRE(a.manager->add_peer(b.identity.node_id(), b.address, b.identity.public_key()));
    w.connect(a, b);
    w.run();
    REQUIRE(transfer(a, b, "before", w.now_us) == DropReason::none);
    // a restarts (same identity, state lost) with its wall clock 60 s behind.
    HandshakeManagerConfig second;
    second.boot = boot_after;
    a.manager = std::make_unique<HandshakeManager>(a.identity, a.archive, psk_of(9), a.rng, second);
    REQUIRE(a.manager->add_peer(b.identity.node_id(), b.address, b.identity.public_key()));
    w.wall_us -= 60 * kMicrosPerSecond;
    w.now_us += kMicrosPerSecond;
    w.connect(a, b);
    w.run();
    if (boot_after == 1) {  // same boot: indistinguishable from a replay
      CHECK(count_drops(b, DropReason::stale_handshake) == 1);
      CHECK_FALSE(a.manager->has_session(b.identity.node_id(), w.now_us));
    } else {
      CHECK(count_drops(b, DropReason::stale_handshake) == 0);
      REQUIRE(a.manager->has_session(b.identity.node_id(), w.now_us));
      CHECK(transfer(a, b, "after restart", w.now_us) == DropReason::none);
    }
  }
}

TEST_CASE("handshake manager: a relay rewriting NodeIds breaks the handshake", "[crypto][hsm]") {
  World w;
  Node a(1, psk_of(9)), b(2, psk_of(9)), c(3, psk_of(9));
  w.add(a);
  w.add(b);
  REQUIRE(a.manager->add_peer(b.identity.node_id(), b.address, b.identity.public_key()));
  auto out = a.manager->connect(b.identity.node_id(), w.now_us, w.wall_us);
  REQUIRE(out);
  OutPacket p = out->packets.front();
  // Rewrite the source id and recompute mac1 (a malicious *member* knows
  // the PSK): the prologue still binds the original ids.
  std::copy(c.identity.node_id().bytes.begin(), c.identity.node_id().bytes.end(), p.bytes.begin() + 8);
  const size_t message_bytes = p.bytes.size() - wire::kHeaderBytes - kInitiationTrailerBytes;
  wire::HeaderBytes aad{};
  wire::header_aad(std::span<const uint8_t, wire::kHeaderBytes>(p.bytes.data(), wire::kHeaderBytes), aad);
  // Sized + memcpy: gcc 12 -O2 misreports vector::insert after a 54-byte array.
  std::vector<uint8_t> mac_input(wire::kHeaderBytes + message_bytes);
  std::memcpy(mac_input.data(), aad.data(), wire::kHeaderBytes);
  std::memcpy(mac_input.data() + wire::kHeaderBytes, p.bytes.data() + wire::kHeaderBytes, message_bytes);
  const Mac mac1 = compute_mac1(psk_of(9), mac_input);
  std::copy(mac1.begin(), mac1.end(), p.bytes.end() - kInitiationTrailerBytes);
  w.deliver(a.address, p);
  CHECK(count_drops(b, DropReason::handshake_failed) == 1);
  CHECK(w.queue.empty());
}

TEST_CASE("handshake manager: reflected packets are dropped", "[crypto][hsm]") {
  World w;
  Node a(1, psk_of(9)), b(2, psk_of(9));
  w.add(a);
  REQUIRE(a.manager->add_peer(b.identity.node_id(), b.address, b.identity.public_key()));
  auto out = a.manager->connect(b.identity.node_id(), w.now_us, w.wall_us);
  REQUIRE(out);
  OutPacket p = out->packets.front();
  p.to = a.address;
  w.deliver(b.address, p);
  CHECK(count_drops(a, DropReason::handshake_failed) == 1);  // source is ourselves
  CHECK(w.queue.empty());
}

TEST_CASE("handshake manager: simultaneous initiation resolves to one handshake", "[crypto][hsm]") {
  for (bool xx : {false, true}) {
    CAPTURE(xx);
    World w;
    Node a(1, psk_of(9)), b(2, psk_of(9));
    w.add(a);
    w.add(b);
    REQUIRE(a.manager->add_peer(b.identity.node_id(), b.address,
                                xx ? std::nullopt : std::optional(b.identity.public_key())));
    REQUIRE(b.manager->add_peer(a.identity.node_id(), a.address,
                                xx ? std::nullopt : std::optional(a.identity.public_key())));
    w.connect(a, b);
    w.connect(b, a);
    w.run();
    Node& low = a.identity.node_id() < b.identity.node_id() ? a : b;
    Node& high = &low == &a ? b : a;
    CHECK(count_drops(low, DropReason::handshake_collision) == 1);
    CHECK_FALSE(high.manager->handshake_in_flight(low.identity.node_id()));
    CHECK_FALSE(low.manager->handshake_in_flight(high.identity.node_id()));
    REQUIRE(low.manager->has_session(high.identity.node_id(), w.now_us));
    CHECK(transfer(low, high, "low first", w.now_us) == DropReason::none);
    CHECK(transfer(high, low, "high answers", w.now_us) == DropReason::none);
  }
}

TEST_CASE("handshake manager: retries back off with jitter, then time out", "[crypto][hsm]") {
  World w;
  HandshakeManagerConfig config;
  config.retry_initial_us = 1 * kMicrosPerSecond;
  config.retry_max_us = 8 * kMicrosPerSecond;
  config.handshake_timeout_us = 60 * kMicrosPerSecond;
  Node a(1, psk_of(9), config), b(2, psk_of(9));
  REQUIRE(a.manager->add_peer(b.identity.node_id(), b.address, b.identity.public_key()));
  auto first = a.manager->connect(b.identity.node_id(), w.now_us, w.wall_us);
  REQUIRE(first);
  const int64_t start = w.now_us;
  std::vector<int64_t> sends{start};
  bool failed = false;
  for (int64_t t = start; t <= start + 70 * kMicrosPerSecond; t += 10'000) {
    auto out = a.manager->tick(t, w.wall_us);
    if (!out.packets.empty()) sends.push_back(t);
    for (auto& e : out.events) failed = failed || e.kind == HandshakeEventKind::failed;
    if (failed) {
      CHECK(t - start >= config.handshake_timeout_us);
      CHECK(t - start < config.handshake_timeout_us + 20'000);
      break;
    }
  }
  CHECK(failed);
  REQUIRE(sends.size() >= 6);
  for (size_t i = 1; i < sends.size(); ++i) {
    const int64_t gap = sends[i] - sends[i - 1];
    const int64_t base = std::min<int64_t>(config.retry_initial_us << std::min<size_t>(i - 1, 10), config.retry_max_us);
    CAPTURE(i, gap, base);
    CHECK(gap >= base);
    CHECK(gap <= base + base / 3 + 20'000);
  }
  CHECK_FALSE(a.manager->handshake_in_flight(b.identity.node_id()));
}

TEST_CASE("handshake manager: under load, initiations need a cookie; spoofers get no DH", "[crypto][hsm]") {
  World w;
  HandshakeManagerConfig loaded;
  loaded.handshake_rate_per_s = 1;
  loaded.handshake_burst = 1;
  Node a(1, psk_of(9)), b(2, psk_of(9), loaded), c(3, psk_of(9));
  w.add(a);
  w.add(b);
  w.add(c);
  REQUIRE(a.manager->add_peer(b.identity.node_id(), b.address, b.identity.public_key()));
  REQUIRE(c.manager->add_peer(b.identity.node_id(), b.address, b.identity.public_key()));
  w.connect(a, b);  // uses the only token
  w.run();
  REQUIRE(a.manager->has_session(b.identity.node_id(), w.now_us));
  w.connect(c, b);
  // Deliver c's initiation from a spoofed address: the cookie goes there.
  auto [from, initiation] = w.queue.front();
  w.queue.pop_front();
  const Address spoofed{0x0b000001, 1};
  w.deliver(spoofed, initiation);
  CHECK(count_drops(b, DropReason::cookie_required) == 1);
  REQUIRE(w.queue.size() == 1);
  CHECK(w.queue.front().second.to == spoofed);  // c never sees it
  w.queue.clear();
  // The genuine source gets the cookie, echoes it, and is served.
  w.deliver(from, initiation);
  CHECK(count_drops(b, DropReason::cookie_required) == 2);
  w.run();
  CHECK(c.manager->has_session(b.identity.node_id(), w.now_us));
}

TEST_CASE("handshake manager: a rotated key still answers during the grace", "[crypto][hsm]") {
  World w;
  Node a(1, psk_of(9)), b(2, psk_of(9));
  w.add(a);
  w.add(b);
  REQUIRE(a.manager->add_peer(b.identity.node_id(), b.address, b.identity.public_key()));
  // b rotates: same NodeId, new key; the old identity moves to its archive.
  const Identity old = b.identity;
  b.archive = KeyArchive(/*grace_us=*/3600 * kMicrosPerSecond);
  b.archive.retire(old, w.wall_us);
  b.identity = Identity::generate(b.id_rng, old.node_id());
  REQUIRE(b.identity.node_id() == old.node_id());
  REQUIRE(b.identity.public_key() != old.public_key());
  b.manager = std::make_unique<HandshakeManager>(b.identity, b.archive, psk_of(9), b.rng, HandshakeManagerConfig{});

  SECTION("within the grace the old static key completes the handshake") {
    w.connect(a, b);  // a still uses the old key
    w.run();
    CHECK(b.drops.empty());
    REQUIRE(a.manager->has_session(b.identity.node_id(), w.now_us));
    CHECK(transfer(a, b, "to the old key", w.now_us) == DropReason::none);
    // Once a learns the new key (signed announcement), the current key works.
    REQUIRE(a.manager->add_peer(b.identity.node_id(), b.address, b.identity.public_key()));
    REQUIRE(b.manager->add_peer(a.identity.node_id(), a.address, a.identity.public_key()));
    w.now_us += 121 * kMicrosPerSecond;  // past rekey: a starts a new IK handshake
    w.wall_us += 121 * kMicrosPerSecond;
    w.push(a.address, a.manager->tick(w.now_us, w.wall_us), a);
    w.run();
    CHECK(b.drops.empty());
    CHECK(transfer(a, b, "to the new key", w.now_us) == DropReason::none);
  }
  SECTION("after the grace it fails") {
    w.wall_us += 3601 * kMicrosPerSecond;
    w.connect(a, b);
    w.run();
    CHECK(count_drops(b, DropReason::handshake_failed) == 1);
    CHECK_FALSE(a.manager->has_session(b.identity.node_id(), w.now_us));
  }
}

TEST_CASE("handshake manager: time-based rekey keeps the old session for in-flight packets",
          "[crypto][hsm]") {
  World w;
  Node a(1, psk_of(9)), b(2, psk_of(9));
  w.add(a);
  w.add(b);
  REQUIRE(a.manager->add_peer(b.identity.node_id(), b.address, b.identity.public_key()));
  w.connect(a, b);
  w.run();
  REQUIRE(transfer(a, b, "first", w.now_us) == DropReason::none);
  auto in_flight = a.manager->seal(b.identity.node_id(), std::vector<uint8_t>{1, 2, 3}, w.now_us);
  REQUIRE(in_flight);
  w.now_us += 120 * kMicrosPerSecond;
  w.wall_us += 120 * kMicrosPerSecond;
  auto out = a.manager->tick(w.now_us, w.wall_us);
  REQUIRE(out.packets.size() == 1);  // the rekey initiation
  w.push(a.address, std::move(out), a);
  w.run();
  REQUIRE(transfer(a, b, "second", w.now_us) == DropReason::none);
  const auto* sessions = b.manager->sessions(a.identity.node_id());
  REQUIRE(sessions->previous());
  // The packet sealed before the rekey still opens on the previous session.
  const auto d = wire::decode_packet(in_flight->bytes);
  std::vector<uint8_t> buf(d.payload.size());
  size_t n = 0;
  NodeId from;
  CHECK(b.manager->open(d, buf, n, from, w.now_us) == DropReason::none);
  CHECK(b.manager->open(d, buf, n, from, w.now_us) == DropReason::replay);
}

TEST_CASE("handshake manager: handshake packet sizes match docs/protocol.md", "[crypto][hsm]") {
  for (bool xx : {false, true}) {
    World w;
    Node a(1, psk_of(9)), b(2, psk_of(9));
    w.add(a);
    w.add(b);
    REQUIRE(a.manager->add_peer(b.identity.node_id(), b.address,
                                xx ? std::nullopt : std::optional(b.identity.public_key())));
    w.connect(a, b);
    w.run();
    std::vector<size_t> sizes;
    for (const auto& [from, p] : w.sent) sizes.push_back(p.bytes.size());
    if (xx) {
      CHECK(sizes == std::vector<size_t>{54 + 100 + 32, 54 + 148, 54 + 116});
    } else {
      CHECK(sizes == std::vector<size_t>{54 + 148 + 32, 54 + 100});
    }
  }
}

TEST_CASE("handshake manager: half-open XX responders are bounded, newest survive", "[crypto][hsm]") {
  World w;
  HandshakeManagerConfig roomy;
  roomy.handshake_rate_per_s = 10000;
  roomy.handshake_burst = 10000;
  Node b(2, psk_of(9), roomy);
  w.add(b);
  std::vector<std::unique_ptr<Node>> initiators;
  const size_t count = kPendingRespondersMax + 6;
  for (size_t i = 0; i < count; ++i) {
    initiators.push_back(std::make_unique<Node>(static_cast<uint8_t>(10 + i), psk_of(9)));
    Node& a = *initiators.back();
    w.add(a);
    REQUIRE(a.manager->add_peer(b.identity.node_id(), b.address, std::nullopt));
    w.connect(a, b);
  }
  // Deliver every message 1, then hold b's responses until all are in.
  std::vector<std::pair<Address, OutPacket>> initiations(w.queue.begin(), w.queue.end());
  w.queue.clear();
  for (auto& [from, p] : initiations) {
    w.deliver(from, p);
    w.now_us += 1000;  // distinct arrival times: eviction is oldest-first
  }
  REQUIRE(w.queue.size() == count);
  w.run();
  size_t established = 0;
  for (size_t i = 0; i < count; ++i) {
    const bool ok = b.manager->has_session(initiators[i]->identity.node_id(), w.now_us);
    established += ok ? 1 : 0;
    if (i >= count - kPendingRespondersMax) CHECK(ok);  // the newest 64 complete
  }
  CHECK(established == kPendingRespondersMax);
  CHECK(count_drops(b, DropReason::unexpected_handshake) == count - kPendingRespondersMax);
}

TEST_CASE("handshake manager: same seeds, same bytes (simulator determinism)", "[crypto][hsm]") {
  auto run_once = [] {
    World w;
    Node a(1, psk_of(9)), b(2, psk_of(9));
    w.add(a);
    w.add(b);
    REQUIRE(a.manager->add_peer(b.identity.node_id(), b.address, std::nullopt));
    w.connect(a, b);
    w.run();
    std::vector<std::vector<uint8_t>> bytes;
    for (const auto& [from, p] : w.sent) bytes.push_back(p.bytes);
    auto sealed = a.manager->seal(b.identity.node_id(), std::vector<uint8_t>{7}, w.now_us);
    REQUIRE(sealed);
    bytes.push_back(sealed->bytes);
    return bytes;
  };
  CHECK(run_once() == run_once());
}

TEST_CASE("handshake manager: first contact by address (XX probe) learns the responder's NodeId",
          "[crypto][hsm]") {
  World w;
  Node a(1, psk_of(9)), b(2, psk_of(9));
  w.add(a);
  w.add(b);
  auto out = a.manager->connect_address(b.address, w.now_us, w.wall_us);
  REQUIRE(out);
  REQUIRE(out->packets.size() == 1);
  CHECK(a.manager->probe_in_flight(b.address));
  const auto d = wire::decode_packet(out->packets[0].bytes);
  REQUIRE(d.ok());
  CHECK(d.header.destination.is_zero());  // nobody's NodeId is known yet
  w.push(a.address, std::move(*out), a);
  w.run();
  CHECK_FALSE(a.manager->probe_in_flight(b.address));
  REQUIRE(a.manager->has_session(b.identity.node_id(), w.now_us));
  REQUIRE(a.manager->peer_key(b.identity.node_id()));
  CHECK(*a.manager->peer_key(b.identity.node_id()) == b.identity.public_key());
  bool established_with_address = false;
  for (const auto& e : a.events) {
    if (e.kind == HandshakeEventKind::established && e.peer == b.identity.node_id() && e.address == b.address) {
      established_with_address = true;
    }
  }
  CHECK(established_with_address);
  CHECK(transfer(a, b, "hello by address", w.now_us) == DropReason::none);
  CHECK(transfer(b, a, "and back", w.now_us) == DropReason::none);
  // A wrong-PSK responder cannot be reached by a probe.
  Node c(3, psk_of(8));
  w.add(c);
  auto probe = a.manager->connect_address(c.address, w.now_us, w.wall_us);
  REQUIRE(probe);
  w.push(a.address, std::move(*probe), a);
  w.run();
  CHECK(count_drops(c, DropReason::bad_cookie) == 1);
  CHECK(a.manager->probe_in_flight(c.address));
}

TEST_CASE("handshake manager: two probes crossing resolve to one session", "[crypto][hsm]") {
  World w;
  Node a(1, psk_of(9)), b(2, psk_of(9));
  w.add(a);
  w.add(b);
  auto pa = a.manager->connect_address(b.address, w.now_us, w.wall_us);
  auto pb = b.manager->connect_address(a.address, w.now_us, w.wall_us);
  REQUIRE(pa);
  REQUIRE(pb);
  w.push(a.address, std::move(*pa), a);
  w.push(b.address, std::move(*pb), b);
  w.run();
  Node& low = a.identity.node_id() < b.identity.node_id() ? a : b;
  Node& high = &low == &a ? b : a;
  CHECK(count_drops(low, DropReason::handshake_collision) == 1);
  CHECK_FALSE(low.manager->probe_in_flight(high.address));
  CHECK_FALSE(high.manager->probe_in_flight(low.address));
  REQUIRE(low.manager->has_session(high.identity.node_id(), w.now_us));
  CHECK(transfer(low, high, "low first", w.now_us) == DropReason::none);
  CHECK(transfer(high, low, "high answers", w.now_us) == DropReason::none);
}
