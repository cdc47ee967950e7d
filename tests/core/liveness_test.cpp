#include <catch2/catch.hpp>

#include "core/membership/liveness.h"

using namespace meshd;
using namespace meshd::membership;

namespace {
const Address kA{0x0a000001, 7000};
const Address kB{0x0a000002, 7000};

LivenessTracker make(uint64_t incarnation, Address peer, int64_t now_us) {
  LivenessConfig c;
  c.ping_interval_ms = 100;
  c.ping_jitter_percent = 0;
  c.down_after_ms = 300;
  return LivenessTracker(c, {PeerSpec{"peer", peer}}, incarnation,
                         Random::from_seed(1).stream("t", "j"), now_us);
}
}  // namespace

TEST_CASE("liveness wire: round trip and every rejection reason", "[liveness]") {
  LivenessMessage m{LivenessType::ack, 77, 123456789};
  auto bytes = encode(m);
  LivenessDrop why = LivenessDrop::none;
  auto back = decode(bytes, &why);
  REQUIRE(back.has_value());
  CHECK(*back == m);

  auto bad = bytes;
  bad[0] = 0;
  CHECK_FALSE(decode(bad, &why));
  CHECK(why == LivenessDrop::bad_magic);
  bad = bytes;
  bad[2] = 9;
  CHECK_FALSE(decode(bad, &why));
  CHECK(why == LivenessDrop::bad_version);
  bad = bytes;
  bad[3] = 3;
  CHECK_FALSE(decode(bad, &why));
  CHECK(why == LivenessDrop::unknown_type);
  CHECK_FALSE(decode(std::span(bytes.data(), 10), &why));
  CHECK(why == LivenessDrop::truncated);
  std::vector<uint8_t> longer(bytes.begin(), bytes.end());
  longer.push_back(0);
  CHECK_FALSE(decode(longer, &why));
  CHECK(why == LivenessDrop::bad_length);
}

TEST_CASE("liveness: ping, ack, up, RTT, then down after silence", "[liveness]") {
  int64_t now = 0;
  auto a = make(1, kB, now);
  auto b = make(5, kA, now);
  LivenessOutput out;
  a.on_tick(now, out);
  REQUIRE(out.send.size() == 1);
  CHECK(out.send[0].to == kB);

  LivenessOutput bout;
  now += 2000;  // 2 ms one way
  REQUIRE(b.on_datagram(now, kA, out.send[0].bytes, bout) == LivenessDrop::none);
  REQUIRE(bout.send.size() == 1);  // the ACK
  CHECK(bout.send[0].to == kA);

  LivenessOutput aout;
  now += 2000;
  REQUIRE(a.on_datagram(now, kB, bout.send[0].bytes, aout) == LivenessDrop::none);
  REQUIRE(aout.changes.size() == 1);
  CHECK(aout.changes[0].to == PeerState::up);
  CHECK(a.peers()[0].srtt_us == 4000);
  CHECK(a.peers()[0].incarnation == 5);

  // The same ACK again is a duplicate: rejected, no state change.
  LivenessOutput dup;
  CHECK(a.on_datagram(now, kB, bout.send[0].bytes, dup) == LivenessDrop::unexpected_ack);

  // Silence: down exactly down_after_ms after the last ACK, not before.
  LivenessOutput quiet;
  a.on_tick(now + 299'999, quiet);
  CHECK(quiet.changes.empty());
  CHECK(a.next_deadline_us() <= now + 300'000);
  a.on_tick(now + 300'000, quiet);
  REQUIRE(quiet.changes.size() == 1);
  CHECK(quiet.changes[0].to == PeerState::down);
  CHECK(a.peers()[0].transitions == 2);
}

TEST_CASE("liveness: a spoofed ACK for a seq never sent does not raise a peer", "[liveness]") {
  auto a = make(1, kB, 0);
  LivenessOutput out;
  auto forged = encode({LivenessType::ack, 9, 424242});
  CHECK(a.on_datagram(10, kB, forged, out) == LivenessDrop::unexpected_ack);
  CHECK(a.peers()[0].state == PeerState::unknown);
  // An ACK from an address that is not a peer.
  CHECK(a.on_datagram(10, Address{1, 1}, forged, out) == LivenessDrop::unknown_peer);
}

TEST_CASE("liveness: a higher incarnation is reported as a restart", "[liveness]") {
  auto a = make(1, kB, 0);
  LivenessOutput out;
  CHECK(a.on_datagram(0, kB, encode({LivenessType::ping, 3, 1}), out) == LivenessDrop::none);
  CHECK(out.restarted.empty());  // first contact is not a restart
  CHECK(a.on_datagram(0, kB, encode({LivenessType::ping, 4, 2}), out) == LivenessDrop::none);
  CHECK(out.restarted.size() == 1);
  CHECK(a.peers()[0].restarts_seen == 1);
}

TEST_CASE("liveness: a never-heard peer goes down after down_after_ms", "[liveness]") {
  auto a = make(1, kB, 1000);
  LivenessOutput out;
  a.on_tick(1000, out);
  a.on_tick(1000 + 300'000, out);
  REQUIRE_FALSE(out.changes.empty());
  CHECK(out.changes.back().from == PeerState::unknown);
  CHECK(out.changes.back().to == PeerState::down);
}

TEST_CASE("liveness: ping jitter stays within the configured spread", "[liveness]") {
  LivenessConfig c;
  c.ping_interval_ms = 1000;
  c.ping_jitter_percent = 10;
  c.down_after_ms = 1'000'000;
  LivenessTracker t(c, {PeerSpec{"p", kB}}, 1, Random::from_seed(3).stream("t", "j"), 0);
  int64_t now = 0;
  int64_t lo = INT64_MAX, hi = 0;
  for (int i = 0; i < 200; ++i) {
    LivenessOutput out;
    t.on_tick(now, out);
    REQUIRE(out.send.size() == 1);
    const int64_t gap = t.next_deadline_us() - now;
    lo = std::min(lo, gap);
    hi = std::max(hi, gap);
    now = t.next_deadline_us();
  }
  CHECK(lo >= 900'000);
  CHECK(hi <= 1'100'000);
  CHECK(hi - lo > 100'000);  // it really jitters
}
