// `meshctl peers` is derived from SWIM's member table and the transport's
// facts (core/node/peer_view.h): late joiners appear, leavers show `left`.
#include <catch2/catch.hpp>

#include "core/node/peer_view.h"
#include "sim/scenario/node_service.h"
#include "sim/world.h"

using namespace meshd;
using membership::MemberStatus;
using membership::MemberUpdate;

namespace {

NodeId id_of(uint8_t b) {
  NodeId id;
  id.bytes.fill(b);
  return id;
}

MemberUpdate alive(uint8_t b, const Address& a, const std::string& hostname) {
  MemberUpdate u;
  u.id = id_of(b);
  u.incarnation = 1;
  u.status = MemberStatus::alive;
  u.address = a;
  u.hostname = hostname;
  return u;
}

}  // namespace

TEST_CASE("peer_view: members with configured names, statuses, RTT and sessions; unknown configured peers",
          "[node][peers]") {
  membership::MemberTable table;
  const Address self_a{0x0a000001, 7000}, b_a{0x0a000002, 7000}, c_a{0x0a000003, 7000}, d_a{0x0a000004, 7000};
  table.apply(alive(1, self_a, "self"), 0);
  table.apply(alive(2, b_a, "host-b"), 0);
  table.apply(alive(3, c_a, "host-c"), 0);
  MemberUpdate left = alive(3, c_a, "host-c");
  left.status = MemberStatus::left;
  table.apply(left, 2'000'000);
  table.heard(id_of(2), 4'000'000);
  table.rtt_sample(id_of(2), 800);
  table.rtt_sample(id_of(2), 1600);
  const std::vector<ConfiguredPeer> configured = {{"beta", b_a}, {"delta", d_a}};
  const nlohmann::json transport = {{"peers", {{{"node_id", id_of(2).to_hex()}, {"session", true},
                                                {"handshake_in_flight", false}}}}};
  const nlohmann::json rows = peer_view(table, id_of(1), configured, transport, 5'000'000);
  REQUIRE(rows.size() == 3);  // b, c (not self), then the never-seen configured peer
  CHECK(rows[0]["name"] == "beta");  // the configured name for the address it announces
  CHECK(rows[0]["hostname"] == "host-b");
  CHECK(rows[0]["status"] == "alive");
  CHECK(rows[0]["last_heard_ms_ago"] == 1000);
  CHECK(rows[0]["rtt_us"] == 900);  // 800, then (7·800 + 1600) / 8
  CHECK(rows[0]["session"] == true);
  CHECK(rows[1]["name"] == "host-c");  // not configured: its own hostname
  CHECK(rows[1]["status"] == "left");
  CHECK(rows[1]["status_since_ms_ago"] == 3000);
  CHECK(rows[1]["session"] == false);
  CHECK(rows[2]["name"] == "delta");
  CHECK(rows[2]["status"] == "unknown");
  CHECK(rows[2]["id"].is_null());
  // Plaintext mode: no transport, session facts are null.
  const nlohmann::json plain = peer_view(table, id_of(1), configured, nullptr, 5'000'000);
  CHECK(plain[0]["session"].is_null());
}

TEST_CASE("node peers: a late joiner appears, a graceful stop shows left, RTT and sessions are filled",
          "[node][peers]") {
  // Nodes 0..2 know each other; node 3 boots at 3 s and knows only node 0,
  // so nodes 1 and 2 learn of it through SWIM alone.
  sim::World world(11);
  const size_t n = 4;
  std::vector<sim::NodeService*> svcs(n, nullptr);
  for (size_t i = 0; i < n; ++i) {
    world.add_node([&, i](Env& env, size_t) {
      NodeConfig c;
      c.name = "n" + std::to_string(i);
      c.listen = world.address_of(i);
      c.data_dir = ".";
      for (size_t j = 0; j < (i == 3 ? 1 : 3); ++j) {
        if (j != i) c.peers.push_back({"peer" + std::to_string(j), world.address_of(j)});
      }
      c.membership.swim.protocol_period_us = 200'000;
      c.membership.swim.probe_timeout_us = 80'000;
      c.membership.swim.gossip_interval_us = 50'000;
      c.membership.swim.push_pull_interval_us = 1'000'000;
      c.membership.swim.join_retry_us = 300'000;
      auto s = std::make_unique<sim::NodeService>(env, c, [](const Address&) { return std::nullopt; }, nullptr);
      svcs[i] = s.get();
      return s;
    });
  }
  for (size_t i = 0; i < 3; ++i) world.start(i);
  world.run_until(3'000'000);
  world.start(3);
  world.run_until(8'000'000);
  auto row = [&](size_t observer, const std::string& name) -> nlohmann::json {
    for (const nlohmann::json& r : svcs[observer]->node().peers()) {
      if (r["name"] == name) return r;
    }
    return nullptr;
  };
  const nlohmann::json late = row(1, "n3");  // not configured at node 1: named by its hostname
  REQUIRE(late.is_object());
  CHECK(late["status"] == "alive");
  const nlohmann::json p0 = row(1, "peer0");
  REQUIRE(p0.is_object());
  CHECK(p0["status"] == "alive");
  CHECK(p0["session"] == true);
  CHECK(p0["rtt_us"].get<int64_t>() > 0);  // SWIM's direct probes measured it
  svcs[2]->node().stop();
  world.run_until(14'000'000);
  CHECK(svcs[2]->node().stopped());
  const nlohmann::json gone = row(1, "peer2");
  REQUIRE(gone.is_object());
  CHECK(gone["status"] == "left");  // never "failed" or "down"
  CHECK(row(3, "n2")["status"] == "left");
  // The status command embeds the same view.
  CHECK(svcs[1]->node().status()["peers"] == svcs[1]->node().peers());
}
