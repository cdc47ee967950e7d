#include "sim/scenario/node_service.h"

namespace meshd::sim {

crypto::Psk sim_mesh_psk() {
  crypto::Psk psk{};
  // A fixed, recognisable secret: every simulated member knows it; the
  // attacker's forge_psk packets use a different one.
  for (size_t i = 0; i < psk.size(); ++i) psk[i] = static_cast<uint8_t>(0xa5 ^ (i * 7));
  return psk;
}

NodeService::NodeService(Env& env, NodeConfig config, AddressToNode node_of, VerdictObserver observer)
    : env_(env),
      tap_(env.network),
      tapped_env_{env.clock, tap_, env.disk, env.random, env.runtime, env.log, env.metrics},
      config_(std::move(config)),
      node_of_(std::move(node_of)),
      observer_(std::move(observer)) {}

NodeService::~NodeService() {
  node_.reset();  // the node detaches from tap_ (and tap_ from the endpoint) first
}

void NodeService::start() {
  if (security_) {
    config_.security = *security_;
  } else {
    config_.security.plaintext = false;
  }
  if (!config_.security.plaintext) {
    config_.security.psk = sim_mesh_psk();
    config_.security.host_fingerprint = "sim-host:" + config_.name;
  }
  node_ = std::make_unique<Node>(tapped_env_, config_);
  Status s = node_->start();
  running_ = s.is_ok();
  if (!running_) {
    // E.g. an injected EIO while persisting the incarnation, or a cloned
    // key file refused: the node stays silent, exactly as a real meshd
    // would exit; the oracle counts it down.
    clone_refused_ = s.code() == Errc::permission && s.message().find("another host") != std::string::npos;
    env_.log.error("node_start_failed", {{"error", s.to_string()}});
    return;
  }
  if (node_->transport() != nullptr) node_->transport()->set_observer(transport_observer_);
  node_->liveness()->set_observer([this](const membership::PeerView& peer,
                                         const membership::VerdictChange& change) {
    if (!observer_) return;
    if (auto target = node_of_(peer.spec.address)) observer_(*target, change.to);
  });
}

}  // namespace meshd::sim
