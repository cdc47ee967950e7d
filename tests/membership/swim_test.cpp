// SwimMember stepped by hand: Lifeguard formulas, probing, suspicion,
// confirmations, refutation, local health, leave.
#include <catch2/catch.hpp>

#include <algorithm>

#include "core/membership/swim.h"
#include "tests/membership/swim_member_util.h"

using namespace meshd;
using namespace meshd::membership;
using namespace meshd::membership::test;

namespace {
MemberUpdate suspect(size_t n, uint64_t inc, size_t origin) {
  MemberUpdate u;
  u.id = id_of(n);
  u.incarnation = inc;
  u.status = MemberStatus::suspect;
  u.origin = id_of(origin);
  return u;
}
// A gossip datagram from node `from` carrying `updates`.
std::vector<uint8_t> gossip(size_t from, std::vector<MemberUpdate> updates) {
  SwimMessage m;
  m.type = SwimType::gossip;
  m.sender = id_of(from);
  m.updates = std::move(updates);
  return encode(m);
}
std::vector<SwimMessage> decoded(const SwimOutput& out) {
  std::vector<SwimMessage> v;
  for (const auto& d : out.send) {
    SwimDrop why;
    auto m = decode_swim(d.bytes, &why);
    REQUIRE(m.has_value());
    v.push_back(*m);
  }
  return v;
}
}  // namespace

TEST_CASE("suspicion timeout: memberlist's formula, in integers", "[membership][lifeguard]") {
  // n = 32: min = 4 * log10(32) * 1 s = 6.0206 s, max = 6 * min, K = 2.
  const auto b = suspicion_bounds(4, 6, 1'000'000, 32);
  CHECK(b.expected_confirmations == 2);
  CHECK(b.min_us == Approx(6'020'600).margin(500));
  CHECK(b.max_us == 6 * b.min_us);
  CHECK(suspicion_timeout_us(b, 0) == b.max_us);
  // max - (max - min) * log(2) / log(3)
  CHECK(suspicion_timeout_us(b, 1) == Approx(36'123'600 - 30'103'000 * 0.6309298).margin(2'000));
  CHECK(suspicion_timeout_us(b, 2) == b.min_us);
  CHECK(suspicion_timeout_us(b, 9) == b.min_us);
  // Small meshes: the log10 floor is 1, and with fewer than K + 2 nodes
  // nobody can confirm, so the timeout is the minimum at once.
  const auto five = suspicion_bounds(4, 6, 1'000'000, 5);
  CHECK(five.min_us == 4'000'000);
  CHECK(five.expected_confirmations == 2);
  const auto three = suspicion_bounds(4, 6, 1'000'000, 3);
  CHECK(three.expected_confirmations == 0);
  CHECK(suspicion_timeout_us(three, 0) == 4'000'000);
  // n = 1000: log10 = 3.
  CHECK(suspicion_bounds(4, 6, 1'000'000, 1000).min_us == Approx(12'000'000).margin(1'000));
  CHECK(log2_q16(1) == 0);
  CHECK(log2_q16(2) == 65536);
  CHECK(log2_q16(1024) == 10 * 65536);
  CHECK(static_cast<double>(log2_q16(10)) / 65536 == Approx(3.321928).margin(1e-4));
}

TEST_CASE("retransmit limit and push-pull scale follow memberlist", "[membership][lifeguard]") {
  CHECK(retransmit_limit(4, 1) == 4);
  CHECK(retransmit_limit(4, 9) == 4);
  CHECK(retransmit_limit(4, 10) == 8);
  CHECK(retransmit_limit(4, 99) == 8);
  CHECK(retransmit_limit(4, 100) == 12);
  CHECK(retransmit_limit(4, 1000) == 16);
  // memberlist's pushPullScale: 1 up to 32 nodes, then ceil(log2 n - 5) + 1.
  CHECK(push_pull_scale(1) == 1);
  CHECK(push_pull_scale(32) == 1);
  CHECK(push_pull_scale(33) == 2);
  CHECK(push_pull_scale(64) == 2);
  CHECK(push_pull_scale(65) == 3);
  CHECK(push_pull_scale(1000) == 6);
}

TEST_CASE("swim: a silent member is pinged, ping-req'd, suspected, then failed",
          "[membership][swim]") {
  // memberlist's timing (the suspicion lasts exactly its timeout), then
  // ours: the timeout stretched by our own health at expiry.
  for (const bool scaled : {false, true}) {
  INFO("health_scales_suspicion " << scaled);
  SwimConfig c;
  c.health_scales_suspicion = scaled;
  SwimMember a = make(1, c);
  SwimOutput out;
  REQUIRE(a.on_datagram(0, addr_of(2), gossip(2, {alive(2), alive(3)}), out) == SwimDrop::none);
  CHECK(has_event(out, 2, MemberEventKind::joined));
  CHECK(has_event(out, 3, MemberEventKind::joined));
  CHECK(a.table().count_active() == 3);

  // The first probe: a ping to one of the two (gossip ticks may come first).
  std::optional<SwimMessage> ping;
  Address ping_to;
  REQUIRE(tick_until(a, [&](const SwimOutput& step, int64_t) {
    for (size_t i = 0; i < step.send.size(); ++i) {
      if (swim_type_of(step.send[i].bytes) == SwimType::ping) {
        ping = decoded(step)[i];
        ping_to = step.send[i].to;
      }
    }
    return ping.has_value();
  }));
  const size_t target = ping_to == addr_of(2) ? 2 : 3;
  const size_t helper = 5 - target;
  CHECK(ping->target == id_of(target));

  // No ack: after probe_timeout a ping_req goes to the other member.
  SwimOutput all;
  REQUIRE(tick_until(a, [&](const SwimOutput& step, int64_t) {
    bool saw_req = false;
    for (const auto& d : step.send) {
      if (swim_type_of(d.bytes) == SwimType::ping_req) {
        saw_req = true;
        CHECK(d.to == addr_of(helper));
      }
    }
    return saw_req;
  }));
  all = {};
  CHECK(a.counters().ping_reqs_sent == 1);
  // No ack through the helper either, no nack: suspect at the period's end.
  REQUIRE(tick_until(a, [&](const SwimOutput& step, int64_t) { return has_event(step, target, MemberEventKind::suspect); },
                     &all));
  const int64_t suspected_at = all.events.back().at_us;
  CHECK(a.counters().probes_failed == 1);
  CHECK(a.health() == 1);  // a helper was asked and sent no nack: Lifeguard blames us
  // n = 3 < K + 2: the suspicion lasts exactly min = 4 s.
  REQUIRE(a.suspicion_deadline_us(id_of(target)) == suspected_at + 4'000'000);
  SwimOutput later;
  run_to(a, suspected_at + 3'999'999, later);
  CHECK_FALSE(has_event(later, target, MemberEventKind::failed));
  run_to(a, suspected_at + 4'000'000, later);
  if (!scaled) {
    CHECK(has_event(later, target, MemberEventKind::failed));
  } else {
    // Our probes keep failing (nobody answers): health >= 1 throughout, so
    // the 4 s suspicion waits at least 8 s, at most 4 s x (health_max + 1).
    CHECK_FALSE(has_event(later, target, MemberEventKind::failed));
    CHECK(a.health() >= 1);
    run_to(a, suspected_at + 7'999'999, later);
    CHECK_FALSE(has_event(later, target, MemberEventKind::failed));
    run_to(a, suspected_at + 4'000'000 * (c.health_max + 1), later);
    CHECK(has_event(later, target, MemberEventKind::failed));
  }
  CHECK(a.table().find(id_of(target))->status == MemberStatus::failed);
  // Scaled, the wait is long enough for the silent helper to fail too.
  CHECK(a.counters().declared_failed >= 1);
  if (!scaled) CHECK(a.counters().declared_failed == 1);
  }
}

TEST_CASE("swim: an ack (direct or relayed) ends the probe and lowers health",
          "[membership][swim]") {
  SwimMember a = make(1);
  SwimMember b = make(2);
  SwimOutput out;
  a.on_datagram(0, addr_of(2), gossip(2, {alive(2)}), out);
  b.on_datagram(0, addr_of(1), gossip(1, {alive(1)}), out);
  for (int round = 0; round < 20; ++round) {
    SwimOutput ao;
    a.on_tick(a.next_deadline_us(), ao);
    for (const auto& d : ao.send) {
      if (d.to != addr_of(2)) continue;
      SwimOutput bo;
      CHECK(b.on_datagram(a.next_deadline_us(), addr_of(1), d.bytes, bo) == SwimDrop::none);
      for (const auto& r : bo.send) {
        SwimOutput back;
        CHECK(a.on_datagram(a.next_deadline_us(), addr_of(2), r.bytes, back) == SwimDrop::none);
      }
    }
  }
  CHECK(a.counters().probes > 0);
  CHECK(a.counters().probes_failed == 0);
  CHECK(a.health() == 0);
  CHECK(a.table().find(id_of(2))->status == MemberStatus::alive);
  // An ack nobody asked for is dropped.
  SwimMessage stray;
  stray.type = SwimType::ack;
  stray.sender = id_of(2);
  stray.seq = 999'999;
  SwimOutput o;
  CHECK(a.on_datagram(0, addr_of(2), encode(stray), o) == SwimDrop::unexpected_ack);
}

TEST_CASE("swim: independent confirmations shrink the suspicion timeout", "[membership][lifeguard]") {
  SwimMember a = make(0);
  SwimOutput out;
  std::vector<MemberUpdate> members;
  for (size_t n = 1; n < 32; ++n) members.push_back(alive(n));
  // Four datagrams: an alive update is ~160 bytes here, 8 fit in one.
  for (size_t i = 0; i < members.size(); i += 8) {
    const size_t end = std::min(members.size(), i + 8);
    a.on_datagram(0, addr_of(1), gossip(1, std::vector(members.begin() + static_cast<ptrdiff_t>(i),
                                                    members.begin() + static_cast<ptrdiff_t>(end))), out);
  }
  REQUIRE(a.table().count_active() == 32);
  const auto b = suspicion_bounds(4, 6, 1'000'000, 32);

  const int64_t t = 1'000;
  a.on_datagram(t, addr_of(3), gossip(3, {suspect(9, 1, 3)}), out);
  CHECK(has_event(out, 9, MemberEventKind::suspect));
  CHECK(a.suspicion_deadline_us(id_of(9)) == t + b.max_us);
  // The same origin again is not independent.
  a.on_datagram(t + 10, addr_of(3), gossip(3, {suspect(9, 1, 3)}), out);
  CHECK(a.suspicion_deadline_us(id_of(9)) == t + b.max_us);
  a.on_datagram(t + 20, addr_of(4), gossip(4, {suspect(9, 1, 4)}), out);
  CHECK(a.suspicion_deadline_us(id_of(9)) == t + suspicion_timeout_us(b, 1));
  a.on_datagram(t + 30, addr_of(5), gossip(5, {suspect(9, 1, 5)}), out);
  CHECK(a.suspicion_deadline_us(id_of(9)) == t + b.min_us);
  CHECK(a.counters().confirmations == 2);
  // Refutation by the suspect (alive, higher incarnation) cancels it.
  out = {};
  a.on_datagram(t + 40, addr_of(9), gossip(9, {alive(9, 2)}), out);
  CHECK(has_event(out, 9, MemberEventKind::alive));
  CHECK_FALSE(a.suspicion_deadline_us(id_of(9)).has_value());
  CHECK(a.table().find(id_of(9))->incarnation == 2);
}

TEST_CASE("swim: a suspicion of ourselves is refuted with a higher incarnation",
          "[membership][swim]") {
  SwimMember a = make(1);
  SwimOutput out;
  a.on_datagram(0, addr_of(2), gossip(2, {alive(2)}), out);
  REQUIRE(a.incarnation() == 1);
  a.on_datagram(10, addr_of(2), gossip(2, {suspect(1, 1, 2)}), out);
  CHECK(a.incarnation() == 2);
  CHECK(a.counters().refutations == 1);
  CHECK(a.health() == 1);
  CHECK(a.table().find(id_of(1))->status == MemberStatus::alive);
  // A stale accusation (older incarnation) changes nothing.
  a.on_datagram(20, addr_of(2), gossip(2, {suspect(1, 1, 2)}), out);
  CHECK(a.incarnation() == 2);
  // Being declared failed at our incarnation is refuted too.
  MemberUpdate dead = suspect(1, 2, 2);
  dead.status = MemberStatus::failed;
  a.on_datagram(30, addr_of(2), gossip(2, {dead}), out);
  CHECK(a.incarnation() == 3);
  // The refutation rides on the next message we send.
  SwimMessage ping;
  ping.type = SwimType::ping;
  ping.sender = id_of(2);
  ping.seq = 7;
  ping.target = id_of(1);
  SwimOutput reply;
  REQUIRE(a.on_datagram(40, addr_of(2), encode(ping), reply) == SwimDrop::none);
  auto msgs = decoded(reply);
  REQUIRE(msgs.size() == 1);
  CHECK(msgs[0].type == SwimType::ack);
  CHECK(msgs[0].seq == 7);
  bool carries = std::any_of(msgs[0].updates.begin(), msgs[0].updates.end(), [](const MemberUpdate& u) {
    return u.id == id_of(1) && u.status == MemberStatus::alive && u.incarnation == 3;
  });
  CHECK(carries);
  // A ping meant for another node (stale address) is not answered.
  ping.target = id_of(8);
  SwimOutput none;
  CHECK(a.on_datagram(50, addr_of(2), encode(ping), none) == SwimDrop::not_for_us);
  CHECK(none.send.empty());
}

TEST_CASE("swim: local health stretches the probe timeout", "[membership][lifeguard]") {
  SwimConfig c;
  c.indirect_probes = 0;  // every failed probe costs one health point
  SwimMember a = make(1, c);
  SwimOutput out;
  a.on_datagram(0, addr_of(2), gossip(2, {alive(2)}), out);
  // Keep member 2 alive by refreshing its incarnation after each suspicion.
  uint64_t inc = 1;
  for (int probe = 0; probe < 12; ++probe) {
    SwimOutput o;
    const uint64_t failed_before = a.counters().probes_failed;
    REQUIRE(tick_until(a, [&](const SwimOutput&, int64_t) { return a.counters().probes_failed != failed_before; }));
    a.on_datagram(a.next_deadline_us(), addr_of(2), gossip(2, {alive(2, ++inc)}), o);
  }
  CHECK(a.health() == c.health_max);
  // The next probe waits (health + 1) times longer for its ack.
  int64_t ping_at = -1;
  REQUIRE(tick_until(a, [&](const SwimOutput& step, int64_t t) {
    for (const auto& d : step.send) {
      if (swim_type_of(d.bytes) == SwimType::ping) ping_at = t;
    }
    return ping_at >= 0;
  }));
  const uint64_t failed_before = a.counters().probes_failed;
  int64_t failed_at = -1;
  REQUIRE(tick_until(a, [&](const SwimOutput&, int64_t t) {
    if (a.counters().probes_failed != failed_before) failed_at = t;
    return failed_at >= 0;
  }));
  CHECK(failed_at - ping_at == (c.health_max + 1) * c.protocol_period_us);
}

TEST_CASE("swim: leave gossips `left`, stops probing, and drains", "[membership][swim]") {
  SwimMember a = make(1);
  SwimOutput out;
  a.on_datagram(0, addr_of(2), gossip(2, {alive(2), alive(3)}), out);
  out = {};
  a.leave(100, out);
  CHECK(a.leaving());
  REQUIRE_FALSE(out.send.empty());
  auto msgs = decoded(out);
  bool told = std::any_of(msgs[0].updates.begin(), msgs[0].updates.end(), [](const MemberUpdate& u) {
    return u.id == id_of(1) && u.status == MemberStatus::left;
  });
  CHECK(told);
  // Accusations no longer trigger refutation: leaving is final for this incarnation.
  a.on_datagram(200, addr_of(2), gossip(2, {suspect(1, 1, 2)}), out);
  CHECK(a.incarnation() == 1);
  SwimOutput rest;
  run_to(a, 10'000'000, rest);
  for (const auto& d : rest.send) CHECK(swim_type_of(d.bytes) == SwimType::gossip);
  CHECK(a.leave_drained());
}

TEST_CASE("swim: a known key announced from another host raises fingerprint_drift", "[membership][swim]") {
  SwimMember a = make(1);
  auto with = [](uint64_t inc, uint64_t fingerprint, uint8_t key) {
    MemberUpdate u = alive(2, inc);
    u.public_key[0] = key;
    u.fingerprint_digest = fingerprint;
    return u;
  };
  SwimOutput out;
  REQUIRE(a.on_datagram(0, addr_of(2), gossip(2, {with(1, 0xaaaa, 7)}), out) == SwimDrop::none);
  CHECK(out.drifts.empty());
  CHECK(a.table().find(id_of(2))->fingerprint_digest == 0xaaaa);

  // Same host at a higher incarnation (a restart): nothing to report.
  out = {};
  a.on_datagram(1, addr_of(2), gossip(2, {with(2, 0xaaaa, 7)}), out);
  CHECK(out.drifts.empty());
  // A stale announcement from another host (lower incarnation): ignored.
  a.on_datagram(2, addr_of(2), gossip(2, {with(1, 0xbbbb, 7)}), out);
  CHECK(out.drifts.empty());

  // The same key from another host, newer: drift, reported once; the
  // member stays alive and its entry now carries the new digest.
  out = {};
  a.on_datagram(3, addr_of(2), gossip(2, {with(3, 0xbbbb, 7)}), out);
  REQUIRE(out.drifts.size() == 1);
  CHECK(out.drifts[0].id == id_of(2));
  CHECK(out.drifts[0].old_digest == 0xaaaa);
  CHECK(out.drifts[0].new_digest == 0xbbbb);
  CHECK(a.counters().fingerprint_drifts == 1);
  CHECK(a.table().find(id_of(2))->status == MemberStatus::alive);
  CHECK(a.table().find(id_of(2))->fingerprint_digest == 0xbbbb);
  out = {};
  a.on_datagram(4, addr_of(2), gossip(2, {with(3, 0xbbbb, 7)}), out);  // a duplicate
  CHECK(out.drifts.empty());

  // An unknown digest (0) is never a drift.
  a.on_datagram(5, addr_of(2), gossip(2, {with(4, 0, 7)}), out);
  CHECK(out.drifts.empty());
}
