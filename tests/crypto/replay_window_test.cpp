// ReplayWindow: WireGuard-style sliding anti-replay window.
#include <catch2/catch.hpp>

#include "core/crypto/replay_window.h"

using namespace meshd::crypto;

namespace {
bool accept(ReplayWindow& w, uint64_t c) {
  if (!w.check(c)) return false;
  w.commit(c);
  return true;
}
}  // namespace

TEST_CASE("replay: window is at least 2048 packets", "[crypto][replay]") {
  STATIC_REQUIRE(kReplayWindowPackets >= 2048);
}

TEST_CASE("replay: in-order, duplicates and out-of-order", "[crypto][replay]") {
  ReplayWindow w;
  CHECK_FALSE(w.has_any());
  CHECK(accept(w, 0));
  CHECK_FALSE(accept(w, 0));
  CHECK(accept(w, 1));
  CHECK(accept(w, 5));
  CHECK(accept(w, 3));
  CHECK_FALSE(accept(w, 3));
  CHECK(accept(w, 2));
  CHECK(accept(w, 4));
  CHECK_FALSE(accept(w, 5));
  CHECK(w.highest() == 5);
}

TEST_CASE("replay: check does not mutate; only commit does", "[crypto][replay]") {
  ReplayWindow w;
  CHECK(w.check(100));
  CHECK(w.check(100));  // a forged packet that fails AEAD is never committed
  CHECK_FALSE(w.has_any());
  w.commit(100);
  CHECK_FALSE(w.check(100));
}

TEST_CASE("replay: UINT64_MAX is always rejected", "[crypto][replay]") {
  ReplayWindow w;
  CHECK_FALSE(w.check(UINT64_MAX));
  CHECK(accept(w, UINT64_MAX - 1));
  CHECK_FALSE(w.check(UINT64_MAX));
  CHECK_FALSE(w.check(UINT64_MAX - 1));
}

TEST_CASE("replay: exact window edge", "[crypto][replay]") {
  ReplayWindow w;
  const uint64_t top = 100000;
  CHECK(accept(w, top));
  // Oldest acceptable counter is top - kReplayWindowPackets.
  CHECK(w.check(top - kReplayWindowPackets));
  CHECK_FALSE(w.check(top - kReplayWindowPackets - 1));
  CHECK(accept(w, top - kReplayWindowPackets));
  CHECK(accept(w, top - 2048));
  CHECK_FALSE(w.check(0));
}

TEST_CASE("replay: a large jump forgets the old bitmap but not the floor", "[crypto][replay]") {
  ReplayWindow w;
  for (uint64_t c = 0; c < 5000; ++c) REQUIRE(accept(w, c));
  CHECK(accept(w, 1000000));
  CHECK_FALSE(w.check(4999));  // too old now
  CHECK(accept(w, 1000000 - 1));
  CHECK(accept(w, 1000000 - kReplayWindowPackets));
  CHECK_FALSE(accept(w, 1000000 - 1));
  // Bits from before the jump must not leak into the recycled words.
  CHECK(accept(w, 1000000 + 64 * 3 + 1));
  CHECK(accept(w, 1000000 + 64 * 2));
}
