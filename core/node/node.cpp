#include "core/node/node.h"

#include "core/node/incarnation.h"

namespace meshd {

Node::Node(Env& env, NodeConfig config)
    : env_(env), config_(std::move(config)),
      dropped_unknown_protocol_(env.metrics.counter(
          "meshd_node_dropped_total{reason=\"unknown_protocol\"}",
          "datagrams no subsystem recognised")) {}

Node::~Node() {
  // Detach from the network first so no datagram reaches a dying node.
  env_.network.set_receive_handler(nullptr);
}

Status Node::start() {
  MESHD_ASSERT_MSG(!started(), "Node::start() called twice");
  Status recovered;
  auto inc = load_and_bump_incarnation(env_.disk, env_.clock, &recovered);
  if (!recovered.is_ok()) {
    env_.log.warn("incarnation_recovered", {{"error", recovered.to_string()}});
  }
  if (!inc) {
    env_.log.error("incarnation_write_failed", {{"error", inc.status().to_string()}});
    return inc.status();
  }
  incarnation_ = *inc;
  liveness_ = std::make_unique<membership::LivenessService>(env_, config_.liveness, config_.peers,
                                                            incarnation_);
  env_.network.set_receive_handler(
      [this](const Address& from, std::span<const uint8_t> bytes) { on_datagram(from, bytes); });
  if (Status s = liveness_->start(); !s) return s;
  env_.log.info("node_started", {{"name", config_.name},
                                 {"listen", config_.listen.to_string()},
                                 {"incarnation", incarnation_},
                                 {"peers", config_.peers.size()}});
  return Status::ok();
}

void Node::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (liveness_) liveness_->stop();
  env_.network.set_receive_handler(nullptr);
  env_.log.info("node_stopped", {{"name", config_.name}});
}

void Node::on_datagram(const Address& from, std::span<const uint8_t> bytes) {
  if (stopped_) return;
  if (liveness_ && membership::is_liveness(bytes)) {
    liveness_->on_datagram(from, bytes);
    return;
  }
  ++dropped_unknown_protocol_;
}

nlohmann::json Node::status() const {
  return {{"name", config_.name},
          {"listen", config_.listen.to_string()},
          {"incarnation", incarnation_},
          {"stopped", stopped_},
          {"peers", liveness_ ? liveness_->status() : nlohmann::json::array()}};
}

nlohmann::json Node::handle_control(const nlohmann::json& request) {
  if (!request.is_object() || !request.contains("cmd") || !request["cmd"].is_string()) {
    return {{"error", "request must be an object with a string field 'cmd'"}};
  }
  const std::string cmd = request["cmd"].get<std::string>();
  if (cmd == "status") return status();
  if (cmd == "peers") return liveness_ ? liveness_->status() : nlohmann::json::array();
  return {{"error", "unknown command '" + cmd + "' (try status, peers)"}};
}

}  // namespace meshd
