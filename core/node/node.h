// Node: one mesh node — wires the subsystems to its Env.
//
// The same Node runs under meshsim (sim/ builds the Env) and under meshd
// (io/ builds it). Lifecycle: construct, start() (persists a new
// incarnation, then begins speaking), stop() (graceful: fibers cancelled,
// nothing more sent). A crash is simply destroying the Node after the
// runtime killed its fibers; start() on a new Node is the restart.
//
// Datagram dispatch: the node owns the Network's receive handler and
// routes each datagram by its protocol magic; anything unrecognised is
// dropped and counted (meshd_node_dropped_total{reason="unknown_protocol"}).
//
// Control API (handle_control): JSON requests {"cmd": "..."}:
//   status  -> {"name","incarnation","listen","peers":[...]} (see status())
//   peers   -> the peers array alone
//   unknown -> {"error": "unknown command ..."}
#pragma once

#include <nlohmann/json.hpp>

#include <memory>

#include "core/env/env.h"
#include "core/membership/liveness_service.h"
#include "core/node/config.h"

namespace meshd {

class Node {
 public:
  Node(Env& env, NodeConfig config);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  Status start();
  void stop();
  bool started() const { return liveness_ != nullptr; }
  bool stopped() const { return stopped_; }

  nlohmann::json status() const;
  nlohmann::json handle_control(const nlohmann::json& request);

  const NodeConfig& config() const { return config_; }
  uint64_t incarnation() const { return incarnation_; }
  // nullptr before start().
  membership::LivenessService* liveness() { return liveness_.get(); }
  const membership::LivenessService* liveness() const { return liveness_.get(); }

 private:
  void on_datagram(const Address& from, std::span<const uint8_t> bytes);

  Env& env_;
  NodeConfig config_;
  uint64_t incarnation_ = 0;
  std::unique_ptr<membership::LivenessService> liveness_;
  bool stopped_ = false;
  uint64_t& dropped_unknown_protocol_;
};

}  // namespace meshd
