// Node: one mesh node — wires the subsystems to its Env.
//
// The same Node runs under meshsim (sim/ builds the Env) and under meshd
// (io/ builds it). Lifecycle: construct, start() (persists a new
// incarnation, then begins speaking), stop() (graceful: fibers cancelled,
// nothing more sent). A crash is simply destroying the Node after the
// runtime killed its fibers; start() on a new Node is the restart.
//
// Security (docs/crypto.md): unless the config says "plaintext", start()
// loads or creates the node's identity (KeyStore: 0600 key file through the
// Disk, clone detection policy, or an in-memory ephemeral key), loads the
// key archive, and builds a SecureTransport over the Env's network. Upper
// layers get an Env whose network is that transport, so LivenessService
// runs unchanged over encrypted sessions. A refused identity (clone
// policy, exposed or corrupt key file) makes start() fail.
//
// Datagram dispatch: the node owns the raw Network's receive handler
// (feeding the transport) and the transport's (plaintext) handler, and
// routes each authenticated datagram by its protocol magic; anything
// unrecognised is dropped and counted
// (meshd_node_dropped_total{reason="unknown_protocol"}).
//
// Control API (handle_control): JSON requests {"cmd": "..."}:
//   status  -> {"name","incarnation","listen","peers":[...]} (see status())
//   peers   -> the peers array alone
//   transport -> the transport's status (sessions, drops by reason)
//   unknown -> {"error": "unknown command ..."}
#pragma once

#include <nlohmann/json.hpp>

#include <memory>

#include "core/crypto/key_archive.h"
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
  // nullptr before start() and in plaintext mode.
  transport::SecureTransport* transport() { return transport_.get(); }
  const transport::SecureTransport* transport() const { return transport_.get(); }
  // Rotates the identity key (KeyArchive keeps the old one for the grace
  // period); Errc::invalid in plaintext mode or before start().
  Status rotate_key();

 private:
  void on_datagram(const Address& from, std::span<const uint8_t> bytes);
  Status start_security();

  Env& env_;
  NodeConfig config_;
  uint64_t incarnation_ = 0;
  std::unique_ptr<crypto::KeyArchive> archive_;
  std::unique_ptr<RandomStream> rotation_rng_;  // one stream per process: successive keys differ
  std::unique_ptr<transport::SecureTransport> transport_;
  std::unique_ptr<Env> upper_env_;  // env_ with network = *transport_
  std::unique_ptr<membership::LivenessService> liveness_;
  bool stopped_ = false;
  uint64_t& dropped_unknown_protocol_;
};

}  // namespace meshd
