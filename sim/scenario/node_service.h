// NodeService: a core Node hosted by the simulator (sim::Service adapter).
//
// Reachability probe (set_liveness_probe, before start()): the simulator
// may run the liveness protocol (core/membership/liveness.h: full-mesh
// ping/ack of the configured peers) beside the node's SWIM, over the
// node's encrypted sessions (Node::mesh_env(), Node::set_extension). It is
// not membership — Node's one failure detector is SWIM — but a pairwise
// check of the transport: SWIM's indirect probes keep a member alive when
// one pair cannot talk, which is right for membership and hides a broken
// session from the oracle. Every verdict change of the probe is reported
// to an observer as (observer node, target node, new state) so the
// LivenessOracle can check its bounds without polling. meshd never runs it.
//
// Security in the simulator (docs/crypto.md, "In the simulator"): unless
// the scenario runs plaintext, the node gets the simulator's mesh PSK
// (sim_mesh_psk()), a host fingerprint "sim-host:<name>" that is stable
// across restarts of the node (so only a copied disk looks like a clone),
// and keeps its identity in the sim disk's key file: its first boot draws
// the key from its Random stream (deterministic per seed), restarts load
// it, a wipe creates a new one. Hooks for the security oracle and the
// attacker: a TransportObserver (every seal and delivery) and a packet
// tap (every datagram the node sends, as a passive eavesdropper sees it).
// Both must be set before start().
//
// Membership (every node runs SWIM): hooks report the node's SWIM identity
// at every boot, every membership event and every SWIM datagram sent, for
// the MembershipOracle; leave() is the `leave` fault: a graceful
// Node::stop() (the node stops counting as running at once, while SWIM
// drains its `left` gossip; the probe stops at once).
#pragma once

#include <functional>
#include <memory>
#include <optional>

#include "core/membership/liveness_service.h"
#include "core/node/node.h"
#include "sim/service.h"

namespace meshd::sim {

// The mesh admission secret every simulated node shares.
crypto::Psk sim_mesh_psk();

class NodeService final : public Service {
 public:
  using VerdictObserver = std::function<void(size_t target_node, membership::PeerState to)>;
  using AddressToNode = std::function<std::optional<size_t>(const Address&)>;
  using PacketTap = std::function<void(const Address& from, const Address& to, std::span<const uint8_t> bytes)>;
  // Wraps every datagram delivered to the node: the probe must call
  // `deliver` exactly once (the CostOracle's input, sim/cost_oracle.h).
  using ReceiveProbe = std::function<void(const Address& from, std::span<const uint8_t> bytes,
                                          const std::function<void()>& deliver)>;

  NodeService(Env& env, NodeConfig config, AddressToNode node_of, VerdictObserver observer);
  ~NodeService() override;

  // Before start(): the transport's security settings (the runner's
  // NodeConfig leaves them at their defaults).
  void set_security(const SecurityConfig& security) { security_ = security; }
  void set_transport_observer(transport::TransportObserver* observer) { transport_observer_ = observer; }
  // Before start(): run the reachability probe with these timings.
  void set_liveness_probe(const membership::LivenessConfig& config) { probe_config_ = config; }
  void set_packet_tap(PacketTap tap) { tap_.tap = std::move(tap); }
  void set_receive_probe(ReceiveProbe probe) { tap_.probe = std::move(probe); }
  struct MembershipHooks {
    std::function<void(const NodeId& id, uint64_t incarnation)> on_boot;
    std::function<void(const membership::MemberEvent&)> on_event;
    std::function<void()> on_sent;
  };
  void set_membership_hooks(MembershipHooks hooks) { hooks_ = std::move(hooks); }
  // After every successful boot (the MonotonicOracle's input, sim/attacker.h).
  void set_boot_hook(std::function<void(Node&)> hook) { boot_hook_ = std::move(hook); }
  // Graceful stop (the `leave` fault). No-op unless running.
  void leave();
  // The node's SWIM member while it runs one (and has not left), else nullptr.
  const membership::SwimMember* swim_member() const;

  void start() override;
  nlohmann::json snapshot() const override { return node_ ? node_->status() : nlohmann::json(); }
  bool running() const { return running_; }
  bool clone_refused() const { return clone_refused_; }
  Node& node() { return *node_; }

 private:
  void start_probe();
  // Forwards to the node's real endpoint and shows every sent datagram to
  // the tap (loop context or fiber; the tap must not send).
  class TapNetwork final : public Network {
   public:
    explicit TapNetwork(Network& inner) : inner_(inner) {}
    Address local_address() const override { return inner_.local_address(); }
    Status send(const Address& to, std::span<const uint8_t> bytes) override {
      if (tap) tap(inner_.local_address(), to, bytes);
      return inner_.send(to, bytes);
    }
    void set_receive_handler(ReceiveHandler handler) override {
      if (probe && handler) {
        handler = [this, h = std::move(handler)](const Address& from, std::span<const uint8_t> bytes) {
          probe(from, bytes, [&] { h(from, bytes); });
        };
      }
      inner_.set_receive_handler(std::move(handler));
    }
    PacketTap tap;
    ReceiveProbe probe;

   private:
    Network& inner_;
  };

  Env& env_;
  TapNetwork tap_;
  Env tapped_env_;
  NodeConfig config_;
  std::optional<SecurityConfig> security_;
  transport::TransportObserver* transport_observer_ = nullptr;
  MembershipHooks hooks_;
  std::optional<membership::LivenessConfig> probe_config_;
  std::function<void(Node&)> boot_hook_;
  std::unique_ptr<Node> node_;
  std::unique_ptr<membership::LivenessService> probe_;  // declared after node_: destroyed first
  AddressToNode node_of_;
  VerdictObserver observer_;
  bool running_ = false;
  bool clone_refused_ = false;
};

}  // namespace meshd::sim
