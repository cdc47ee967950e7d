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
  u.instance = 40 + n;
  u.signature.fill(static_cast<uint8_t>(0x80 + n));
  return u;
}
MemberUpdate multi_homed(uint8_t n) {
  MemberUpdate u = alive(n, std::string(63, 'x'));
  for (uint16_t k = 1; k < kEndpointsMax; ++k) u.alt_endpoints.push(Address{0x0a000100u + k, static_cast<uint16_t>(7000 + k)});
  return u;
}
MemberUpdate other(uint8_t n, MemberStatus s) {
  MemberUpdate u;
  u.id = id_of(n);
  u.incarnation = n;
  u.status = s;
  if (s != MemberStatus::left) u.origin = id_of(200);
  if (s == MemberStatus::left) {
    u.public_key.fill(n);
    u.signature.fill(0x33);
  }
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
                 other(5, MemberStatus::failed), other(6, MemberStatus::left), alive(7, ""),
                 multi_homed(8)};
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
  for (int i = 0; i < 40; ++i) many.push_back(multi_homed(static_cast<uint8_t>(i)));
  REQUIRE(encoded_update_bytes(many[0]) == kUpdateBytesMax);
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
  CHECK(written == 11);  // (1400 - 21) / 121
  std::vector<MemberUpdate> suspects(100, other(9, MemberStatus::suspect));
  encode(m, suspects, &written);
  CHECK(written == 33);  // (1400 - 21) / 41
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
  b[2] = 1;  // v1 had no signatures: never accepted
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
  const size_t endpoints_at = count_at + 1 + 1 + 16 + 8 + 8;
  b = good;
  REQUIRE(b[endpoints_at] == 1);
  b[endpoints_at] = 0;
  CHECK(drop_of(b) == SwimDrop::bad_endpoints);
  b[endpoints_at] = kEndpointsMax + 1;
  CHECK(drop_of(b) == SwimDrop::bad_endpoints);
  const size_t hostlen_at = endpoints_at + 1 + 6 + kPublicKeyBytes;
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

TEST_CASE("swim wire: the signed bytes cover every field but the signature", "[membership][wire]") {
  for (MemberUpdate base : {multi_homed(3), other(4, MemberStatus::left)}) {
    const auto signed_bytes = update_signing_bytes(base);
    REQUIRE(signed_bytes.size() == kSwimSignatureDomain.size() + encoded_update_bytes(base) - kSignatureBytes);
    CHECK(std::equal(kSwimSignatureDomain.begin(), kSwimSignatureDomain.end(), signed_bytes.begin()));
    MemberUpdate u = base;
    u.signature.fill(0);
    CHECK(update_signing_bytes(u) == signed_bytes);
    std::vector<MemberUpdate> changed(6, base);
    changed[0].incarnation += 1;
    changed[1].id.bytes[3] ^= 1;
    changed[2].public_key[0] ^= 1;
    changed[3].status = base.status == MemberStatus::alive ? MemberStatus::left : MemberStatus::alive;
    changed[4].instance += 1;
    changed[5].hostname = "other";
    if (base.status == MemberStatus::alive) {
      changed.push_back(base);
      changed.back().alt_endpoints.at[1].port += 1;
      changed.push_back(base);
      changed.back().capability_digest ^= 1;
      changed.push_back(base);
      changed.back().fingerprint_digest ^= 1;
      changed.push_back(base);
      changed.back().address.ipv4 ^= 1;
    }
    for (size_t i = 0; i < changed.size(); ++i) {
      const bool meaningful = base.status == MemberStatus::alive || (i != 4 && i != 5);
      if (!meaningful) continue;  // a left update carries no instance or hostname
      INFO("field " << i);
      CHECK(update_signing_bytes(changed[i]) != signed_bytes);
    }
  }
}

TEST_CASE("swim wire: the encoder honours a smaller datagram limit", "[membership][wire]") {
  std::vector<MemberUpdate> mixed;
  for (int i = 0; i < 30; ++i) {
    mixed.push_back(i % 3 == 0 ? multi_homed(static_cast<uint8_t>(i))
                               : other(static_cast<uint8_t>(i), i % 3 == 1 ? MemberStatus::suspect : MemberStatus::left));
  }
  SwimMessage m;
  m.type = SwimType::ping_req;
  m.sender = id_of(1);
  for (size_t limit : {kSwimDatagramBytesMin, size_t{1330}, kDatagramBytesMax}) {
    INFO("limit " << limit);
    size_t offset = 0, chunks = 0;
    while (offset < mixed.size()) {
      size_t written = 0;
      const auto bytes = encode(m, std::span(mixed).subspan(offset), &written, limit);
      CHECK(bytes.size() <= limit);
      REQUIRE(written > 0);  // the largest update always fits
      // Full: the next update would not have fitted.
      if (offset + written < mixed.size()) CHECK(bytes.size() + encoded_update_bytes(mixed[offset + written]) > limit);
      offset += written;
      ++chunks;
    }
    CHECK(chunks >= 2);
  }
}
