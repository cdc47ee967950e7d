// SwimMember's identity features stepped by hand: one identity on two
// endpoints under each IdentityPolicy, the re-announce throttle, and
// probing a multi-homed member on its alternate endpoints.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>

#include "core/membership/swim.h"
#include "tests/membership/swim_test_util.h"

using namespace meshd;
using namespace meshd::membership;

namespace {

NodeId id_of(size_t n) {
  NodeId id;
  id.bytes[0] = 0xB7;
  id.bytes[15] = static_cast<uint8_t>(n);
  return id;
}
Address addr_of(size_t n) { return Address{0x0a000000u + static_cast<uint32_t>(n), 7000}; }

SwimConfig fast(IdentityPolicy policy = IdentityPolicy::prefer_newest) {
  SwimConfig c;
  c.protocol_period_us = 200'000;
  c.probe_timeout_us = 80'000;
  c.gossip_interval_us = 50'000;
  c.push_pull_interval_us = 1'000'000;
  c.join_retry_us = 200'000;
  c.identity_policy = policy;
  return c;
}

// Node `n` at address `a` (several may share n: twins).
SwimIdentity identity(size_t n, size_t a, uint64_t instance) {
  SwimIdentity me;
  me.id = id_of(n);
  me.address = addr_of(a);
  me.hostname = "node-" + std::to_string(n);
  me.instance = instance;
  me.incarnation = instance << 20;
  return me;
}

MemberUpdate alive_of(const SwimIdentity& s) { return unsigned_alive(s); }


// A lossless, zero-latency world of SwimMembers keyed by address, stepped
// to each member's next deadline in turn. Deterministic.
struct Mesh {
  std::map<Address, std::unique_ptr<SwimMember>> members;
  int64_t now_us = 0;
  uint64_t delivered = 0;

  SwimMember& add(const SwimConfig& c, const SwimIdentity& self, std::vector<Address> seeds) {
    auto m = std::make_unique<SwimMember>(c, self, std::move(seeds),
                                          Random::from_seed(self.address.ipv4).stream("t", "swim"), now_us);
    SwimMember& ref = *m;
    members[self.address] = std::move(m);
    return ref;
  }
  void deliver(const Address& from, SwimOutput& out) {
    std::vector<std::pair<Address, SwimDatagram>> queue;
    for (auto& d : out.send) queue.emplace_back(from, std::move(d));
    out.send.clear();
    for (size_t i = 0; i < queue.size() && i < 1'000'000; ++i) {
      auto it = members.find(queue[i].second.to);
      if (it == members.end()) continue;
      SwimOutput reply;
      it->second->on_datagram(now_us, queue[i].first, queue[i].second.bytes, reply);
      ++delivered;
      for (auto& d : reply.send) queue.emplace_back(queue[i].second.to, std::move(d));
    }
  }
  void run_until(int64_t until_us) {
    size_t steps = 0;
    for (; steps < 10'000'000; ++steps) {  // a step limit: a regression fails, never hangs
      int64_t next = INT64_MAX;
      for (auto& [a, m] : members) next = std::min(next, m->next_deadline_us());
      if (next > until_us) break;
      now_us = next;
      for (auto& [a, m] : members) {
        if (m->next_deadline_us() > now_us) continue;
        SwimOutput out;
        m->on_tick(now_us, out);
        deliver(a, out);
      }
    }
    REQUIRE(steps < 10'000'000);
    now_us = until_us;
  }
  const Member* view(size_t at, size_t of) const { return members.at(addr_of(at))->table().find(id_of(of)); }
};

}  // namespace

TEST_CASE("swim twins: one identity on two endpoints follows the configured policy",
          "[membership][swim][twins]") {
  // Node 5 runs twice: instance 1 at address 5 (older), instance 2 at
  // address 9 (newer, e.g. a restored copy of its data directory).
  for (IdentityPolicy policy :
       {IdentityPolicy::prefer_newest, IdentityPolicy::prefer_oldest, IdentityPolicy::allow_concurrent}) {
    INFO("policy " << identity_policy_name(policy));
    Mesh mesh;
    const SwimConfig c = fast(policy);
    for (size_t n = 1; n <= 4; ++n) mesh.add(c, identity(n, n, 1), {addr_of(1)});
    SwimMember& old_twin = mesh.add(c, identity(5, 5, 1), {addr_of(1)});
    mesh.run_until(3'000'000);
    for (size_t n = 1; n <= 4; ++n) REQUIRE(mesh.view(n, 5)->address == addr_of(5));
    SwimMember& new_twin = mesh.add(c, identity(5, 9, 2), {addr_of(1)});
    mesh.run_until(20'000'000);

    const uint64_t inc_old = old_twin.incarnation(), inc_new = new_twin.incarnation();
    switch (policy) {
      case IdentityPolicy::prefer_newest:
        CHECK(old_twin.displaced());
        CHECK_FALSE(new_twin.displaced());
        CHECK(old_twin.displaced_by()->other_address == addr_of(9));
        for (size_t n = 1; n <= 4; ++n) CHECK(mesh.view(n, 5)->address == addr_of(9));
        break;
      case IdentityPolicy::prefer_oldest:
        CHECK(new_twin.displaced());
        CHECK_FALSE(old_twin.displaced());
        CHECK(new_twin.counters().identity_conflicts >= 1);
        for (size_t n = 1; n <= 4; ++n) CHECK(mesh.view(n, 5)->address == addr_of(5));
        // The older one outbid the newer everywhere, once.
        CHECK(old_twin.incarnation() == (uint64_t{2} << 20) + 1);
        break;
      case IdentityPolicy::allow_concurrent:
        CHECK_FALSE(old_twin.displaced());
        CHECK_FALSE(new_twin.displaced());
        // No incarnation war: nobody refuted the other's alive.
        CHECK(inc_old == uint64_t{1} << 20);
        CHECK(inc_new == uint64_t{2} << 20);
        for (size_t n = 1; n <= 4; ++n) CHECK(mesh.view(n, 5)->address == addr_of(9));  // higher incarnation
        CHECK(old_twin.counters().identity_conflicts == 1);  // reported once, not per update
        break;
    }
    // Either way node 5 stays alive everywhere and the view is settled.
    for (size_t n = 1; n <= 4; ++n) CHECK(mesh.view(n, 5)->status == MemberStatus::alive);
    mesh.run_until(30'000'000);
    CHECK(old_twin.incarnation() == inc_old);
    CHECK(new_twin.incarnation() == inc_new);
  }
}

TEST_CASE("swim twins: allow_concurrent fails over to the twin when the reached one dies",
          "[membership][swim][twins]") {
  Mesh mesh;
  const SwimConfig c = fast(IdentityPolicy::allow_concurrent);
  for (size_t n = 1; n <= 4; ++n) mesh.add(c, identity(n, n, 1), {addr_of(1)});
  SwimMember& standby = mesh.add(c, identity(5, 5, 1), {addr_of(1)});
  mesh.add(c, identity(5, 9, 2), {addr_of(1)});
  mesh.run_until(10'000'000);
  REQUIRE(mesh.view(1, 5)->address == addr_of(9));
  mesh.members.erase(addr_of(9));  // the reached twin crashes
  mesh.run_until(40'000'000);
  // Suspected at its incarnation, the standby refutes above it and is reached.
  for (size_t n = 1; n <= 4; ++n) {
    CHECK(mesh.view(n, 5)->status == MemberStatus::alive);
    CHECK(mesh.view(n, 5)->address == addr_of(5));
  }
  CHECK(standby.incarnation() > (uint64_t{2} << 20));
}

TEST_CASE("swim twins: a past life's alive (lower incarnation, another address) is no twin",
          "[membership][swim][twins]") {
  SwimMember a(fast(), identity(5, 5, 3), {}, Random::from_seed(1).stream("t", "swim"), 0);
  SwimOutput out;
  MemberUpdate old_life = alive_of(identity(5, 7, 2));  // instance 2 moved from address 7
  a.on_datagram(10, addr_of(1), test::gossip_datagram(id_of(1), {old_life}), out);
  CHECK(out.conflicts.empty());
  CHECK_FALSE(a.displaced());
  CHECK(a.incarnation() == uint64_t{3} << 20);
  // The same address at a higher incarnation is our own stale news: refuted.
  MemberUpdate stale = alive_of(identity(5, 5, 3));
  stale.incarnation += 4;
  a.on_datagram(20, addr_of(1), test::gossip_datagram(id_of(1), {stale}), out);
  CHECK(out.conflicts.empty());
  CHECK(a.incarnation() == stale.incarnation + 1);
}

TEST_CASE("swim announce: changed content goes at once, unchanged is throttled to the interval",
          "[membership][swim][announce]") {
  SwimConfig c = fast();
  c.reannounce_interval_us = 60'000'000;
  SwimMember a(c, identity(1, 1, 1), {}, Random::from_seed(1).stream("t", "swim"), 0);
  SwimOutput out;
  a.on_datagram(0, addr_of(2), test::gossip_datagram(id_of(2), {alive_of(identity(2, 2, 1))}), out);
  SwimAnnouncement content = a.self();
  const uint64_t inc0 = a.incarnation();

  CHECK(a.announce(1'000'000, content, out) == AnnounceResult::throttled);
  CHECK(a.incarnation() == inc0);
  content.capability_digest = 0x1234;
  out = {};
  CHECK(a.announce(2'000'000, content, out) == AnnounceResult::changed);
  CHECK(a.incarnation() == inc0 + 1);
  REQUIRE_FALSE(out.send.empty());  // gossiped now, not at the next tick
  SwimDrop why;
  auto m = decode_swim(out.send[0].bytes, &why);
  REQUIRE(m);
  REQUIRE_FALSE(m->updates.empty());
  CHECK(m->updates[0].id == id_of(1));
  CHECK(m->updates[0].capability_digest == 0x1234);
  // Identical again: throttled until the interval has passed since the change.
  CHECK(a.announce(30'000'000, content, out) == AnnounceResult::throttled);
  CHECK(a.announce(61'999'999, content, out) == AnnounceResult::throttled);
  CHECK(a.announce(62'000'000, content, out) == AnnounceResult::refreshed);
  CHECK(a.incarnation() == inc0 + 1);  // a refresh is the same fact again
  CHECK(a.counters().announces_throttled == 3);
  CHECK(a.counters().announces_changed == 1);
  CHECK(a.counters().announces_refreshed == 1);
  // A leaving member announces nothing.
  a.leave(63'000'000, out);
  CHECK(a.announce(200'000'000, content, out) == AnnounceResult::not_running);
}

TEST_CASE("swim announce: a member re-announces itself every interval on its own",
          "[membership][swim][announce]") {
  SwimConfig c = fast();
  c.reannounce_interval_us = 10'000'000;
  Mesh mesh;
  SwimMember& a = mesh.add(c, identity(1, 1, 1), {});
  mesh.add(c, identity(2, 2, 1), {addr_of(1)});
  mesh.run_until(5'000'000);
  const uint64_t refreshed = a.counters().announces_refreshed;
  mesh.run_until(35'000'000);
  CHECK(a.counters().announces_refreshed >= refreshed + 3);
  CHECK(a.counters().announces_refreshed <= refreshed + 4);
}

TEST_CASE("swim endpoints: a multi-homed member is pinged on its alternates when the primary is silent",
          "[membership][swim][endpoints]") {
  SwimMember a(fast(), identity(1, 1, 1), {}, Random::from_seed(1).stream("t", "swim"), 0);
  SwimIdentity b = identity(2, 2, 1);
  b.alt_endpoints.push(addr_of(20));
  b.alt_endpoints.push(addr_of(21));
  SwimOutput out;
  a.on_datagram(0, addr_of(2), test::gossip_datagram(id_of(2), {alive_of(b)}), out);
  REQUIRE(a.table().find(id_of(2))->alt_endpoints == b.alt_endpoints);
  // Tick until the probe of node 2 reaches its indirect phase.
  std::optional<uint64_t> seq;
  std::vector<Address> pinged;
  for (int i = 0; i < 20 && pinged.size() < 3; ++i) {
    out = {};
    a.on_tick(a.next_deadline_us(), out);
    for (const auto& d : out.send) {
      SwimDrop why;
      auto m = decode_swim(d.bytes, &why);
      REQUIRE(m);
      if (m->type == SwimType::ping && m->target == id_of(2)) {
        seq = m->seq;
        pinged.push_back(d.to);
      }
    }
  }
  REQUIRE(seq);
  CHECK(pinged == std::vector<Address>{addr_of(2), addr_of(20), addr_of(21)});
  CHECK(a.counters().alt_endpoint_pings == 2);
  // The ack comes back through the second endpoint: the probe succeeds.
  SwimMessage ack;
  ack.type = SwimType::ack;
  ack.sender = id_of(2);
  ack.seq = *seq;
  out = {};
  CHECK(a.on_datagram(a.next_deadline_us() - 1, addr_of(21), encode(ack), out) == SwimDrop::none);
  for (int i = 0; i < 5; ++i) a.on_tick(a.next_deadline_us(), out);
  CHECK(a.table().find(id_of(2))->status == MemberStatus::alive);
  CHECK(a.counters().probes_failed == 0);
}

TEST_CASE("swim: every datagram respects datagram_bytes_max, full states included",
          "[membership][swim]") {
  SwimConfig c = fast();
  c.datagram_bytes_max = kSwimDatagramBytesMin;
  Mesh mesh;
  for (size_t n = 1; n <= 12; ++n) mesh.add(c, identity(n, n, 1), {addr_of(1)});
  size_t largest = 0, sent = 0;
  for (int step = 0; step < 200; ++step) {
    int64_t next = INT64_MAX;
    for (auto& [a, m] : mesh.members) next = std::min(next, m->next_deadline_us());
    mesh.now_us = next;
    for (auto& [a, m] : mesh.members) {
      if (m->next_deadline_us() > next) continue;
      SwimOutput out;
      m->on_tick(next, out);
      for (const auto& d : out.send) largest = std::max(largest, d.bytes.size());
      sent += out.send.size();
      mesh.deliver(a, out);
    }
  }
  CHECK(sent > 0);
  CHECK(largest <= kSwimDatagramBytesMin);
  CHECK(largest > kSwimDatagramBytesMin - 240);  // it did fill them
  for (size_t n = 1; n <= 12; ++n) CHECK(mesh.members.at(addr_of(n))->table().count_active() == 12);
}
