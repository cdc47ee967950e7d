// PeerSessions enforce their own deadlines: open() refuses the previous
// session after its grace and sending() refuses an expired session even
// when expire() has not run yet (a late timer). In the simulator the timer
// always purges at the deadline, so only these tests can see the checks
// (docs/testbed-power.md, mutations peer-sessions-previous-forever and
// peer-sessions-send-expired).
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
std::vector<uint8_t> seal(Session& s, int64_t now_us) {
  wire::PacketHeader h;
  h.hop_limit = 4;
  h.source.bytes.fill(1);
  h.destination.bytes.fill(2);
  const std::vector<uint8_t> text{'h', 'i'};
  std::vector<uint8_t> out(text.size() + kSealOverheadBytes);
  auto n = s.seal(h, text, out, now_us);
  REQUIRE(n);
  out.resize(*n);
  return out;
}
DropReason open(PeerSessions& p, const std::vector<uint8_t>& datagram, int64_t now_us) {
  const auto d = wire::decode_packet(datagram);
  REQUIRE(d.ok());
  std::vector<uint8_t> out(datagram.size());
  size_t n = 0;
  return p.open(d, out, n, now_us);
}
}  // namespace

TEST_CASE("peer sessions: the previous session stops opening at its grace even before expire() runs",
          "[crypto][session]") {
  SessionConfig c;
  PeerSessions alice(c), bob(c);
  alice.install_confirmed(Session(keys(1, 2), 10, 20, true, 0, c), 0);
  bob.install_unconfirmed(Session(keys(2, 1), 20, 10, false, 0, c));
  REQUIRE(open(bob, seal(*alice.sending(0), 0), 0) == DropReason::none);
  const auto late_a = seal(*alice.sending(0), 0);
  const auto late_b = seal(*alice.sending(0), 0);
  // Rekey at t=100: bob's first session becomes previous once the new one opens.
  alice.install_confirmed(Session(keys(3, 4), 11, 21, true, 100, c), 100);
  bob.install_unconfirmed(Session(keys(4, 3), 21, 11, false, 100, c));
  REQUIRE(open(bob, seal(*alice.sending(100), 100), 100) == DropReason::none);
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
