// HandshakeManager: the mesh handshake state machine driven without a
// runtime — packets are moved between managers by hand.
#include <catch2/catch.hpp>

#include <cstring>

#include "tests/crypto/handshake_world.h"

using namespace meshd;
using namespace meshd::crypto;
using namespace meshd::crypto::testing;
using wire::DropReason;


TEST_CASE("handshake manager: IKpsk2 to a known key, then traffic both ways", "[crypto][hsm]") {
  World w;
  Node a(1, psk_of(9)), b(2, psk_of(9));
  w.add(a, b);
  w.handshake(a, b, b.identity.public_key());
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
  w.add(a, b);
  w.handshake(a, b, std::nullopt);
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
  w.add(a, b);
  w.handshake(a, b, b.identity.public_key());
  CHECK(count_drops(b, DropReason::bad_cookie) == 1);
  CHECK_FALSE(a.manager->has_session(b.identity.node_id(), w.now_us));
}

TEST_CASE("handshake manager: wrong static key for the peer fails", "[crypto][hsm]") {
  World w;
  Node a(1, psk_of(9)), b(2, psk_of(9)), impostor(3, psk_of(9));
  w.add(a, b);
  w.handshake(a, b, impostor.identity.public_key());
  CHECK(count_drops(b, DropReason::handshake_failed) == 1);
  CHECK_FALSE(a.manager->has_session(b.identity.node_id(), w.now_us));
}

TEST_CASE("handshake manager: replayed initiation never replaces the live session", "[crypto][hsm]") {
  World w;
  Node a(1, psk_of(9)), b(2, psk_of(9));
  w.add(a, b);
  w.handshake(a, b, b.identity.public_key());
  REQUIRE(transfer(a, b, "confirm", w.now_us) == DropReason::none);
  const uint32_t live = b.manager->sessions(a.identity.node_id())->current()->local_index();
  const Datagram initiation = w.sent.front().second;
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
    w.add(a, b);
    w.handshake(a, b, b.identity.public_key());
    REQUIRE(transfer(a, b, "before", w.now_us) == DropReason::none);
    // a restarts (same identity, state lost) with its wall clock 60 s behind.
    HandshakeManagerConfig second;
    second.boot = boot_after;
    a.manager = std::make_unique<HandshakeManager>(a.identity, a.archive, psk_of(9), a.rng, second);
    w.introduce(a, b, b.identity.public_key());
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
  w.add(a, b);
  w.introduce(a, b, b.identity.public_key());
  auto out = a.manager->connect(b.identity.node_id(), w.now_us, w.wall_us);
  REQUIRE(out);
  Datagram p = out->send.front();
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
  w.introduce(a, b, b.identity.public_key());
  auto out = a.manager->connect(b.identity.node_id(), w.now_us, w.wall_us);
  REQUIRE(out);
  Datagram p = out->send.front();
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
    w.add(a, b);
    w.introduce(a, b, xx ? std::nullopt : std::optional(b.identity.public_key()));
    w.introduce(b, a, xx ? std::nullopt : std::optional(a.identity.public_key()));
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
  w.introduce(a, b, b.identity.public_key());
  auto first = a.manager->connect(b.identity.node_id(), w.now_us, w.wall_us);
  REQUIRE(first);
  const int64_t start = w.now_us;
  std::vector<int64_t> sends{start};
  bool failed = false;
  for (int64_t t = start; t <= start + 70 * kMicrosPerSecond; t += 10'000) {
    auto out = a.manager->tick(t, w.wall_us);
    if (!out.send.empty()) sends.push_back(t);
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
  w.add(a, b);
  w.add(c);
  w.introduce(a, b, b.identity.public_key());
  w.introduce(c, b, b.identity.public_key());
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
  w.add(a, b);
  w.introduce(a, b, b.identity.public_key());
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
    w.introduce(a, b, b.identity.public_key());
    w.introduce(b, a, a.identity.public_key());
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
  w.add(a, b);
  w.handshake(a, b, b.identity.public_key());
  REQUIRE(transfer(a, b, "first", w.now_us) == DropReason::none);
  auto in_flight = a.manager->seal(b.identity.node_id(), std::vector<uint8_t>{1, 2, 3}, w.now_us);
  REQUIRE(in_flight);
  w.now_us += 120 * kMicrosPerSecond;
  w.wall_us += 120 * kMicrosPerSecond;
  auto out = a.manager->tick(w.now_us, w.wall_us);
  REQUIRE(out.send.size() == 1);  // the rekey initiation
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
    w.add(a, b);
    w.introduce(a, b, xx ? std::nullopt : std::optional(b.identity.public_key()));
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
    w.introduce(a, b, std::nullopt);
    w.connect(a, b);
  }
  // Deliver every message 1, then hold b's responses until all are in.
  std::vector<std::pair<Address, Datagram>> initiations(w.queue.begin(), w.queue.end());
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
    w.add(a, b);
    w.handshake(a, b, std::nullopt);
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
  w.add(a, b);
  auto out = a.manager->connect_address(b.address, w.now_us, w.wall_us);
  REQUIRE(out);
  REQUIRE(out->send.size() == 1);
  CHECK(a.manager->probe_in_flight(b.address));
  const auto d = wire::decode_packet(out->send[0].bytes);
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
  w.add(a, b);
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

// --- Twins: one identity initiating from two endpoints -------------------

namespace {

HandshakeManagerConfig twin_config(TwinPolicy policy, uint64_t boot = 0) {
  HandshakeManagerConfig c;
  c.twin_policy = policy;
  c.boot = boot;
  return c;
}

// The responder's twin notices in w.sent, in order.
std::vector<Datagram> notices_sent(const World& w) {
  std::vector<Datagram> out;
  for (const auto& [from, p] : w.sent) {
    if (p.bytes.size() > 3 && p.bytes[3] == static_cast<uint8_t>(wire::PacketType::twin_notice)) out.push_back(p);
  }
  return out;
}

const HandshakeEvent* twin_event(const Node& n) {
  const HandshakeEvent* last = nullptr;
  for (const auto& e : n.events) {
    if (e.kind == HandshakeEventKind::twin_refused) last = &e;
  }
  return last;
}

size_t twin_events(const Node& n) {
  return static_cast<size_t>(std::count_if(n.events.begin(), n.events.end(), [](const HandshakeEvent& e) {
    return e.kind == HandshakeEventKind::twin_refused;
  }));
}

// Recomputes a notice's trailing mac: BLAKE2b-128 keyed by the mac1 key
// over header AAD || body without the mac. memcpy, not insert: gcc 12's
// -Warray-bounds misfires on vector::insert from the 54-byte AAD array.
void remac(Datagram& p, const Psk& psk) {
  std::vector<uint8_t> mac_input(p.bytes.size() - kMacBytes);
  wire::HeaderBytes aad{};
  wire::header_aad(std::span<const uint8_t, wire::kHeaderBytes>(p.bytes.data(), wire::kHeaderBytes), aad);
  std::memcpy(mac_input.data(), aad.data(), aad.size());
  std::memcpy(mac_input.data() + wire::kHeaderBytes, p.bytes.data() + wire::kHeaderBytes,
              mac_input.size() - wire::kHeaderBytes);
  const Mac mac = compute_mac1(psk, mac_input);
  std::memcpy(p.bytes.data() + p.bytes.size() - kMacBytes, mac.data(), kMacBytes);
}

// Builds a twin notice from its parts (docs/protocol.md, "twin_notice"):
// the test's independent statement of the format.
Datagram craft_notice(const Identity& signer, const NodeId& responder, const Psk& psk, const Address& to,
                       const NodeId& initiator, uint32_t initiator_index, const Address& holder,
                       uint64_t holder_boot, const Mac& binding) {
  wire::PacketHeader h;
  h.type = wire::PacketType::twin_notice;
  h.source = responder;
  h.destination = initiator;
  h.session_id = initiator_index;
  h.payload_length = static_cast<uint16_t>(kTwinNoticeBytes);
  Datagram p{to, std::vector<uint8_t>(wire::kHeaderBytes + kTwinNoticeBytes)};
  wire::encode_header(h, std::span<uint8_t, wire::kHeaderBytes>(p.bytes.data(), wire::kHeaderBytes));
  uint8_t* body = p.bytes.data() + wire::kHeaderBytes;
  for (int i = 0; i < 4; ++i) body[i] = static_cast<uint8_t>(holder.ipv4 >> (8 * i));
  for (int i = 0; i < 2; ++i) body[4 + i] = static_cast<uint8_t>(holder.port >> (8 * i));
  for (int i = 0; i < 8; ++i) body[6 + i] = static_cast<uint8_t>(holder_boot >> (8 * i));
  std::memcpy(body + 14, binding.data(), binding.size());
  const size_t domain = kTwinNoticeDomain.size();
  std::vector<uint8_t> signed_bytes(domain + wire::kHeaderBytes + kTwinNoticeSignedBytes);
  wire::HeaderBytes aad{};
  wire::header_aad(std::span<const uint8_t, wire::kHeaderBytes>(p.bytes.data(), wire::kHeaderBytes), aad);
  std::memcpy(signed_bytes.data(), kTwinNoticeDomain.data(), domain);
  std::memcpy(signed_bytes.data() + domain, aad.data(), aad.size());
  std::memcpy(signed_bytes.data() + domain + wire::kHeaderBytes, body, kTwinNoticeSignedBytes);
  const Signature sig = signer.sign(signed_bytes);
  std::memcpy(body + kTwinNoticeSignedBytes, sig.data(), sig.size());
  remac(p, psk);
  return p;
}

// The mac1 of the last initiation `from` sent (what a notice must name).
Mac last_mac1(const World& w, const Address& from) {
  Mac mac{};
  for (const auto& [src, p] : w.sent) {
    if (src == from && p.bytes[3] == static_cast<uint8_t>(wire::PacketType::handshake_initiation)) {
      std::memcpy(mac.data(), p.bytes.data() + p.bytes.size() - 2 * kMacBytes, kMacBytes);
    }
  }
  return mac;
}

uint32_t last_initiation_index(const World& w, const Address& from) {
  uint32_t index = 0;
  for (const auto& [src, p] : w.sent) {
    if (src == from && p.bytes[3] == static_cast<uint8_t>(wire::PacketType::handshake_initiation)) {
      index = wire::decode_packet(p.bytes).header.session_id;
    }
  }
  return index;
}

// Responder r; holder h (boot `holder_boot`) gets a confirmed session
// first; then its twin t (same identity, boot `twin_boot`, another
// address) initiates one second later.
struct TwinSetup {
  World w;
  Node r, h, t;
  TwinSetup(TwinPolicy policy, uint64_t holder_boot, uint64_t twin_boot)
      : r(2, psk_of(9), twin_config(policy)),
        h(1, psk_of(9), twin_config(TwinPolicy::prefer_newest, holder_boot)),
        t(1, psk_of(9), twin_config(TwinPolicy::prefer_newest, twin_boot), 7) {
    REQUIRE(h.identity.node_id() == t.identity.node_id());
    REQUIRE(h.address != t.address);
    for (Node* n : {&r, &h, &t}) w.add(*n);
    for (Node* n : {&h, &t}) REQUIRE(n->manager->add_peer(r.identity.node_id(), r.address, r.identity.public_key()));
    w.connect(h, r);
    w.run();
    REQUIRE(transfer(h, r, "holder confirms", w.now_us) == DropReason::none);
    w.now_us += kMicrosPerSecond;
    REQUIRE(transfer(h, r, "holder is live", w.now_us) == DropReason::none);
    w.connect(t, r);
    w.run();
  }
  const NodeId& id() const { return h.identity.node_id(); }
};

}  // namespace

TEST_CASE("handshake manager twins: prefer_oldest and allow_concurrent keep the live session and notify the twin",
          "[crypto][hsm][twins]") {
  for (TwinPolicy policy : {TwinPolicy::prefer_oldest, TwinPolicy::allow_concurrent}) {
    INFO("policy " << static_cast<int>(policy));
    TwinSetup s(policy, 1, 2);  // the twin is fresher (boot 2), yet refused
    CHECK(count_drops(s.r, DropReason::twin_refused) == 1);
    CHECK_FALSE(s.t.manager->has_session(s.r.identity.node_id(), s.w.now_us));
    CHECK(s.r.manager->sessions(s.id())->next() == std::nullopt);
    CHECK(transfer(s.h, s.r, "holder still works", s.w.now_us) == DropReason::none);
    CHECK(transfer(s.r, s.h, "and is still reached", s.w.now_us) == DropReason::none);
    REQUIRE(notices_sent(s.w).size() == 1);
    CHECK(notices_sent(s.w)[0].to == s.t.address);
    CHECK(notices_sent(s.w)[0].bytes.size() == wire::kHeaderBytes + kTwinNoticeBytes);
    REQUIRE(twin_events(s.t) == 1);
    const HandshakeEvent& e = *twin_event(s.t);
    CHECK(e.peer == s.r.identity.node_id());
    CHECK(e.twin.responder == s.r.identity.node_id());
    CHECK(e.twin.responder_address == s.r.address);
    CHECK(e.twin.holder == s.h.address);
    CHECK(e.twin.holder_boot == 1);
    CHECK(twin_events(s.h) == 0);
    // The twin keeps its initiation in flight (a standby keeps retrying).
    CHECK(s.t.manager->handshake_in_flight(s.r.identity.node_id()));
  }
}

TEST_CASE("handshake manager twins: prefer_newest gives the session to the fresher copy and notifies the older",
          "[crypto][hsm][twins]") {
  TwinSetup s(TwinPolicy::prefer_newest, 1, 2);
  CHECK(count_drops(s.r, DropReason::twin_refused) == 0);
  REQUIRE(s.t.manager->has_session(s.r.identity.node_id(), s.w.now_us));
  REQUIRE(transfer(s.t, s.r, "twin confirms", s.w.now_us) == DropReason::none);
  CHECK(transfer(s.r, s.t, "the newer copy is reached", s.w.now_us) == DropReason::none);
  CHECK(notices_sent(s.w).empty());
  // The older copy's next initiation (a rekey, a retry) is stale and comes
  // from another address than the live session's: refused with a notice.
  s.w.now_us += kMicrosPerSecond;
  auto again = s.h.manager->connect(s.r.identity.node_id(), s.w.now_us, s.w.wall_us, true);
  REQUIRE(again);
  s.w.push(s.h.address, std::move(*again), s.h);
  s.w.run();
  CHECK(count_drops(s.r, DropReason::stale_handshake) == 1);
  REQUIRE(twin_events(s.h) == 1);
  CHECK(twin_event(s.h)->twin.holder == s.t.address);
  CHECK(twin_event(s.h)->twin.holder_boot == 2);
  CHECK(twin_events(s.t) == 0);
}

TEST_CASE("handshake manager twins: a replay from the holder's own address stays unanswered", "[crypto][hsm][twins]") {
  TwinSetup s(TwinPolicy::prefer_oldest, 1, 2);
  const size_t notices = notices_sent(s.w).size();
  Datagram first_initiation;
  for (const auto& [from, p] : s.w.sent) {
    if (from == s.h.address) {
      first_initiation = p;
      break;
    }
  }
  s.w.now_us += 2 * kMicrosPerSecond;
  s.w.deliver(s.h.address, first_initiation);
  CHECK(count_drops(s.r, DropReason::stale_handshake) == 1);
  CHECK(notices_sent(s.w).size() == notices);
}

TEST_CASE("handshake manager twins: forged, tampered, unbound and replayed notices are dropped and counted",
          "[crypto][hsm][twins]") {
  TwinSetup s(TwinPolicy::prefer_oldest, 1, 2);
  REQUIRE(notices_sent(s.w).size() == 1);
  const Datagram genuine = notices_sent(s.w)[0];
  const Address from = s.r.address;
  // The crafted notice from the documented format equals the responder's.
  const Mac binding = last_mac1(s.w, s.t.address);
  const uint32_t index = last_initiation_index(s.w, s.t.address);
  CHECK(craft_notice(s.r.identity, s.r.identity.node_id(), psk_of(9), s.t.address, s.id(), index, s.h.address, 1,
                     binding)
            .bytes == genuine.bytes);

  SECTION("replayed") {
    s.w.deliver(from, genuine);
    CHECK(count_drops(s.t, DropReason::unexpected_handshake) == 1);
    CHECK(twin_events(s.t) == 1);
  }
  SECTION("for no pending initiation") {
    Mac other = binding;
    other[0] ^= 1;
    s.w.deliver(from, craft_notice(s.r.identity, s.r.identity.node_id(), psk_of(9), s.t.address, s.id(), index,
                                   s.h.address, 1, other));
    s.w.deliver(from, craft_notice(s.r.identity, s.r.identity.node_id(), psk_of(9), s.t.address, s.id(), index + 1,
                                   s.h.address, 1, binding));
    CHECK(count_drops(s.t, DropReason::unexpected_handshake) == 2);
    CHECK(twin_events(s.t) == 1);
  }
  // The rest target the twin's next initiation (the first was noticed).
  s.w.now_us += 2 * kMicrosPerSecond;
  auto retry = s.t.manager->connect(s.r.identity.node_id(), s.w.now_us, s.w.wall_us, true);
  REQUIRE(retry);
  REQUIRE(retry->send.size() == 1);
  s.w.sent.emplace_back(s.t.address, retry->send[0]);  // not delivered: the notices below answer it
  const Mac binding2 = last_mac1(s.w, s.t.address);
  const uint32_t index2 = last_initiation_index(s.w, s.t.address);
  SECTION("signed by another key") {
    Node mallory(5, psk_of(9));
    s.w.deliver(from, craft_notice(mallory.identity, s.r.identity.node_id(), psk_of(9), s.t.address, s.id(), index2,
                                   s.h.address, 1, binding2));
    CHECK(count_drops(s.t, DropReason::auth_failure) == 1);
    CHECK(twin_events(s.t) == 1);
  }
  SECTION("tampered") {
    Datagram p = craft_notice(s.r.identity, s.r.identity.node_id(), psk_of(9), s.t.address, s.id(), index2,
                               s.h.address, 1, binding2);
    p.bytes[wire::kHeaderBytes + 6] ^= 1;  // holder boot: the mac no longer matches
    s.w.deliver(from, p);
    CHECK(count_drops(s.t, DropReason::bad_cookie) == 1);
    // Re-MACed by a PSK holder (an insider): the signature still fails.
    Datagram forged = craft_notice(s.r.identity, s.r.identity.node_id(), psk_of(9), s.t.address, s.id(), index2,
                                    s.h.address, 1, binding2);
    Datagram other_boot = craft_notice(s.r.identity, s.r.identity.node_id(), psk_of(9), s.t.address, s.id(),
                                        index2, s.h.address, 99, binding2);
    // Splice: other_boot's fields with forged's signature, re-MACed.
    std::memcpy(other_boot.bytes.data() + wire::kHeaderBytes + kTwinNoticeSignedBytes,
                forged.bytes.data() + wire::kHeaderBytes + kTwinNoticeSignedBytes, kSignatureBytes);
    remac(other_boot, psk_of(9));
    s.w.deliver(from, other_boot);
    CHECK(count_drops(s.t, DropReason::auth_failure) == 1);
    CHECK(twin_events(s.t) == 1);
    // Wrong PSK: junk, dropped before any signature check.
    s.w.deliver(from, craft_notice(s.r.identity, s.r.identity.node_id(), psk_of(8), s.t.address, s.id(), index2,
                                   s.h.address, 1, binding2));
    CHECK(count_drops(s.t, DropReason::bad_cookie) == 2);
    // Truncated.
    Datagram short_notice = forged;
    short_notice.bytes.resize(short_notice.bytes.size() - 1);
    short_notice.bytes[52] = static_cast<uint8_t>(kTwinNoticeBytes - 1);
    s.w.deliver(from, short_notice);
    CHECK(count_drops(s.t, DropReason::truncated) == 1);
    // The genuine one for this initiation is still accepted.
    s.w.deliver(from, forged);
    CHECK(twin_events(s.t) == 2);
  }
}

TEST_CASE("handshake manager twins: at most one notice per NodeId per kTwinNoticeIntervalUs",
          "[crypto][hsm][twins]") {
  TwinSetup s(TwinPolicy::allow_concurrent, 1, 2);
  REQUIRE(notices_sent(s.w).size() == 1);
  const auto retry = [&](int64_t after_us) {
    s.w.now_us += after_us;
    REQUIRE(transfer(s.h, s.r, "holder stays live", s.w.now_us) == DropReason::none);
    auto out = s.t.manager->connect(s.r.identity.node_id(), s.w.now_us, s.w.wall_us, true);
    REQUIRE(out);
    REQUIRE(out->send.size() == 1);
    const auto d = wire::decode_packet(out->send[0].bytes);
    return s.r.manager->on_handshake_packet(s.t.address, d, s.w.now_us, s.w.wall_us);
  };
  const HandshakeOutput early = retry(kTwinNoticeIntervalUs / 2 + 1);  // connect(force) needs retry_initial / 2
  CHECK(early.drop == DropReason::twin_refused);
  CHECK(early.twin_notice == TwinNoticeOutcome::suppressed);
  CHECK(early.send.empty());
  const HandshakeOutput later = retry(kTwinNoticeIntervalUs / 2);
  CHECK(later.drop == DropReason::twin_refused);
  CHECK(later.twin_notice == TwinNoticeOutcome::sent);
  CHECK(later.send.size() == 1);
}

TEST_CASE("handshake manager twins: once the holder is silent for stale_grace_us the twin takes over, "
          "whatever its boot",
          "[crypto][hsm][twins]") {
  // Pins the relaxed stale rule: before twins, a stale initiation was
  // accepted after the silence only from the peer's known address (a
  // replay from elsewhere must not move it). A standby copy elsewhere must
  // now take over even with the lower boot; the replay test above still
  // shows a replay cannot displace a live session.
  for (TwinPolicy policy : {TwinPolicy::prefer_newest, TwinPolicy::prefer_oldest, TwinPolicy::allow_concurrent}) {
    INFO("policy " << static_cast<int>(policy));
    TwinSetup s(policy, 2, 1);  // the standby has the LOWER boot
    CHECK_FALSE(s.t.manager->has_session(s.r.identity.node_id(), s.w.now_us));
    CHECK(twin_events(s.t) == 1);
    // Still live just inside the grace: refused.
    const int64_t last_opened = s.r.manager->sessions(s.id())->last_opened_us();
    s.w.now_us = last_opened + HandshakeManagerConfig{}.stale_grace_us - kMicrosPerSecond;
    auto early = s.t.manager->connect(s.r.identity.node_id(), s.w.now_us, s.w.wall_us, true);
    REQUIRE(early);
    s.w.push(s.t.address, std::move(*early), s.t);
    s.w.run();
    CHECK_FALSE(s.t.manager->has_session(s.r.identity.node_id(), s.w.now_us));
    // The holder died: silent for stale_grace_us.
    s.w.now_us = last_opened + HandshakeManagerConfig{}.stale_grace_us;
    auto again = s.t.manager->connect(s.r.identity.node_id(), s.w.now_us, s.w.wall_us, true);
    REQUIRE(again);
    s.w.push(s.t.address, std::move(*again), s.t);
    s.w.run();
    REQUIRE(s.t.manager->has_session(s.r.identity.node_id(), s.w.now_us));
    REQUIRE(transfer(s.t, s.r, "standby confirms", s.w.now_us) == DropReason::none);
    CHECK(transfer(s.r, s.t, "standby is reached", s.w.now_us) == DropReason::none);
  }
}

TEST_CASE("handshake manager twins: an XX twin is refused at message 3 and the notice names that message",
          "[crypto][hsm][twins]") {
  // The twin does not know the responder's key: first contact (XX). Its
  // identity is only authenticated by message 3, so that is where the
  // responder applies the policy; the twin already holds its side of the
  // session by then, and the notice tells it the responder dropped it.
  World w;
  Node r(2, psk_of(9), twin_config(TwinPolicy::prefer_oldest));
  Node h(1, psk_of(9), twin_config(TwinPolicy::prefer_newest, 1));
  Node t(1, psk_of(9), twin_config(TwinPolicy::prefer_newest, 2), 7);
  for (Node* n : {&r, &h, &t}) w.add(*n);
  w.introduce(h, r, r.identity.public_key());
  w.introduce(t, r, std::nullopt);
  w.connect(h, r);
  w.run();
  REQUIRE(transfer(h, r, "holder confirms", w.now_us) == DropReason::none);
  w.connect(t, r);
  w.run();
  CHECK(count_drops(r, DropReason::twin_refused) == 1);
  REQUIRE(twin_events(t) == 1);
  CHECK(twin_event(t)->twin.holder == h.address);
  CHECK(twin_event(t)->twin.holder_boot == 1);
  CHECK(transfer(h, r, "holder still works", w.now_us) == DropReason::none);
  // Replaying the notice names nothing any more.
  const auto notices = notices_sent(w);
  REQUIRE(notices.size() == 1);
  w.deliver(r.address, notices[0]);
  CHECK(count_drops(t, DropReason::unexpected_handshake) == 1);
  CHECK(twin_events(t) == 1);
}

// --- Deadlines and limits ------------------------------------------------------

TEST_CASE("handshake manager: next_deadline_us includes rekeys, and tick moves it forward", "[crypto][hsm][deadline]") {
  World w;
  Node a(1, psk_of(9)), b(2, psk_of(9));
  w.add(a, b);
  CHECK(a.manager->next_deadline_us() == INT64_MAX);  // nothing to do
  w.handshake(a, b, b.identity.public_key());
  REQUIRE(transfer(a, b, "confirm", w.now_us) == DropReason::none);
  const SessionConfig session;
  const int64_t established_us = w.now_us;
  // Nothing in flight: the initiator's next work is its rekey; the
  // responder's comes later (halfway from rekey_after to reject_after).
  CHECK(a.manager->next_deadline_us() == established_us + session.rekey_after_us);
  CHECK(b.manager->next_deadline_us() ==
        established_us + (session.rekey_after_us + session.reject_after_us) / 2);
  w.now_us = a.manager->next_deadline_us() - 1;
  HandshakeOutput early = a.manager->tick(w.now_us, w.wall_us);
  CHECK(early.send.empty());
  w.now_us += 1;
  HandshakeOutput due = a.manager->tick(w.now_us, w.wall_us);
  REQUIRE(due.send.size() == 1);  // the rekey initiation
  CHECK(a.manager->handshake_in_flight(b.identity.node_id()));
  CHECK(a.manager->next_deadline_us() > w.now_us);
  CHECK(a.manager->next_deadline_us() <= w.now_us + HandshakeManagerConfig{}.retry_initial_us * 4 / 3);
  w.push(a.address, std::move(due), a);
  w.run();
  CHECK(a.manager->sessions(b.identity.node_id())->previous().has_value());  // rekeyed
  CHECK(transfer(a, b, "after the rekey", w.now_us) == DropReason::none);
}

TEST_CASE("handshake manager: a full peer table drops new peers as peer_table_full, not rate_limited",
          "[crypto][hsm][limits]") {
  World w;
  Node a(1, psk_of(9)), b(2, psk_of(9));
  w.add(a, b);
  for (uint32_t i = 0; i < kPeersMax; ++i) {
    NodeId filler;
    filler.bytes[0] = 0xee;
    std::memcpy(filler.bytes.data() + 1, &i, sizeof i);
    REQUIRE(b.manager->add_peer(filler, Address{0x0b000000u + i, 5000}, std::nullopt));
  }
  NodeId one_more;
  one_more.bytes.fill(0xef);
  CHECK(b.manager->add_peer(one_more, Address{}, std::nullopt).code() == Errc::too_large);
  w.handshake(a, b, b.identity.public_key());
  CHECK(count_drops(b, DropReason::peer_table_full) == 1);
  CHECK_FALSE(has_event(a, HandshakeEventKind::established));
  CHECK(b.manager->peer_count() == kPeersMax);
  CHECK(wire::drop_reason_name(DropReason::peer_table_full) == "peer_table_full");
}
