// Signed membership updates: SwimService with real Ed25519 keys accepts a
// relayed alive/left only with its owner's valid signature, verifies each
// signed fact once, and signs its own.
#include <catch2/catch.hpp>

#include "core/crypto/identity.h"
#include "core/membership/swim_service.h"
#include "sim/world.h"
#include "tests/membership/swim_key_util.h"
#include "tests/membership/swim_test_util.h"

using namespace meshd;
using namespace meshd::membership;

namespace {

using test::addr_n;
using test::key_n;
using test::signed_alive;
using test::signed_left;

IdentityRules rules_for(const crypto::Identity& me, std::map<Address, NodeId> peers) {
  IdentityRules r;
  static_cast<SwimVerifier&>(r) = test::verifier_for(std::move(peers));
  r.sign = [me](std::span<const uint8_t> msg) { return me.sign(msg); };
  return r;
}

SwimIdentity self_of(const crypto::Identity& key, uint8_t n) {
  SwimIdentity s;
  s.id = key.node_id();
  s.public_key = key.public_key();
  s.hostname = "n" + std::to_string(n);
  s.address = addr_n(n);
  s.incarnation = 1;
  s.instance = 1;
  return s;
}

class Host final : public sim::Service {
 public:
  Host(Env& env, const crypto::Identity& me, std::map<Address, NodeId> peers)
      : svc_(env, SwimConfig{}, self_of(me, 1), {}, rules_for(me, std::move(peers))) {}
  void start() override { REQUIRE(svc_.start().is_ok()); }
  nlohmann::json snapshot() const override { return svc_.status(); }
  SwimService& svc() { return svc_; }

 private:
  SwimService svc_;
};

}  // namespace

TEST_CASE("swim signed: a relay cannot forge, alter or invent a member's alive or left",
          "[membership][swim_service][signed]") {
  const crypto::Identity me = key_n(1), relay = key_n(2), x = key_n(5);
  sim::World world{11};
  Host* host = nullptr;
  world.add_node([&](Env& env, size_t) {
    auto h = std::make_unique<Host>(env, me, std::map<Address, NodeId>{{addr_n(2), relay.node_id()}});
    host = h.get();
    return h;
  });
  world.start_all();
  world.run_until(1000);
  SwimService& svc = host->svc();
  auto bad = [&] { return svc.dropped(SwimDrop::bad_signature); };

  // X's own signed alive, relayed by node 2: accepted, verified once.
  const MemberUpdate a1 = signed_alive(x, 5, 1);
  svc.on_datagram(addr_n(2), test::gossip_datagram(relay.node_id(), {a1}));
  REQUIRE(svc.member().table().find(x.node_id()) != nullptr);
  CHECK(svc.member().table().find(x.node_id())->signature == a1.signature);
  const uint64_t verified = svc.status()["counters"]["signatures_verified"].get<uint64_t>();
  CHECK(verified == 1);
  // The identical fact again is not verified again.
  svc.on_datagram(addr_n(2), test::gossip_datagram(relay.node_id(), {a1}));
  CHECK(svc.status()["counters"]["signatures_verified"].get<uint64_t>() == verified);

  // The relay redirects X's endpoint (or bumps its incarnation) under X's
  // old signature: bad_signature, nothing merged.
  MemberUpdate moved = signed_alive(x, 5, 2);
  moved.address = addr_n(66);
  svc.on_datagram(addr_n(2), test::gossip_datagram(relay.node_id(), {moved}));
  CHECK(bad() == 1);
  MemberUpdate bumped = a1;
  bumped.incarnation = 7;
  svc.on_datagram(addr_n(2), test::gossip_datagram(relay.node_id(), {bumped}));
  CHECK(bad() == 2);
  CHECK(svc.member().table().find(x.node_id())->address == addr_n(5));
  CHECK(svc.member().table().find(x.node_id())->incarnation == 1);

  // A left X never said: signed by the relay's own key → not X's bound key.
  MemberUpdate fake_left = signed_left(relay, 1);
  fake_left.id = x.node_id();
  fake_left.signature = relay.sign(update_signing_bytes(fake_left));
  svc.on_datagram(addr_n(2), test::gossip_datagram(relay.node_id(), {fake_left}));
  CHECK(svc.dropped(SwimDrop::identity_rejected) == 1);
  // With X's key but a signature the relay made up: bad_signature.
  MemberUpdate forged_left = signed_left(x, 1);
  forged_left.signature[10] ^= 0x40;
  svc.on_datagram(addr_n(2), test::gossip_datagram(relay.node_id(), {forged_left}));
  CHECK(bad() == 3);
  CHECK(svc.member().table().find(x.node_id())->status == MemberStatus::alive);

  // X's real left, relayed: accepted, and kept signed for re-gossip.
  const MemberUpdate left = signed_left(x, 1);
  svc.on_datagram(addr_n(2), test::gossip_datagram(relay.node_id(), {left}));
  CHECK(bad() == 3);
  const Member* m = svc.member().table().find(x.node_id());
  CHECK(m->status == MemberStatus::left);
  CHECK(svc.member().table().update_of(x.node_id()) == left);
  CHECK(world.metrics(0).value(metric::kSwimDropped, SwimDrop::bad_signature) == 3);
}

TEST_CASE("swim signed: a service signs its own alive and left with its key",
          "[membership][swim_service][signed]") {
  const crypto::Identity me = key_n(1);
  sim::World world{12};
  Host* host = nullptr;
  world.add_node([&](Env& env, size_t) {
    auto h = std::make_unique<Host>(env, me, std::map<Address, NodeId>{});
    host = h.get();
    return h;
  });
  world.start_all();
  world.run_until(1000);
  SwimService& svc = host->svc();
  auto mine = [&] { return *svc.member().table().update_of(me.node_id()); };
  const MemberUpdate alive = mine();
  CHECK(crypto::verify_signature(me.public_key(), update_signing_bytes(alive), alive.signature));
  SwimAnnouncement content = svc.announcement();
  content.capability_digest = 99;
  CHECK(svc.announce(content) == AnnounceResult::changed);
  const MemberUpdate changed = mine();
  CHECK(changed.capability_digest == 99);
  CHECK(crypto::verify_signature(me.public_key(), update_signing_bytes(changed), changed.signature));
  svc.leave({});
  const MemberUpdate left = mine();
  REQUIRE(left.status == MemberStatus::left);
  CHECK(crypto::verify_signature(me.public_key(), update_signing_bytes(left), left.signature));
}
