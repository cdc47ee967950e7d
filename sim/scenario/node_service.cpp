#include "sim/scenario/node_service.h"

namespace meshd::sim {

NodeService::NodeService(Env& env, NodeConfig config, AddressToNode node_of, VerdictObserver observer)
    : env_(env), node_(env, std::move(config)), node_of_(std::move(node_of)),
      observer_(std::move(observer)) {}

void NodeService::start() {
  Status s = node_.start();
  running_ = s.is_ok();
  if (!running_) {
    // E.g. an injected EIO while persisting the incarnation: the node stays
    // silent, exactly as a real meshd would exit; the oracle counts it down.
    env_.log.error("node_start_failed", {{"error", s.to_string()}});
    return;
  }
  node_.liveness()->set_observer([this](const membership::PeerView& peer,
                                        const membership::VerdictChange& change) {
    if (!observer_) return;
    if (auto target = node_of_(peer.spec.address)) observer_(*target, change.to);
  });
}

}  // namespace meshd::sim
