// One identity on two endpoints, end to end through Node.
//
// Plaintext mesh: node 3 restarts configured with node 0's NodeId, so both
// copies exchange SWIM and membership.identity_policy decides: the loser
// stands down (Node::displaced), the others reach the survivor; under
// allow_concurrent both stay up without an incarnation war.
//
// Encrypted mesh: node 3's data directory is replaced by node 0's (key
// file and boot count included; clone_policy "allow"). Each peer's
// transport keeps one session per NodeId, so the peers' transports apply
// the policy to the twin's handshakes and answer the losing copy with a
// signed twin notice (crypto::HandshakeManager, "Twins"): under
// prefer_newest / prefer_oldest it stands down, under allow_concurrent it
// waits as a standby and takes over when the reached copy dies
// (docs/membership.md, "Twins").
#include <catch2/catch.hpp>

#include "core/transport/transport_machine.h"
#include "core/env/disk.h"
#include "core/membership/swim_service.h"
#include "sim/scenario/node_service.h"
#include "sim/world.h"
#include "tests/membership/swim_test_util.h"

using namespace meshd;
using namespace meshd::membership;

namespace {

NodeConfig twin_config(sim::World& world, size_t i, size_t n, IdentityPolicy policy) {
  NodeConfig c = test::fast_swim_node_config(world, i, n);
  c.membership.swim.push_pull_interval_us = 2'000'000;
  c.membership.swim.identity_policy = policy;
  return c;
}

void copy_disk(sim::World& world, size_t from, size_t to) {
  auto names = world.disk(from).list();
  REQUIRE(names.is_ok());
  for (const std::string& name : *names) {
    auto bytes = read_file(world.disk(from), name, 1 << 20);
    REQUIRE(bytes.is_ok());
    REQUIRE(write_file_atomic(world.disk(to), name, *bytes).is_ok());
  }
}

struct TwinMesh {
  static constexpr size_t kNodes = 4;
  sim::World world{21};
  std::vector<sim::NodeService*> svcs = std::vector<sim::NodeService*>(kNodes, nullptr);
  std::optional<NodeId> node3_as;  // plaintext: node 3's id on its next boot

  TwinMesh(IdentityPolicy policy, bool plaintext) {
    for (size_t i = 0; i < kNodes; ++i) {
      world.add_node([this, i, policy, plaintext](Env& env, size_t) {
        NodeConfig c = twin_config(world, i, kNodes, policy);
        if (plaintext) {
          NodeId id;
          id.bytes[0] = 0xC0;
          id.bytes[15] = static_cast<uint8_t>(i);
          c.membership.node_id = i == 3 && node3_as ? *node3_as : id;
        }
        auto s = std::make_unique<sim::NodeService>(env, c, [this](const Address& a) { return world.node_of(a); },
                                                    nullptr);
        SecurityConfig sec;
        sec.plaintext = plaintext;
        sec.clone_policy = crypto::ClonePolicy::allow;
        s->set_security(sec);
        svcs[i] = s.get();
        return s;
      });
    }
    world.start_all();
    world.run_until(5'000'000);
  }
  Node& node(size_t i) { return svcs[i]->node(); }
  const Member* view(size_t at, const NodeId& of) { return node(at).swim()->member().table().find(of); }
};

}  // namespace

TEST_CASE("node twins (plaintext): the configured policy decides which copy keeps the identity",
          "[membership][node][twins]") {
  for (IdentityPolicy policy :
       {IdentityPolicy::prefer_newest, IdentityPolicy::prefer_oldest, IdentityPolicy::allow_concurrent}) {
    INFO("policy " << identity_policy_name(policy));
    TwinMesh mesh(policy, true);
    const NodeId id0 = mesh.node(0).swim()->member().id();
    mesh.node3_as = id0;
    mesh.world.restart(3);  // boot count 2: the newer copy
    REQUIRE(mesh.node(3).swim()->member().id() == id0);
    REQUIRE(mesh.node(3).swim()->member().self().instance == 2);
    mesh.world.run_until(mesh.world.now_us() + 15'000'000);

    if (policy == IdentityPolicy::allow_concurrent) {
      CHECK_FALSE(mesh.node(0).displaced());
      CHECK_FALSE(mesh.node(3).displaced());
      const uint64_t inc0 = mesh.node(0).swim()->member().incarnation();
      const uint64_t inc3 = mesh.node(3).swim()->member().incarnation();
      mesh.world.run_until(mesh.world.now_us() + 10'000'000);
      CHECK(mesh.node(0).swim()->member().incarnation() == inc0);  // no war
      CHECK(mesh.node(3).swim()->member().incarnation() == inc3);
      CHECK(mesh.world.metrics(0).value(metric::kSecurityEvents, metric::SecurityEvent::identity_conflict) == 1);
      for (size_t i = 1; i <= 2; ++i) {
        REQUIRE(mesh.view(i, id0) != nullptr);
        CHECK(mesh.view(i, id0)->status == MemberStatus::alive);
        CHECK(mesh.view(i, id0)->address == mesh.world.address_of(3));  // the higher incarnation
      }
      continue;
    }
    const size_t winner = policy == IdentityPolicy::prefer_newest ? 3 : 0;
    const size_t loser = 3 - winner;
    CHECK(mesh.node(loser).displaced());
    CHECK(mesh.node(loser).stopped());
    CHECK(mesh.node(loser).status()["displaced"] == true);
    CHECK_FALSE(mesh.node(winner).displaced());
    CHECK(mesh.world.metrics(loser).value(metric::kSecurityEvents, metric::SecurityEvent::identity_conflict) >= 1);
    for (size_t i = 1; i <= 2; ++i) {
      REQUIRE(mesh.view(i, id0) != nullptr);
      CHECK(mesh.view(i, id0)->status == MemberStatus::alive);
      CHECK(mesh.view(i, id0)->address == mesh.world.address_of(winner));
    }
  }
}

TEST_CASE("node twins (encrypted): the peers' transports apply the policy and tell the losing copy",
          "[membership][node][twins]") {
  // Node 3's data directory is replaced by node 0's: node 3 boots as id0
  // with boot count 2, node 0 (boot 1) holds sessions with peers 1 and 2.
  for (IdentityPolicy policy :
       {IdentityPolicy::prefer_newest, IdentityPolicy::prefer_oldest, IdentityPolicy::allow_concurrent}) {
    INFO("policy " << identity_policy_name(policy));
    TwinMesh mesh(policy, false);
    const NodeId id0 = mesh.node(0).swim()->member().id();
    mesh.world.crash(3);
    copy_disk(mesh.world, 0, 3);
    mesh.world.restart(3);
    REQUIRE(mesh.svcs[3]->running());
    REQUIRE(mesh.node(3).swim()->member().id() == id0);
    CHECK(mesh.node(3).swim()->member().self().instance == 2);  // node 0's boot count + 1
    mesh.world.run_until(mesh.world.now_us() + 20'000'000);
    const auto notices = [&](size_t i, transport::TransportCount result) {
      return mesh.world.metrics(i).value(transport::metric::transport_key(result));
    };
    const auto conflicts = [&](size_t i) {
      return mesh.world.metrics(i).value(metric::kSecurityEvents, metric::SecurityEvent::identity_conflict);
    };
    CHECK(notices(1, transport::TransportCount::twin_notices_sent) + notices(2, transport::TransportCount::twin_notices_sent) > 0);

    if (policy != IdentityPolicy::allow_concurrent) {
      // prefer_newest: the peers hand the session to the fresher copy and
      // answer the older one's next handshake with a notice; prefer_oldest:
      // they keep the live session and answer the newer copy's.
      const size_t winner = policy == IdentityPolicy::prefer_newest ? 3 : 0;
      const size_t loser = 3 - winner;
      CHECK(mesh.node(loser).displaced());
      CHECK(mesh.node(loser).stopped());
      CHECK_FALSE(mesh.node(winner).displaced());
      CHECK(notices(loser, transport::TransportCount::twin_notices_received) >= 1);
      CHECK(conflicts(loser) >= 1);
      for (size_t i = 1; i <= 2; ++i) {
        REQUIRE(mesh.view(i, id0) != nullptr);
        CHECK(mesh.view(i, id0)->status == MemberStatus::alive);
        CHECK(mesh.view(i, id0)->address == mesh.world.address_of(winner));
      }
      continue;
    }
    // allow_concurrent: node 0 keeps the sessions, node 3 is the standby:
    // refused (and told so), logged once per holder, not displaced.
    CHECK_FALSE(mesh.node(0).displaced());
    CHECK_FALSE(mesh.node(3).displaced());
    CHECK(notices(3, transport::TransportCount::twin_notices_received) >= 1);
    CHECK(conflicts(3) == 1);
    CHECK(mesh.world.metrics(1).value(wire::metric::kPacketsDropped, wire::DropReason::twin_refused) > 0);
    for (size_t i = 1; i <= 2; ++i) {
      REQUIRE(mesh.view(i, id0) != nullptr);
      CHECK(mesh.view(i, id0)->status == MemberStatus::alive);
      CHECK(mesh.view(i, id0)->address == mesh.world.address_of(0));
    }
    // The reached copy dies; the standby takes over. Bound: the peers see
    // node 0 silent after stale_grace (5 s); the standby's next initiation
    // then succeeds, at worst one backed-off retry later (retry_max 16 s
    // plus 1/3 jitter: 21.3 s); its SWIM alive (incarnation 2 << 20, above
    // anything node 0 announced) reaches the peers within a few protocol
    // periods and a push-pull (2 s). 5 + 21.3 + 3.7 = 30 s.
    mesh.world.crash(0);
    const int64_t crashed_us = mesh.world.now_us();
    constexpr int64_t kFailOverBoundUs = 30'000'000;
    int64_t reached_us = -1;
    while (mesh.world.now_us() - crashed_us < kFailOverBoundUs && reached_us < 0) {
      mesh.world.run_until(mesh.world.now_us() + 100'000);
      bool both = true;
      for (size_t i = 1; i <= 2; ++i) {
        const Member* m = mesh.view(i, id0);
        both = both && m != nullptr && m->status == MemberStatus::alive && m->address == mesh.world.address_of(3);
      }
      if (both) reached_us = mesh.world.now_us();
    }
    INFO("fail-over took " << (reached_us - crashed_us) / 1000 << " ms");
    REQUIRE(reached_us >= 0);
    CHECK(reached_us - crashed_us >= 5'000'000);  // not before the holder went stale
    CHECK_FALSE(mesh.node(3).displaced());
  }
}
