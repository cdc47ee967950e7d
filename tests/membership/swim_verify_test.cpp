// Our two departures from memberlist that keep a live member from being
// declared failed (docs/membership.md, "Beyond memberlist"):
//  * stale_view_repair — a sender still accusing an incarnation of ours we
//    already refuted gets our current alive straight back;
//  * suspicion_verify_pings — a suspicion we hold pings its suspect in its
//    last periods (and once more if its deadline jumped past), so a live
//    suspect can answer with its refutation before we declare it failed.
// SwimMember stepped by hand.
#include <catch2/catch.hpp>

#include <algorithm>

#include "core/membership/swim.h"
#include "tests/membership/swim_member_util.h"

using namespace meshd;
using namespace meshd::membership;
using namespace meshd::membership::test;

namespace {
MemberUpdate accusation(size_t n, uint64_t inc, size_t origin, MemberStatus status = MemberStatus::suspect) {
  MemberUpdate u;
  u.id = id_of(n);
  u.incarnation = inc;
  u.status = status;
  u.origin = id_of(origin);
  return u;
}
std::vector<uint8_t> message(SwimType type, size_t from, std::vector<MemberUpdate> updates, size_t target = 0) {
  SwimMessage m;
  m.type = type;
  m.sender = id_of(from);
  m.seq = 77;
  m.target = id_of(target);
  m.updates = std::move(updates);
  return encode(m);
}
SwimMessage decoded(const SwimDatagram& d) {
  SwimDrop why;
  auto m = decode_swim(d.bytes, &why);
  REQUIRE(m.has_value());
  return *m;
}
// Datagrams in `out` to `to` of `type`.
std::vector<SwimMessage> sent(const SwimOutput& out, size_t to, SwimType type) {
  std::vector<SwimMessage> v;
  for (const auto& d : out.send) {
    if (d.to == addr_of(to) && swim_type_of(d.bytes) == type) v.push_back(decoded(d));
  }
  return v;
}
}  // namespace

TEST_CASE("swim: a stale accusation is answered with our current alive", "[membership][swim][repair]") {
  for (const bool repair : {true, false}) {
    INFO("stale_view_repair " << repair);
    SwimConfig c;
    c.stale_view_repair = repair;
    SwimMember a = make(1, c);
    SwimOutput out;
    a.on_datagram(0, addr_of(2), message(SwimType::gossip, 2, {alive(2), alive(3)}), out);
    a.on_datagram(10, addr_of(2), message(SwimType::gossip, 2, {accusation(1, 1, 2)}), out);
    REQUIRE(a.incarnation() == 2);  // refuted

    // Node 3 still accuses incarnation 1 (our refutation never reached it).
    out = {};
    a.on_datagram(20, addr_of(3), message(SwimType::gossip, 3, {accusation(1, 1, 3)}), out);
    CHECK(a.incarnation() == 2);  // nothing to refute again
    const auto back = sent(out, 3, SwimType::gossip);
    if (!repair) {
      CHECK(back.empty());
      CHECK(a.counters().stale_view_repairs == 0);
      continue;
    }
    REQUIRE(back.size() == 1);
    REQUIRE_FALSE(back[0].updates.empty());
    CHECK(back[0].updates[0].id == id_of(1));
    CHECK(back[0].updates[0].status == MemberStatus::alive);
    CHECK(back[0].updates[0].incarnation == 2);
    CHECK(a.counters().stale_view_repairs == 1);

    // A stale `failed` verdict is answered the same way; a ping carrying a
    // stale suspicion (buddy system) gets the alive first in its ack, and
    // no extra datagram.
    out = {};
    a.on_datagram(30, addr_of(3), message(SwimType::gossip, 3, {accusation(1, 1, 3, MemberStatus::failed)}), out);
    CHECK(sent(out, 3, SwimType::gossip).size() == 1);
    out = {};
    a.on_datagram(40, addr_of(3), message(SwimType::ping, 3, {accusation(1, 1, 3)}, 1), out);
    REQUIRE(out.send.size() == 1);
    const auto ack = sent(out, 3, SwimType::ack);
    REQUIRE(ack.size() == 1);
    CHECK(ack[0].seq == 77);
    REQUIRE_FALSE(ack[0].updates.empty());
    CHECK(ack[0].updates[0].id == id_of(1));
    CHECK(ack[0].updates[0].incarnation == 2);
    CHECK(a.counters().stale_view_repairs == 3);

    // An old alive of ours is no accusation: nothing goes back.
    out = {};
    a.on_datagram(50, addr_of(3), message(SwimType::gossip, 3, {alive(1, 1)}), out);
    CHECK(out.send.empty());
    CHECK(a.counters().stale_view_repairs == 3);
  }
}

TEST_CASE("swim: a suspicion pings its suspect before it expires; a live suspect's answer ends it",
          "[membership][swim][verify]") {
  SwimConfig c;
  c.health_scales_suspicion = false;  // the deadline stays put while our probes fail
  SwimMember a = make(1, c);
  SwimMember b = make(2, c);
  SwimOutput out;
  a.on_datagram(0, addr_of(3), message(SwimType::gossip, 3, {alive(2), alive(3)}), out);
  b.on_datagram(0, addr_of(3), message(SwimType::gossip, 3, {alive(1), alive(3)}), out);
  const int64_t t = 1'000;
  a.on_datagram(t, addr_of(3), message(SwimType::gossip, 3, {accusation(2, 1, 3)}), out);
  const int64_t deadline = *a.suspicion_deadline_us(id_of(2));
  REQUIRE(deadline == t + 4'000'000);  // n = 3: min = 4 s

  // Nothing before the last two periods; then one ping in each.
  SwimOutput early;
  run_to(a, deadline - 2'000'001, early);
  CHECK(a.counters().suspicion_verify_pings == 0);
  SwimOutput late;
  run_to(a, deadline - 1'000'001, late);
  CHECK(a.counters().suspicion_verify_pings == 1);
  run_to(a, deadline - 1, late);
  CHECK(a.counters().suspicion_verify_pings == 2);

  // The suspect gets one of them: it refutes, and its ack carries that.
  std::optional<SwimDatagram> verify;
  for (const auto& d : late.send) {
    if (d.to != addr_of(2) || swim_type_of(d.bytes) != SwimType::ping) continue;
    const SwimMessage m = decoded(d);
    if (!m.updates.empty() && m.updates[0].id == id_of(2) && m.updates[0].status == MemberStatus::suspect) verify = d;
  }
  REQUIRE(verify.has_value());
  SwimOutput bo;
  REQUIRE(b.on_datagram(deadline - 1, addr_of(1), verify->bytes, bo) == SwimDrop::none);
  CHECK(b.incarnation() == 2);
  const auto ack = sent(bo, 1, SwimType::ack);
  REQUIRE(ack.size() == 1);
  SwimOutput ao;
  CHECK(a.on_datagram(deadline - 1, addr_of(2), bo.send[0].bytes, ao) == SwimDrop::none);  // an expected ack
  CHECK(has_event(ao, 2, MemberEventKind::alive));
  CHECK_FALSE(a.suspicion_deadline_us(id_of(2)).has_value());
  run_to(a, deadline + 1'000'000, ao);
  CHECK_FALSE(has_event(ao, 2, MemberEventKind::failed));
}

TEST_CASE("swim: unanswered verify pings do not delay the verdict", "[membership][swim][verify]") {
  for (const uint32_t pings : {2u, 0u}) {
    INFO("suspicion_verify_pings " << pings);
    SwimConfig c;
    c.health_scales_suspicion = false;
    c.suspicion_verify_pings = pings;
    SwimMember a = make(1, c);
    SwimOutput out;
    a.on_datagram(0, addr_of(3), message(SwimType::gossip, 3, {alive(2), alive(3)}), out);
    a.on_datagram(1'000, addr_of(3), message(SwimType::gossip, 3, {accusation(2, 1, 3)}), out);
    const int64_t deadline = *a.suspicion_deadline_us(id_of(2));
    SwimOutput o;
    run_to(a, deadline - 1, o);
    CHECK_FALSE(has_event(o, 2, MemberEventKind::failed));
    run_to(a, deadline, o);
    CHECK(has_event(o, 2, MemberEventKind::failed));
    CHECK(a.counters().suspicion_verify_pings == pings);
  }
}

TEST_CASE("swim: a deadline that jumps into the past gets one last ping and one more period",
          "[membership][swim][verify]") {
  for (const uint32_t pings : {2u, 0u}) {
    INFO("suspicion_verify_pings " << pings);
    SwimConfig c;
    c.health_scales_suspicion = false;
    c.suspicion_verify_pings = pings;
    SwimMember a = make(0, c);
    SwimOutput out;
    for (size_t i = 1; i < 32; i += 8) {
      std::vector<MemberUpdate> batch;
      for (size_t n = i; n < std::min<size_t>(32, i + 8); ++n) batch.push_back(alive(n));
      a.on_datagram(0, addr_of(1), message(SwimType::gossip, 1, batch), out);
    }
    REQUIRE(a.table().count_active() == 32);
    const auto b = suspicion_bounds(4, 6, 1'000'000, 32);
    const int64_t t = 1'000;
    a.on_datagram(t, addr_of(3), message(SwimType::gossip, 3, {accusation(9, 1, 3)}), out);
    // Two confirmations after `min` has passed: the deadline is now behind us.
    const int64_t late = t + b.min_us + 500'000;
    SwimOutput o;
    run_to(a, late - 1, o);
    const uint64_t pings_before = a.counters().suspicion_verify_pings;
    CHECK(pings_before == 0);  // the 36 s deadline was far away
    a.on_datagram(late, addr_of(4), message(SwimType::gossip, 4, {accusation(9, 1, 4)}), o);
    a.on_datagram(late, addr_of(5), message(SwimType::gossip, 5, {accusation(9, 1, 5)}), o);
    REQUIRE(*a.suspicion_deadline_us(id_of(9)) == t + b.min_us);
    SwimOutput v;
    a.on_tick(late, v);
    if (pings == 0) {
      CHECK(has_event(v, 9, MemberEventKind::failed));  // memberlist: at once
      continue;
    }
    CHECK_FALSE(has_event(v, 9, MemberEventKind::failed));
    CHECK(a.counters().suspicion_verify_pings == 1);
    CHECK(sent(v, 9, SwimType::ping).size() == 1);
    CHECK(*a.suspicion_deadline_us(id_of(9)) == late + c.protocol_period_us);
    run_to(a, late + c.protocol_period_us - 1, v);
    CHECK_FALSE(has_event(v, 9, MemberEventKind::failed));
    run_to(a, late + c.protocol_period_us, v);
    CHECK(has_event(v, 9, MemberEventKind::failed));
    CHECK(a.counters().suspicion_verify_pings == 1);
  }
}
