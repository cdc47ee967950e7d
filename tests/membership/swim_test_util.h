// Helpers shared by the membership tests (one copy each).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/membership/swim_wire.h"
#include "core/node/config.h"
#include "sim/scenario/node_service.h"
#include "sim/world.h"

namespace meshd::membership::test {

// A gossip datagram from `sender` carrying `updates` (all must fit).
inline std::vector<uint8_t> gossip_datagram(const NodeId& sender, std::vector<MemberUpdate> updates) {
  SwimMessage m;
  m.type = SwimType::gossip;
  m.sender = sender;
  m.updates = std::move(updates);
  return encode(m);
}

// Node i of an n-node simulated mesh ("n0".."n{n-1}", each peering with all
// others) with SWIM on at fast timings: 300 ms period, 100 ms probe
// timeout, 100 ms gossip interval.
inline NodeConfig fast_swim_node_config(sim::World& world, size_t i, size_t n) {
  NodeConfig c;
  c.name = "n" + std::to_string(i);
  c.listen = world.address_of(i);
  c.data_dir = ".";
  for (size_t j = 0; j < n; ++j) {
    if (j != i) c.peers.push_back({"n" + std::to_string(j), world.address_of(j)});
  }
  c.membership.swim.protocol_period_us = 300'000;
  c.membership.swim.probe_timeout_us = 100'000;
  c.membership.swim.gossip_interval_us = 100'000;
  return c;
}

// The services of the nodes add_swim_nodes() added; svcs[i] is node i's
// current service (it follows restarts: each boot stores its own).
struct NodeServices {
  std::shared_ptr<std::vector<sim::NodeService*>> all;
  sim::NodeService* operator[](size_t i) const { return (*all)[i]; }
};

// Adds n Nodes with fast_swim_node_config to `world` (not started).
inline NodeServices add_swim_nodes(sim::World& world, size_t n) {
  auto svcs = std::make_shared<std::vector<sim::NodeService*>>(n, nullptr);
  for (size_t i = 0; i < n; ++i) {
    world.add_node([&world, svcs, i, n](Env& env, size_t) {
      auto s = std::make_unique<sim::NodeService>(env, fast_swim_node_config(world, i, n),
                                                  [&world](const Address& a) { return world.node_of(a); }, nullptr);
      (*svcs)[i] = s.get();
      return s;
    });
  }
  return NodeServices{svcs};
}

}  // namespace meshd::membership::test
