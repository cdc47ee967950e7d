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
      tapped_env_(with_network(env, tap_)),
      config_(std::move(config)),
      node_of_(std::move(node_of)),
      observer_(std::move(observer)) {}

NodeService::~NodeService() {
  probe_.reset();  // it speaks through the node's mesh Env
  node_.reset();   // the node detaches from tap_ (and tap_ from the endpoint) first
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
  if (boot_hook_) boot_hook_(*node_);
  if (membership::SwimService* swim = node_->swim()) {
    if (hooks_.on_event) swim->set_observer(hooks_.on_event);
    if (hooks_.on_sent) swim->set_send_observer([this](const membership::SwimDatagram&) { hooks_.on_sent(); });
    if (hooks_.on_boot) hooks_.on_boot(swim->member().id(), swim->member().incarnation());
  }
  if (probe_config_) start_probe();
}

void NodeService::start_probe() {
  std::vector<membership::PeerSpec> peers;
  for (const ConfiguredPeer& p : config_.peers) peers.push_back({p.name, p.address});
  probe_ = std::make_unique<membership::LivenessService>(*node_->mesh_env(), *probe_config_, std::move(peers),
                                                         node_->incarnation());
  probe_->set_observer([this](const membership::PeerView& peer, const membership::VerdictChange& change) {
    if (!observer_) return;
    if (auto target = node_of_(peer.spec.address)) observer_(*target, change.to);
  });
  membership::LivenessService* probe = probe_.get();
  node_->set_extension(
      [probe](const Address& from, std::span<const uint8_t> bytes) {
        if (!membership::is_liveness(bytes)) return false;
        probe->on_datagram(from, bytes);
        return true;
      },
      [probe] { probe->stop(); });
  if (Status s = probe_->start(); !s) env_.log.error("probe_start_failed", {{"error", s.to_string()}});
}

void NodeService::leave() {
  if (!running_ || !node_) return;
  running_ = false;
  node_->stop();
}

const membership::SwimMember* NodeService::swim_member() const {
  if (!running_ || !node_ || node_->swim() == nullptr) return nullptr;
  return &node_->swim()->member();
}

}  // namespace meshd::sim
