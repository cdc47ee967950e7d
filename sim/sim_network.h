// SimNetwork: one simulated node's datagram endpoint (core/env/network.h).
//
// A thin forwarder: send() hands the datagram to World, which asks the
// NetworkModel for its fate and schedules the deliveries; World calls
// deliver() in loop context when a copy arrives. Lifetime = one process
// incarnation: World destroys it on crash (closing it, so in-flight
// datagrams to the node are dropped as dropped_node_down) and builds a new
// one on restart with the same address. Never calls the handler from
// inside send(). Not thread-safe.
#pragma once

#include <cstddef>
#include <functional>
#include <span>

#include "core/env/network.h"

namespace meshd::sim {

class World;

class SimNetwork final : public meshd::Network {
 public:
  SimNetwork(World& world, size_t node, Address address)
      : world_(world), node_(node), address_(address) {}

  Address local_address() const override { return address_; }
  Status send(const Address& to, std::span<const uint8_t> bytes) override;
  void set_receive_handler(ReceiveHandler handler) override { handler_ = std::move(handler); }

  // World's side: false when no handler is installed (datagram dropped).
  bool deliver(const Address& from, std::span<const uint8_t> bytes);
  void close() { closed_ = true; handler_ = nullptr; }
  bool closed() const { return closed_; }

 private:
  World& world_;
  size_t node_;
  Address address_;
  ReceiveHandler handler_;
  bool closed_ = false;
};

}  // namespace meshd::sim
