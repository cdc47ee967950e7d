// MAC1/MAC2 cookies and the handshake rate limiter.
#include <catch2/catch.hpp>

#include <vector>

#include "core/crypto/cookie.h"

using namespace meshd;
using namespace meshd::crypto;

namespace {
Psk psk_of(uint8_t v) {
  Psk p{};
  p.fill(v);
  return p;
}
RandomStream stream(uint8_t v) {
  Key32 k{};
  k.fill(v);
  return RandomStream(k);
}
}  // namespace

TEST_CASE("cookie: mac1 binds the PSK and the message", "[crypto][cookie]") {
  auto rng = stream(1);
  CookieChecker checker(psk_of(1), rng);
  const std::vector<uint8_t> msg{1, 2, 3, 4};
  CHECK(checker.mac1_valid(msg, compute_mac1(psk_of(1), msg)));
  CHECK_FALSE(checker.mac1_valid(msg, compute_mac1(psk_of(2), msg)));
  auto other = msg;
  other[0] ^= 1;
  CHECK_FALSE(checker.mac1_valid(other, compute_mac1(psk_of(1), msg)));
}

TEST_CASE("cookie: reply -> jar -> mac2 round trip, bound to the address", "[crypto][cookie]") {
  auto rng = stream(2);
  CookieChecker checker(psk_of(1), rng);
  CookieJar jar(psk_of(1));
  const Address from{0x0a000001, 4000};
  const std::vector<uint8_t> msg{9, 9, 9};
  auto first = jar.macs_for(msg, 0);
  CHECK_FALSE(first.has_cookie);
  CHECK_FALSE(checker.mac2_valid(msg, first.mac1, first.mac2, from, 0));
  const CookieReply reply = checker.make_reply(from, first.mac1, 0);
  REQUIRE(jar.consume_reply(reply, 10));
  auto second = jar.macs_for(msg, 20);
  REQUIRE(second.has_cookie);
  CHECK(checker.mac2_valid(msg, second.mac1, second.mac2, from, 30));
  CHECK_FALSE(checker.mac2_valid(msg, second.mac1, second.mac2, Address{0x0a000002, 4000}, 30));
  // Still valid after one rotation (previous secret), not after two.
  CHECK(checker.mac2_valid(msg, second.mac1, second.mac2, from, kCookieSecretRotationUs + 1));
  CHECK_FALSE(checker.mac2_valid(msg, second.mac1, second.mac2, from, 3 * kCookieSecretRotationUs));
  // The initiator stops using a stale cookie on its own.
  CHECK_FALSE(jar.macs_for(msg, 10 + kCookieLifetimeUs).has_cookie);
}

TEST_CASE("cookie: a reply for another mac1 or with another PSK is rejected", "[crypto][cookie]") {
  auto rng = stream(3);
  CookieChecker checker(psk_of(1), rng);
  CookieJar jar(psk_of(1));
  CHECK(jar.consume_reply(CookieReply{}, 0).code() == Errc::invalid);  // nothing sent yet
  const std::vector<uint8_t> msg{1};
  jar.macs_for(msg, 0);
  Mac wrong{};
  CHECK(jar.consume_reply(checker.make_reply(Address{1, 1}, wrong, 0), 0).code() == Errc::corrupt);
  CookieChecker stranger(psk_of(7), rng);
  auto m = jar.macs_for(msg, 0);
  CHECK(jar.consume_reply(stranger.make_reply(Address{1, 1}, m.mac1, 0), 0).code() == Errc::corrupt);
  CookieReply flipped = checker.make_reply(Address{1, 1}, m.mac1, 0);
  flipped[30] ^= 1;
  CHECK(jar.consume_reply(flipped, 0).code() == Errc::corrupt);
  CHECK(jar.consume_reply(std::span(flipped).first(10), 0).code() == Errc::invalid);
}

TEST_CASE("cookie: rate limiter goes under load past the rate and recovers", "[crypto][cookie]") {
  HandshakeRateLimiter limiter(/*rate_per_s=*/10, /*burst=*/5);
  int64_t now = 1000;
  for (int i = 0; i < 5; ++i) CHECK(limiter.take(now));
  CHECK_FALSE(limiter.take(now));
  CHECK(limiter.under_load(now));
  now += kMicrosPerSecond / 10;  // one token
  CHECK(limiter.take(now));
  CHECK_FALSE(limiter.take(now));
  now += 10 * kMicrosPerSecond;  // refills to the burst, not beyond
  CHECK_FALSE(limiter.under_load(now));
  for (int i = 0; i < 5; ++i) CHECK(limiter.take(now));
  CHECK_FALSE(limiter.take(now));
}
