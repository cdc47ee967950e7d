// SWIM codec: round trips, size limits, and every drop reason.
#include <catch2/catch.hpp>

#include "core/membership/swim_wire.h"

using namespace meshd;
using namespace meshd::membership;

namespace {
NodeId id_of(uint8_t n) {
  NodeId id;
  id.bytes[0] = n;
  id.bytes[15] = 0x77;
  return id;
}
MemberUpdate alive(uint8_t n, std::string host) {
  MemberUpdate u;
  u.id = id_of(n);
  u.incarnation = 0x0102030405060708ull + n;
  u.address = Address{0x0a000001, 7000};
  u.public_key.fill(n);
  u.hostname = std::move(host);
  return u;
}
MemberUpdate other(uint8_t n, MemberStatus s) {
  MemberUpdate u;
  u.id = id_of(n);
  u.incarnation = n;
  u.status = s;
  if (s != MemberStatus::left) u.origin = id_of(200);
  return u;
}
SwimDrop drop_of(std::span<const uint8_t> bytes) {
  SwimDrop why = SwimDrop::none;
  CHECK_FALSE(decode_swim(bytes, &why).has_value());
  return why;
}
}  // namespace

TEST_CASE("swim wire: every message type round-trips with updates of every status",
          "[membership][wire]") {
  for (int t = 1; t <= 6; ++t) {
    SwimMessage m;
    m.type = static_cast<SwimType>(t);
    m.sender = id_of(1);
    if (m.type != SwimType::push_pull && m.type != SwimType::gossip) m.seq = 0xDEADBEEF12345678ull;
    if (m.type == SwimType::ping || m.type == SwimType::ping_req) m.target = id_of(2);
    if (m.type == SwimType::ping_req) m.target_address = Address{0xC0A80001, 4242};
    if (m.type == SwimType::push_pull) m.flags = kPushPullRequest | kPushPullJoin;
    m.updates = {alive(3, "host-3.example"), other(4, MemberStatus::suspect),
                 other(5, MemberStatus::failed), other(6, MemberStatus::left), alive(7, "")};
    const auto bytes = encode(m);
    CHECK(bytes[0] == 'M');
    CHECK(bytes[1] == 'S');
    CHECK(bytes.size() <= kDatagramBytesMax);
    size_t expect = encoded_fixed_bytes(m.type);
    for (const auto& u : m.updates) expect += encoded_update_bytes(u);
    CHECK(bytes.size() == expect);
    SwimDrop why = SwimDrop::bad_magic;
    auto back = decode_swim(bytes, &why);
    REQUIRE(back.has_value());
    CHECK(why == SwimDrop::none);
    CHECK(*back == m);
  }
}

TEST_CASE("swim wire: the encoder stops at the datagram limit and says how many fit",
          "[membership][wire]") {
  std::vector<MemberUpdate> many;
  for (int i = 0; i < 40; ++i) many.push_back(alive(static_cast<uint8_t>(i), std::string(63, 'x')));
  SwimMessage m;
  m.type = SwimType::gossip;
  m.sender = id_of(1);
  size_t written = 0;
  const auto bytes = encode(m, many, &written);
  CHECK(bytes.size() <= kDatagramBytesMax);
  CHECK(written == (kDatagramBytesMax - encoded_fixed_bytes(SwimType::gossip)) / kUpdateBytesMax);
  SwimDrop why;
  auto back = decode_swim(bytes, &why);
  REQUIRE(back.has_value());
  CHECK(back->updates.size() == written);
  // Small updates are capped by the count limit, not the size.
  std::vector<MemberUpdate> lefts(100, other(9, MemberStatus::left));
  encode(m, lefts, &written);
  CHECK(written == 55);  // (1400 - 21) / 25
  CHECK(written <= kUpdatesPerMessageMax);
}

TEST_CASE("swim wire: malformed input is dropped with its reason", "[membership][wire]") {
  SwimMessage m;
  m.type = SwimType::ping_req;
  m.sender = id_of(1);
  m.seq = 5;
  m.target = id_of(2);
  m.updates = {alive(3, "abc")};
  const auto good = encode(m);

  CHECK(drop_of(std::span(good.data(), 0)) == SwimDrop::truncated);
  CHECK(drop_of(std::span(good.data(), 3)) == SwimDrop::truncated);
  auto b = good;
  b[0] = 'X';
  CHECK(drop_of(b) == SwimDrop::bad_magic);
  b = good;
  b[1] = 'L';  // liveness's magic is not ours
  CHECK(drop_of(b) == SwimDrop::bad_magic);
  b = good;
  b[2] = 2;
  CHECK(drop_of(b) == SwimDrop::bad_version);
  b = good;
  b[3] = 0;
  CHECK(drop_of(b) == SwimDrop::unknown_type);
  b[3] = 7;
  CHECK(drop_of(b) == SwimDrop::unknown_type);
  // Every strict prefix is truncated.
  for (size_t n = 4; n < good.size(); ++n) {
    INFO("prefix " << n);
    CHECK(drop_of(std::span(good.data(), n)) == SwimDrop::truncated);
  }
  auto longer = good;
  longer.push_back(0);
  CHECK(drop_of(longer) == SwimDrop::trailing_bytes);

  const size_t count_at = encoded_fixed_bytes(SwimType::ping_req) - 1;
  b = good;
  b[count_at] = static_cast<uint8_t>(kUpdatesPerMessageMax + 1);
  CHECK(drop_of(b) == SwimDrop::too_many_updates);
  b = good;
  b[count_at + 1] = 9;  // status
  CHECK(drop_of(b) == SwimDrop::bad_status);
  const size_t hostlen_at = count_at + 1 + 1 + 16 + 8 + 6 + kPublicKeyBytes;
  b = good;
  REQUIRE(b[hostlen_at] == 3);
  b[hostlen_at] = 64;
  CHECK(drop_of(b) == SwimDrop::bad_hostname);
  b = good;
  b[hostlen_at + 1] = '\n';  // control characters never reach logs
  CHECK(drop_of(b) == SwimDrop::bad_hostname);

  SwimMessage pp;
  pp.type = SwimType::push_pull;
  pp.sender = id_of(1);
  auto ppb = encode(pp);
  ppb[kSwimHeaderBytes] = 0x80;
  CHECK(drop_of(ppb) == SwimDrop::bad_flags);
}
