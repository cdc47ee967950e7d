// NodeService: a core Node hosted by the simulator (sim::Service adapter).
//
// Reports every verdict change of the node's liveness layer to an observer
// as (observer node, target node, new state) so the oracle can check
// detection bounds without polling.
#pragma once

#include <functional>
#include <memory>

#include "core/node/node.h"
#include "sim/service.h"

namespace meshd::sim {

class NodeService final : public Service {
 public:
  using VerdictObserver = std::function<void(size_t target_node, membership::PeerState to)>;
  using AddressToNode = std::function<std::optional<size_t>(const Address&)>;

  NodeService(Env& env, NodeConfig config, AddressToNode node_of, VerdictObserver observer);
  void start() override;
  nlohmann::json snapshot() const override { return node_.status(); }
  bool running() const { return running_; }
  Node& node() { return node_; }

 private:
  Env& env_;
  Node node_;
  AddressToNode node_of_;
  VerdictObserver observer_;
  bool running_ = false;
};

}  // namespace meshd::sim
