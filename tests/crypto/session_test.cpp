// Session and PeerSessions: seal/open, replay, tampering, rekey policy.
#include <catch2/catch.hpp>

#include <vector>

#include "core/crypto/peer_sessions.h"
#include "core/crypto/session.h"

using namespace meshd;
using namespace meshd::crypto;
using wire::DropReason;

namespace {

SessionKeys keys(uint8_t a, uint8_t b) {
  SessionKeys k;
  k.send.fill(a);
  k.receive.fill(b);
  return k;
}

wire::PacketHeader base_header() {
  wire::PacketHeader h;
  h.hop_limit = 4;
  h.source.bytes.fill(1);
  h.destination.bytes.fill(2);
  return h;
}

struct Link {
  SessionConfig config;
  Session alice{keys(1, 2), 10, 20, true, 0, config};
  Session bob{keys(2, 1), 20, 10, false, 0, config};
};

std::vector<uint8_t> seal(Session& s, std::string_view text, int64_t now_us = 0) {
  std::vector<uint8_t> out(text.size() + kSealOverheadBytes);
  auto n = s.seal(base_header(), std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()), out,
                  now_us);
  REQUIRE(n);
  out.resize(*n);
  return out;
}

DropReason open(Session& s, const std::vector<uint8_t>& datagram, std::string* text = nullptr,
                int64_t now_us = 0) {
  const auto d = wire::decode_packet(datagram);
  if (!d.ok()) return d.drop;
  std::vector<uint8_t> out(d.payload.size());
  size_t n = 0;
  const DropReason r = s.open(d, out, n, now_us);
  if (text != nullptr) text->assign(out.begin(), out.begin() + static_cast<long>(n));
  return r;
}

// A PeerSessions open of a datagram that decodes (the tests below seal it).
DropReason open(PeerSessions& p, const std::vector<uint8_t>& datagram, int64_t now_us) {
  const auto d = wire::decode_packet(datagram);
  REQUIRE(d.ok());
  std::vector<uint8_t> out(datagram.size());
  size_t n = 0;
  return p.open(d, out, n, now_us);
}

}  // namespace

TEST_CASE("session: seal/open round trip, counters advance", "[crypto][session]") {
  Link l;
  const auto p0 = seal(l.alice, "hello");
  const auto p1 = seal(l.alice, "world");
  std::string text;
  CHECK(open(l.bob, p1, &text) == DropReason::none);  // out of order is fine
  CHECK(text == "world");
  CHECK(open(l.bob, p0, &text) == DropReason::none);
  CHECK(text == "hello");
  CHECK(l.alice.sent_count() == 2);
  const auto d = wire::decode_packet(p1);
  CHECK(d.header.counter == 1);
  CHECK(d.header.session_id == 20);
  CHECK(d.header.type == wire::PacketType::transport);
}

TEST_CASE("session: replays are dropped as replay", "[crypto][session]") {
  Link l;
  const auto p = seal(l.alice, "once");
  CHECK(open(l.bob, p) == DropReason::none);
  CHECK(open(l.bob, p) == DropReason::replay);
}

TEST_CASE("session: a forged packet does not consume its counter", "[crypto][session]") {
  Link l;
  auto p = seal(l.alice, "payload");
  auto forged = p;
  forged.back() ^= 1;
  CHECK(open(l.bob, forged) == DropReason::auth_failure);
  CHECK(open(l.bob, p) == DropReason::none);  // the genuine one still opens
}

TEST_CASE("session: every header byte but hop_count is authenticated", "[crypto][session]") {
  for (size_t i = 0; i < wire::kHeaderBytes; ++i) {
    Link l;
    auto p = seal(l.alice, "x");
    auto q = p;
    q[i] ^= 0x01;
    const DropReason r = open(l.bob, q);
    CAPTURE(i);
    if (i == wire::kHopCountOffset) {
      CHECK(r == DropReason::none);  // relays may increment it
    } else {
      CHECK(r != DropReason::none);
    }
  }
}

TEST_CASE("session: wrong session index and expired sessions are unknown_session", "[crypto][session]") {
  Link l;
  auto p = seal(l.alice, "x");
  Session other(keys(2, 1), 21, 10, false, 0, l.config);
  CHECK(open(other, p) == DropReason::unknown_session);
  CHECK(open(l.bob, p, nullptr, l.config.reject_after_us) == DropReason::unknown_session);
  std::vector<uint8_t> out(100);
  CHECK(l.alice.seal(base_header(), {}, out, l.config.reject_after_us).code() == Errc::closed);
}

TEST_CASE("session: rekey policy by time and by message count", "[crypto][session]") {
  SessionConfig c;
  c.rekey_after_messages = 3;
  Session s(keys(1, 2), 1, 2, true, 1000, c);
  CHECK_FALSE(s.needs_rekey(1000));
  CHECK(s.needs_rekey(1000 + c.rekey_after_us));
  for (int i = 0; i < 3; ++i) seal(s, "m", 1000);
  CHECK(s.needs_rekey(1000));
  CHECK_FALSE(s.expired(1000));
}

TEST_CASE("peer sessions: responder session waits for confirmation; previous opens briefly",
          "[crypto][session]") {
  SessionConfig c;
  PeerSessions alice(c), bob(c);
  // First handshake: alice initiated (index 10), bob responded (index 20).
  alice.install_confirmed(Session(keys(1, 2), 10, 20, true, 0, c), 0);
  bob.install_unconfirmed(Session(keys(2, 1), 20, 10, false, 0, c));
  CHECK(bob.sending(0) == nullptr);  // not confirmed yet
  auto p = seal(*alice.sending(0), "first");
  auto d = wire::decode_packet(p);
  std::vector<uint8_t> out(p.size());
  size_t n = 0;
  REQUIRE(bob.open(d, out, n, 0) == DropReason::none);
  REQUIRE(bob.sending(0) != nullptr);
  CHECK(bob.sending(0)->local_index() == 20);

  // Rekey: alice initiates a new session (index 11 <-> 21).
  auto in_flight = seal(*alice.sending(0), "old");
  alice.install_confirmed(Session(keys(3, 4), 11, 21, true, 100, c), 100);
  bob.install_unconfirmed(Session(keys(4, 3), 21, 11, false, 100, c));
  auto fresh = seal(*alice.sending(100), "new");
  d = wire::decode_packet(fresh);
  REQUIRE(bob.open(d, out, n, 100) == DropReason::none);
  CHECK(bob.current()->local_index() == 21);
  REQUIRE(bob.previous());
  d = wire::decode_packet(in_flight);
  CHECK(bob.open(d, out, n, 200) == DropReason::none);  // previous still opens
  bob.expire(100 + c.previous_keep_us);
  CHECK_FALSE(bob.previous());
  d = wire::decode_packet(in_flight);
  CHECK(bob.open(d, out, n, 100 + c.previous_keep_us) == DropReason::unknown_session);
}

// PeerSessions enforce their own deadlines: open() refuses the previous
// session after its grace and sending() refuses an expired session even
// when expire() has not run yet (a late timer). In the simulator the timer
// always purges at the deadline, so only these tests can see the checks
// (docs/testbed-power.md, mutations peer-sessions-previous-forever and
// peer-sessions-send-expired).

TEST_CASE("peer sessions: the previous session stops opening at its grace even before expire() runs",
          "[crypto][session]") {
  SessionConfig c;
  PeerSessions alice(c), bob(c);
  alice.install_confirmed(Session(keys(1, 2), 10, 20, true, 0, c), 0);
  bob.install_unconfirmed(Session(keys(2, 1), 20, 10, false, 0, c));
  REQUIRE(open(bob, seal(*alice.sending(0), "hi", 0), 0) == DropReason::none);
  const auto late_a = seal(*alice.sending(0), "hi", 0);
  const auto late_b = seal(*alice.sending(0), "hi", 0);
  // Rekey at t=100: bob's first session becomes previous once the new one opens.
  alice.install_confirmed(Session(keys(3, 4), 11, 21, true, 100, c), 100);
  bob.install_unconfirmed(Session(keys(4, 3), 21, 11, false, 100, c));
  REQUIRE(open(bob, seal(*alice.sending(100), "hi", 100), 100) == DropReason::none);
  REQUIRE(bob.previous());
  CHECK(open(bob, late_a, 100 + c.previous_keep_us - 1) == DropReason::none);
  // No expire() in between: open() itself must refuse.
  CHECK(open(bob, late_b, 100 + c.previous_keep_us) == DropReason::unknown_session);
}

TEST_CASE("peer sessions: an expired session is never handed out for sending, even before expire() runs",
          "[crypto][session]") {
  SessionConfig c;
  PeerSessions alice(c);
  alice.install_confirmed(Session(keys(1, 2), 10, 20, true, 0, c), 0);
  CHECK(alice.sending(c.reject_after_us - 1) != nullptr);
  CHECK(alice.sending(c.reject_after_us) == nullptr);
}
