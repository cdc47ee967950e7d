// rapidcheck properties for the membership layer (issue 4, "Fuzz and
// properties"): merging peer-state updates is order-independent and
// idempotent; the suspicion timeout is monotone in confirmations; the SWIM
// codec round-trips.
#include <catch2/catch.hpp>
#include <rapidcheck.h>
#include <rapidcheck/catch.h>

#include <algorithm>
#include <tuple>
#include <vector>

#include "core/membership/member_table.h"
#include "core/membership/suspicion.h"
#include "core/membership/swim_wire.h"

using namespace meshd;
using namespace meshd::membership;

namespace {

NodeId small_id(uint8_t n) {
  NodeId id;
  id.bytes[0] = n;
  return id;
}

// Few nodes, few incarnations, few identities: collisions are the point.
rc::Gen<MemberUpdate> gen_update() {
  return rc::gen::exec([] {
    MemberUpdate u;
    u.id = small_id(*rc::gen::inRange<uint8_t>(1, 5));
    u.incarnation = *rc::gen::inRange<uint64_t>(0, 4);
    u.status = static_cast<MemberStatus>(*rc::gen::inRange<int>(1, 5));
    if (u.status == MemberStatus::alive) {
      u.address = Address{0x0a000000u + *rc::gen::inRange<uint32_t>(0, 3), 7000};
      u.public_key[0] = *rc::gen::inRange<uint8_t>(0, 3);
      u.hostname = *rc::gen::element<std::string>("", "a", "b");
      u.fingerprint_digest = *rc::gen::inRange<uint64_t>(0, 3);
      u.capability_digest = *rc::gen::inRange<uint64_t>(0, 2);
      u.instance = *rc::gen::inRange<uint64_t>(0, 2);
      const auto alts = *rc::gen::inRange<uint32_t>(0, 3);
      for (uint32_t k = 0; k < alts; ++k) u.alt_endpoints.push(Address{0x0b000000u + *rc::gen::inRange<uint32_t>(0, 2), 7001});
      u.signature[0] = *rc::gen::inRange<uint8_t>(0, 2);
    } else if (u.status == MemberStatus::left) {
      // A leave is one signed fact per (node, incarnation): Ed25519 is
      // deterministic, and the service drops any other key or signature.
      u.public_key[0] = u.id.bytes[0];
      u.signature[0] = static_cast<uint8_t>(u.incarnation);
    } else {
      u.origin = small_id(*rc::gen::inRange<uint8_t>(1, 5));
    }
    return u;
  });
}

// The merge-relevant projection of a table (timestamps excluded).
using Row = std::tuple<NodeId, bool, uint64_t, Address, PublicKeyBytes, std::string, uint64_t, uint64_t,
                       uint64_t, MemberStatus, uint64_t, AltEndpoints, SignatureBytes, PublicKeyBytes, SignatureBytes>;
std::vector<Row> rows(const MemberTable& t) {
  std::vector<Row> out;
  for (const auto& [id, m] : t.members()) {
    out.emplace_back(id, m.has_identity, m.identity_incarnation, m.address, m.public_key,
                     m.hostname, m.fingerprint_digest, m.capability_digest, m.incarnation, m.status,
                     m.instance, m.alt_endpoints, m.signature, m.left_key, m.left_signature);
  }
  return out;
}

}  // namespace

TEST_CASE("membership merge is order-independent and idempotent", "[prop][membership]") {
  rc::prop("any delivery order (with duplicates) yields the same table", [] {
    const auto updates = *rc::gen::container<std::vector<MemberUpdate>>(gen_update());
    const auto keys = *rc::gen::container<std::vector<uint32_t>>(updates.size(),
                                                                 rc::gen::arbitrary<uint32_t>());
    std::vector<size_t> order(updates.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return keys[a] < keys[b]; });

    MemberTable in_order, shuffled;
    int64_t t = 0;
    for (const auto& u : updates) in_order.apply(u, ++t);
    for (size_t i : order) shuffled.apply(updates[i], ++t);
    RC_ASSERT(rows(in_order) == rows(shuffled));

    // Idempotent: delivering everything again changes nothing.
    const auto before = rows(in_order);
    for (const auto& u : updates) RC_ASSERT(!in_order.apply(u, ++t).changed());
    RC_ASSERT(rows(in_order) == before);
  });
}

TEST_CASE("suspicion timeout is monotone non-increasing in confirmations", "[prop][membership]") {
  rc::prop("min <= timeout(c2) <= timeout(c1) <= max for c1 <= c2", [] {
    const auto mult = *rc::gen::inRange<uint32_t>(1, 12);
    const auto max_mult = *rc::gen::inRange<uint32_t>(1, 12);
    const auto period_us = *rc::gen::inRange<int64_t>(1, 10'000'000);
    const auto n = *rc::gen::inRange<size_t>(1, 5000);
    const auto c1 = *rc::gen::inRange<uint32_t>(0, 20);
    const auto c2 = c1 + *rc::gen::inRange<uint32_t>(0, 20);
    const auto b = suspicion_bounds(mult, max_mult, period_us, n);
    const int64_t t1 = suspicion_timeout_us(b, c1);
    const int64_t t2 = suspicion_timeout_us(b, c2);
    RC_ASSERT(b.min_us <= t2);
    RC_ASSERT(t2 <= t1);
    RC_ASSERT(t1 <= b.max_us);
    RC_ASSERT(suspicion_timeout_us(b, b.expected_confirmations) == b.min_us);
  });
  rc::prop("log2_q16 is monotone", [] {
    const auto x = *rc::gen::inRange<uint64_t>(1, uint64_t{1} << 40);
    const auto d = *rc::gen::inRange<uint64_t>(0, 1000);
    RC_ASSERT(log2_q16(x) <= log2_q16(x + d));
  });
}

TEST_CASE("swim codec round-trips every message it can encode", "[prop][membership]") {
  rc::prop("decode(encode(m)) == m with the updates that fit", [] {
    SwimMessage m;
    m.type = static_cast<SwimType>(*rc::gen::inRange<int>(1, 7));
    m.sender = small_id(*rc::gen::arbitrary<uint8_t>());
    if (m.type != SwimType::push_pull && m.type != SwimType::gossip) m.seq = *rc::gen::arbitrary<uint64_t>();
    if (m.type == SwimType::ping || m.type == SwimType::ping_req) m.target = small_id(7);
    if (m.type == SwimType::ping_req) m.target_address = Address{*rc::gen::arbitrary<uint32_t>(), 9};
    if (m.type == SwimType::push_pull) m.flags = *rc::gen::inRange<uint8_t>(0, 4);
    auto updates = *rc::gen::container<std::vector<MemberUpdate>>(gen_update());
    for (auto& u : updates) u.incarnation = *rc::gen::arbitrary<uint64_t>();
    size_t written = 0;
    const auto bytes = encode(m, updates, &written);
    RC_ASSERT(bytes.size() <= kDatagramBytesMax);
    m.updates.assign(updates.begin(), updates.begin() + static_cast<ptrdiff_t>(written));
    SwimDrop why;
    const auto back = decode_swim(bytes, &why);
    RC_ASSERT(back.has_value());
    RC_ASSERT(*back == m);
  });
}
