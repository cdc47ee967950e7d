// SessionTable alone: the index space and sealing/opening transport
// packets between two tables holding matching sessions.
#include <catch2/catch.hpp>

#include "core/crypto/session_table.h"
#include "tests/crypto/test_keys.h"

using namespace meshd;
using namespace meshd::crypto;
using namespace meshd::crypto::testing;
using wire::DropReason;

namespace {
struct Pair {
  SessionConfig config;
  RandomStream rng_a{key_of(1)}, rng_b{key_of(2)};
  SessionTable a{id_of(1), config, 1, rng_a};
  SessionTable b{id_of(2), config, 1, rng_b};
  uint32_t index_a = 0, index_b = 0;
  Pair() {
    a.add_peer(id_of(2));
    b.add_peer(id_of(1));
    index_a = a.allocate_index(id_of(2));
    index_b = b.allocate_index(id_of(1));
    CipherKey k1{}, k2{};
    k1.fill(7);
    k2.fill(8);
    a.sessions(id_of(2)).install_confirmed(Session(SessionKeys{k1, k2}, index_a, index_b, true, 0, config), 0);
    b.sessions(id_of(1)).install_confirmed(Session(SessionKeys{k2, k1}, index_b, index_a, false, 0, config), 0);
  }
};
DropReason deliver(SessionTable& to, const Datagram& p, NodeId& from, const Address& source, int64_t now_us,
                   std::vector<uint8_t>& plain, size_t& n) {
  const auto d = wire::decode_packet(p.bytes);
  REQUIRE(d.ok());
  plain.assign(d.payload.size(), 0);
  return to.open(d, plain, n, from, now_us, nullptr, &source);
}
}  // namespace

TEST_CASE("session table: seals and opens, records the source, refuses replays", "[crypto][session_table]") {
  Pair p;
  const Address where{0x0a000001, 5000};
  const std::vector<uint8_t> text{'h', 'i'};
  KeyUse used;
  auto packet = p.a.seal(id_of(2), Address{0x0a000002, 5000}, text, 10, &used);
  REQUIRE(packet);
  CHECK(used.counter == 0);
  NodeId from;
  std::vector<uint8_t> plain;
  size_t n = 0;
  REQUIRE(deliver(p.b, *packet, from, where, 20, plain, n) == DropReason::none);
  CHECK(from == id_of(1));
  CHECK(std::vector<uint8_t>(plain.begin(), plain.begin() + static_cast<long>(n)) == text);
  const LivenessView live = p.b.liveness(id_of(1));
  CHECK(live.last_opened_us == 20);
  CHECK(live.last_opened_from == where);
  CHECK(deliver(p.b, *packet, from, where, 21, plain, n) == DropReason::replay);
  CHECK(p.a.seal(id_of(9), where, text, 10).status().code() == Errc::not_found);
}

TEST_CASE("session table: an index names its owner; other senders get unknown_session",
          "[crypto][session_table]") {
  Pair p;
  auto packet = p.a.seal(id_of(2), Address{}, std::vector<uint8_t>{1}, 10);
  REQUIRE(packet);
  // Rewrite the source to a third NodeId: the index is not theirs.
  auto forged = *packet;
  forged.bytes[8] ^= 1;
  NodeId from;
  std::vector<uint8_t> plain;
  size_t n = 0;
  CHECK(deliver(p.b, forged, from, Address{}, 20, plain, n) == DropReason::unknown_session);
  CHECK(p.b.owner_of(p.index_b) != nullptr);
  CHECK(*p.b.owner_of(p.index_b) == id_of(1));
  const uint32_t spare = p.b.allocate_index(NodeId{});  // a probe's index
  CHECK(p.b.index_count() == 2);
  p.b.release_unused([](uint32_t, const NodeId&) { return false; });
  CHECK(p.b.owner_of(spare) == nullptr);       // no session holds it
  CHECK(p.b.owner_of(p.index_b) != nullptr);  // the session does
  const uint32_t held = p.b.allocate_index(id_of(1));
  p.b.release_unused([&](uint32_t index, const NodeId&) { return index == held; });
  CHECK(p.b.owner_of(held) != nullptr);
}

TEST_CASE("session table: expiry deadlines move forward as sessions expire", "[crypto][session_table]") {
  Pair p;
  const int64_t reject_us = p.config.reject_after_us;
  CHECK(p.a.next_expiry_us() == reject_us);
  p.a.expire(reject_us - 1);
  CHECK(p.a.find(id_of(2))->current().has_value());
  p.a.expire(reject_us);
  CHECK_FALSE(p.a.find(id_of(2))->current().has_value());
  CHECK(p.a.next_expiry_us() == INT64_MAX);
  CHECK(p.a.seal(id_of(2), Address{}, std::vector<uint8_t>{1}, reject_us).status().code() == Errc::unavailable);
}
