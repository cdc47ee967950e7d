// The production SwimService (identity rules, hostname resolution, leave)
// and SWIM wired into Node, in the simulator.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include "core/membership/capabilities.h"
#include "core/membership/swim_service.h"
#include "tests/membership/swim_test_util.h"
#include "sim/scenario/node_service.h"
#include "sim/scenario/runner.h"
#include "sim/world.h"

using namespace meshd;
using namespace meshd::membership;

namespace {

NodeId id_n(uint8_t n) {
  NodeId id;
  id.bytes[0] = 0x5A;
  id.bytes[15] = n;
  return id;
}

// The test's key -> NodeId derivation: the key's first 16 bytes.
NodeId derive(const PublicKeyBytes& key) {
  NodeId id;
  std::copy(key.begin(), key.begin() + kNodeIdBytes, id.bytes.begin());
  return id;
}

PublicKeyBytes key_for(const NodeId& id, uint8_t salt) {
  PublicKeyBytes k{};
  std::copy(id.bytes.begin(), id.bytes.end(), k.begin());
  k[31] = salt;
  return k;
}

Address addr_n(uint8_t n) { return Address{0x0A000000u + n, 7000}; }

// Hosts one SwimService with identity rules; the transport's "authenticated
// peer" is a fixed table address -> NodeId.
class Host final : public sim::Service {
 public:
  Host(Env& env, std::map<Address, NodeId> peers)
      : peers_(std::move(peers)), svc_(env, fast_config(), self(), {}, rules()) {}
  void start() override { REQUIRE(svc_.start().is_ok()); }
  nlohmann::json snapshot() const override { return svc_.status(); }
  SwimService& svc() { return svc_; }

  static SwimConfig fast_config() {
    SwimConfig c;
    c.protocol_period_us = 200'000;
    c.probe_timeout_us = 100'000;
    return c;
  }
  static SwimIdentity self() {
    SwimIdentity s;
    s.id = id_n(1);
    s.public_key = key_for(s.id, 0);
    s.hostname = "self";
    s.address = addr_n(1);
    s.incarnation = 1;
    return s;
  }

 private:
  IdentityRules rules() {
    IdentityRules r;
    r.peer_id = [this](const Address& a) -> std::optional<NodeId> {
      auto it = peers_.find(a);
      if (it == peers_.end()) return std::nullopt;
      return it->second;
    };
    r.derive_id = derive;
    return r;
  }
  std::map<Address, NodeId> peers_;
  SwimService svc_;
};

MemberUpdate alive_of(const NodeId& id, uint64_t inc, const PublicKeyBytes& key, std::string hostname, uint8_t a) {
  MemberUpdate u;
  u.id = id;
  u.incarnation = inc;
  u.status = MemberStatus::alive;
  u.public_key = key;
  u.hostname = std::move(hostname);
  u.address = addr_n(a);
  return u;
}


struct HostWorld {
  sim::World world{7};
  Host* host = nullptr;
  HostWorld() {
    world.add_node([this](Env& env, size_t) {
      auto h = std::make_unique<Host>(env, std::map<Address, NodeId>{{addr_n(2), id_n(2)}, {addr_n(3), id_n(3)}});
      host = h.get();
      return h;
    });
    world.start_all();
    world.run_until(1000);
  }
  template <class... Key>
  int64_t metric(const Key&... key) { return world.metrics(0).value(key...); }
};

}  // namespace

TEST_CASE("swim service: a sender other than the authenticated peer is dropped as a security event",
          "[membership][swim_service]") {
  HostWorld w;
  SwimService& svc = w.host->svc();
  // Honest: node 2 speaks for itself from its own address.
  svc.on_datagram(addr_n(2), test::gossip_datagram(id_n(2), {alive_of(id_n(2), 1, key_for(id_n(2), 0), "two", 2)}));
  CHECK(svc.dropped(SwimDrop::sender_mismatch) == 0);
  REQUIRE(svc.member().table().find(id_n(2)) != nullptr);
  // Node 3's session claims to be node 2: dropped, nothing merged.
  svc.on_datagram(addr_n(3), test::gossip_datagram(id_n(2), {alive_of(id_n(4), 1, key_for(id_n(4), 0), "four", 4)}));
  CHECK(svc.dropped(SwimDrop::sender_mismatch) == 1);
  CHECK(svc.member().table().find(id_n(4)) == nullptr);
  // No authenticated peer at all at that address: also dropped.
  svc.on_datagram(addr_n(9), test::gossip_datagram(id_n(9), {}));
  CHECK(svc.dropped(SwimDrop::sender_mismatch) == 2);
  CHECK(w.metric(metric::kSwimDropped, SwimDrop::sender_mismatch) == 2);
  CHECK(w.metric(metric::kSecurityEvents, metric::SecurityEvent::identity_claim_rejected) == 2);
}

TEST_CASE("swim service: third-party alive claims must match the bound key or the derived id",
          "[membership][swim_service]") {
  HostWorld w;
  SwimService& svc = w.host->svc();
  const NodeId x = id_n(5);
  // Unknown X, relayed by node 2 with a key whose derived id is not X: rejected.
  svc.on_datagram(addr_n(2), test::gossip_datagram(id_n(2), {alive_of(x, 1, key_for(id_n(6), 0), "x", 5)}));
  CHECK(svc.dropped(SwimDrop::identity_rejected) == 1);
  CHECK(svc.member().table().find(x) == nullptr);
  // Unknown X with its own key (derive(key) == X): accepted and bound.
  svc.on_datagram(addr_n(2), test::gossip_datagram(id_n(2), {alive_of(x, 1, key_for(x, 0), "x", 5)}));
  CHECK(svc.dropped(SwimDrop::identity_rejected) == 1);
  REQUIRE(svc.member().table().find(x) != nullptr);
  CHECK(svc.member().table().find(x)->public_key == key_for(x, 0));
  // Known X, relayed by node 3 with another key (still "deriving" to X): rejected.
  svc.on_datagram(addr_n(3), test::gossip_datagram(id_n(3), {alive_of(x, 2, key_for(x, 7), "x", 5)}));
  CHECK(svc.dropped(SwimDrop::identity_rejected) == 2);
  CHECK(svc.member().table().find(x)->public_key == key_for(x, 0));
  CHECK(svc.member().table().find(x)->incarnation == 1);
  // The same key relayed again at a higher incarnation: accepted.
  svc.on_datagram(addr_n(3), test::gossip_datagram(id_n(3), {alive_of(x, 2, key_for(x, 0), "x", 5)}));
  CHECK(svc.dropped(SwimDrop::identity_rejected) == 2);
  CHECK(svc.member().table().find(x)->incarnation == 2);
  CHECK(w.metric(metric::kSwimDropped, SwimDrop::identity_rejected) == 2);
  CHECK(svc.identity_rejections() == 2);
}

TEST_CASE("swim service: resolve_hostname keeps both colliding nodes and picks the most recently heard",
          "[membership][swim_service]") {
  HostWorld w;
  SwimService& svc = w.host->svc();
  const NodeId a = id_n(2), b = id_n(3);
  svc.on_datagram(addr_n(2), test::gossip_datagram(a, {alive_of(a, 1, key_for(a, 0), "db", 2)}));
  w.world.run_until(w.world.now_us() + 10'000);
  svc.on_datagram(addr_n(3), test::gossip_datagram(b, {alive_of(b, 1, key_for(b, 0), "db", 3)}));
  CHECK(svc.member().table().find(a)->active());
  CHECK(svc.member().table().find(b)->active());
  CHECK(svc.resolve_hostname("db") == b);  // heard last
  w.world.run_until(w.world.now_us() + 10'000);
  svc.on_datagram(addr_n(2), test::gossip_datagram(a, {}));  // direct contact refreshes a
  CHECK(svc.resolve_hostname("db") == a);
  CHECK_FALSE(svc.resolve_hostname("nope").has_value());
  const nlohmann::json st = svc.status();
  size_t db = 0;
  for (const auto& m : st["members"]) db += m["hostname"] == "db";
  CHECK(db == 2);
}

TEST_CASE("swim service: status() and graceful leave stop within the bound", "[membership][swim_service]") {
  HostWorld w;
  SwimService& svc = w.host->svc();
  svc.on_datagram(addr_n(2), test::gossip_datagram(id_n(2), {alive_of(id_n(2), 1, key_for(id_n(2), 0), "two", 2)}));
  nlohmann::json st = svc.status();
  CHECK(st["self"]["id"] == id_n(1).to_hex());
  CHECK(st["self"]["hostname"] == "self");
  REQUIRE(st["members"].size() == 1);
  CHECK(st["members"][0]["status"] == "alive");
  CHECK(st["members"][0]["last_heard_ms_ago"] == 0);
  bool done = false;
  svc.leave([&] { done = true; });
  CHECK(svc.leaving());
  w.world.run_until(w.world.now_us() + kLeaveDrainMaxUs + 1'000'000);
  CHECK(done);
  CHECK_FALSE(svc.running());
}

TEST_CASE("node: SWIM runs over the encrypted transport, answers 'members', leaves gracefully, rejoins higher",
          "[membership][node]") {
  const size_t n = 4;
  sim::World world(11);
  const test::NodeServices svcs = test::add_swim_nodes(world, n);
  world.start_all();
  world.run_until(5'000'000);
  Node& n0 = svcs[0]->node();
  REQUIRE(n0.swim() != nullptr);
  REQUIRE(n0.transport() != nullptr);
  nlohmann::json members = n0.handle_control({{"cmd", "members"}});
  CHECK(members["self"]["id"] == n0.transport()->identity().node_id().to_hex());
  CHECK(members["self"]["hostname"] == "n0");
  CHECK(members["self"]["incarnation"] == uint64_t{1} << kSwimIncarnationShift);
  REQUIRE(members["members"].size() == n - 1);
  for (const auto& m : members["members"]) CHECK(m["status"] == "alive");
  CHECK(n0.handle_control({{"cmd", "status"}})["membership"]["self"]["id"] == members["self"]["id"]);
  CHECK(world.metrics(0).value(Node::kDroppedUnknownProtocol) == 0);
  CHECK(world.metrics(0).value(metric::kSwimDropped, SwimDrop::sender_mismatch) == 0);
  CHECK(world.metrics(0).value(metric::kSwimReceived) > 0);
  // Every alive update was signed and verified; none failed.
  CHECK(members["counters"]["signatures_verified"].get<uint64_t>() >= n - 1);
  CHECK(world.metrics(0).value(metric::kSwimDropped, SwimDrop::bad_signature) == 0);

  // Announce new capabilities: a new incarnation, gossiped at once, and
  // every member sees the new digest; the same announcement again is throttled.
  const nlohmann::json ann = n0.handle_control({{"cmd", "announce"}, {"capabilities", {"gpu", "shell:v1"}}});
  CHECK(ann["result"] == "changed");
  CHECK(ann["capabilities"] == nlohmann::json({"gpu", "shell:v1"}));
  const uint64_t digest = membership::capability_digest(std::vector<std::string>{"shell:v1", "gpu"});
  CHECK(ann["capability_digest"] == fmt::format("{:016x}", digest));
  CHECK(n0.handle_control({{"cmd", "announce"}, {"capabilities", {"shell:v1", "gpu"}}})["result"] == "throttled");
  CHECK(n0.handle_control({{"cmd", "announce"}, {"capabilities", {"Bad"}}}).contains("error"));
  world.run_until(world.now_us() + 1'000'000);
  const NodeId id0 = n0.swim()->member().id();
  for (size_t i = 1; i < n; ++i) {
    const Member* m = svcs[i]->node().swim()->member().table().find(id0);
    REQUIRE(m != nullptr);
    CHECK(m->capability_digest == digest);
    CHECK(m->status == MemberStatus::alive);
  }

  // Graceful stop of node 3: everyone else says left (never failed).
  const NodeId id3 = svcs[3]->node().swim()->member().id();
  svcs[3]->leave();
  CHECK(svcs[3]->node().leaving());
  world.run_until(world.now_us() + 3'000'000);
  CHECK(svcs[3]->node().stopped());
  for (size_t i = 0; i < 3; ++i) {
    const Member* m = svcs[i]->node().swim()->member().table().find(id3);
    REQUIRE(m != nullptr);
    CHECK(m->status == MemberStatus::left);
  }
  // Restart: back alive everywhere at a higher incarnation.
  world.restart(3);
  world.run_until(world.now_us() + 5'000'000);
  const uint64_t inc = svcs[3]->node().swim()->member().incarnation();
  CHECK(inc >= uint64_t{2} << kSwimIncarnationShift);
  for (size_t i = 0; i < 3; ++i) {
    const Member* m = svcs[i]->node().swim()->member().table().find(id3);
    REQUIRE(m != nullptr);
    CHECK(m->status == MemberStatus::alive);
    CHECK(m->incarnation >= inc);
  }
}

TEST_CASE("node: without a membership block SWIM runs with its defaults", "[membership][node]") {
  // SWIM is the node's one failure detector: no block means default
  // timings (memberlist's LAN profile), seeded from the configured peers.
  sim::World world(3);
  std::vector<sim::NodeService*> svcs(2, nullptr);
  for (size_t i = 0; i < 2; ++i) {
    world.add_node([&, i](Env& env, size_t) {
      NodeConfig c = test::fast_swim_node_config(world, i, 2);
      c.membership = MembershipConfig{};
      auto s = std::make_unique<sim::NodeService>(env, c, [](const Address&) { return std::nullopt; }, nullptr);
      svcs[i] = s.get();
      return s;
    });
  }
  world.start_all();
  world.run_until(5'000'000);
  REQUIRE(svcs[0]->node().swim() != nullptr);
  CHECK(svcs[0]->node().swim()->member().config().protocol_period_us == membership::SwimConfig{}.protocol_period_us);
  CHECK(svcs[0]->node().swim()->member().table().count_active() == 2);  // joined through its seed
  CHECK(svcs[0]->node().status()["membership"].is_object());
  const nlohmann::json peers = svcs[0]->node().handle_control({{"cmd", "peers"}});
  REQUIRE(peers.size() == 1);
  CHECK(peers[0]["name"] == "n1");
  CHECK(peers[0]["status"] == "alive");
  svcs[0]->node().stop();
  CHECK_FALSE(svcs[0]->node().stopped());  // a graceful leave drains first
  world.run_until(12'000'000);
  CHECK(svcs[0]->node().stopped());
  CHECK(svcs[1]->node().handle_control({{"cmd", "peers"}})[0]["status"] == "left");
}

TEST_CASE("node: SWIM datagrams fit the encrypted transport's payload (no full-state chunk is refused)",
          "[membership][node]") {
  // Found by the 100-node scale scenario: SWIM filled datagrams to 1400 B,
  // the transport takes 1400 - 70 B of payload and refused the rest (lost
  // from ~16 encrypted members on). Pins the wiring (Node hands SWIM the
  // transport's limit) and checks that mixed news among 12 members — full
  // states span two datagrams — is never refused.
  const size_t n = 12;
  sim::World world(5);
  const test::NodeServices svcs = test::add_swim_nodes(world, n);
  world.start_all();
  world.run_until(6'000'000);
  // Mixed news (suspicions, failures, a leave) next to the alive updates
  // packs datagrams tightest.
  world.crash(10);
  world.crash(11);
  svcs[9]->leave();
  world.run_until(30'000'000);
  for (size_t i = 0; i < 9; ++i) {
    INFO("node " << i);
    CHECK(svcs[i]->node().swim()->member().config().datagram_bytes_max == transport::kTransportPayloadBytesMax);
    CHECK(world.metrics(i).value(metric::kSwimSendFailed) == 0);
    CHECK(svcs[i]->node().swim()->member().table().count_active() == 9);
  }
}
