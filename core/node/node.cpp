#include "core/node/node.h"

#include <sodium.h>

#include "core/crypto/identity.h"
#include "core/crypto/key_store.h"
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
  if (!config_.security.plaintext) {
    if (Status s = start_security(); !s) return s;
  }
  Env& upper = transport_ ? *upper_env_ : env_;
  liveness_ = std::make_unique<membership::LivenessService>(upper, config_.liveness, config_.peers,
                                                            incarnation_);
  upper.network.set_receive_handler(
      [this](const Address& from, std::span<const uint8_t> bytes) { on_datagram(from, bytes); });
  if (transport_) {
    env_.network.set_receive_handler([this](const Address& from, std::span<const uint8_t> bytes) {
      if (!stopped_) transport_->on_datagram(from, bytes);
    });
  }
  if (Status s = liveness_->start(); !s) return s;
  if (config_.membership) {
    if (Status s = start_membership(upper); !s) return s;
  }
  env_.log.info("node_started", {{"name", config_.name},
                                 {"listen", config_.listen.to_string()},
                                 {"incarnation", incarnation_},
                                 {"encrypted", transport_ != nullptr},
                                 {"node_id", transport_ ? transport_->identity().node_id().to_hex() : ""},
                                 {"peers", config_.peers.size()}});
  return Status::ok();
}

Status Node::start_membership(Env& upper) {
  const MembershipConfig& mc = *config_.membership;
  membership::SwimIdentity self;
  membership::IdentityRules rules;
  if (transport_) {
    self.id = transport_->identity().node_id();
    self.public_key = transport_->identity().public_key();
    rules.peer_id = [this](const Address& a) { return transport_->peer_id(a); };
    rules.derive_id = [](const membership::PublicKeyBytes& key) { return crypto::node_id_from_public_key(key); };
  } else if (mc.node_id) {
    self.id = *mc.node_id;
  } else {
    // Plaintext test meshes: a stable id from the name (BLAKE2b-128).
    crypto_generichash(self.id.bytes.data(), self.id.bytes.size(),
                       reinterpret_cast<const unsigned char*>(config_.name.data()), config_.name.size(), nullptr, 0);
  }
  self.hostname = config_.name.substr(0, membership::kHostnameBytesMax);
  self.address = config_.listen;
  if (!config_.security.host_fingerprint.empty()) {
    // The first 8 bytes of the same hash the key file stores (clone
    // detection): peers raise fingerprint_drift if our key shows up on
    // another host. Never 0, which means "unknown".
    const auto hash = crypto::host_fingerprint_hash(config_.security.host_fingerprint);
    for (size_t i = 0; i < 8; ++i) self.fingerprint_digest |= uint64_t{hash[i]} << (8 * i);
    if (self.fingerprint_digest == 0) self.fingerprint_digest = 1;
  }
  self.incarnation = incarnation_ << kSwimIncarnationShift;
  std::vector<Address> seeds = mc.seeds;
  if (seeds.empty()) {
    for (const auto& p : config_.peers) {
      if (seeds.size() < membership::kSeedsMax) seeds.push_back(p.address);
    }
  }
  swim_ = std::make_unique<membership::SwimService>(upper, mc.swim, self, std::move(seeds), std::move(rules));
  if (Status s = swim_->start(); !s) return s;
  env_.log.info("membership_started", {{"node_id", self.id.to_hex()},
                                       {"incarnation", self.incarnation},
                                       {"protocol_period_ms", mc.swim.protocol_period_us / 1000}});
  return Status::ok();
}

Status Node::start_security() {
  const SecurityConfig& sec = config_.security;
  if (!sec.psk) {
    env_.log.error("security_no_psk", {{"psk_file", sec.psk_file}});
    return Status(Errc::invalid, "no mesh PSK: security.psk_file was not loaded");
  }
  crypto::KeyStoreOptions options;
  options.key_file = sec.key_file;
  options.ephemeral = sec.ephemeral;
  options.clone_policy = sec.clone_policy;
  options.host_fingerprint = sec.host_fingerprint;
  RandomStream identity_rng = env_.random.stream("crypto", "identity");
  auto loaded = crypto::load_or_create_identity(env_.disk, identity_rng, options, env_.log);
  if (!loaded) {
    env_.log.error("identity_refused", {{"error", loaded.status().to_string()}});
    return loaded.status();
  }
  const int64_t grace_us = sec.archive_grace_s * kMicrosPerSecond;
  if (sec.ephemeral) {
    archive_ = std::make_unique<crypto::KeyArchive>(grace_us);
  } else {
    auto archive = crypto::KeyArchive::load(env_.disk, crypto::kArchiveFileDefault, grace_us);
    if (!archive) {
      env_.log.error("key_archive_unreadable", {{"error", archive.status().to_string()}});
      return archive.status();
    }
    archive_ = std::make_unique<crypto::KeyArchive>(std::move(*archive));
  }
  archive_->prune(env_.clock.wall_us());
  transport::SecureTransportConfig transport_config = transport_config_of(sec);
  // Orders our initiations across restarts (handshake_manager.h, "Replay").
  transport_config.handshake.boot = incarnation_;
  transport_ = std::make_unique<transport::SecureTransport>(env_, loaded->identity, *archive_, *sec.psk,
                                                            transport_config, sec.peer_keys);
  upper_env_ = std::make_unique<Env>(with_network(env_, *transport_));
  if (loaded->created) {
    env_.log.info("identity_created", {{"node_id", loaded->identity.node_id().to_hex()},
                                       {"ephemeral", sec.ephemeral}});
  }
  return transport_->start();
}

Status Node::rotate_key() {
  if (!transport_ || config_.security.ephemeral) return Status(Errc::invalid, "no persistent identity to rotate");
  if (!rotation_rng_) rotation_rng_ = std::make_unique<RandomStream>(env_.random.stream("crypto", "rotation"));
  RandomStream& rng = *rotation_rng_;
  crypto::KeyStoreOptions options;
  options.key_file = config_.security.key_file;
  options.host_fingerprint = config_.security.host_fingerprint;
  auto rotated = crypto::rotate_identity(env_.disk, rng, transport_->identity(), *archive_,
                                         env_.clock.wall_us(), options);
  if (!rotated) {
    env_.log.error("key_rotation_failed", {{"error", rotated.status().to_string()}});
    return rotated.status();
  }
  transport_->rotate_identity(*rotated, *archive_);
  env_.log.info("key_rotated", {{"node_id", rotated->node_id().to_hex()}, {"archived", archive_->entries().size()}});
  return Status::ok();
}

void Node::stop() {
  if (stopped_) return;
  if (!leaving_ && swim_ && swim_->running()) {
    // Graceful leave: the transport keeps carrying SWIM until it drained.
    leaving_ = true;
    if (liveness_) liveness_->stop();
    env_.log.info("node_leaving", {{"name", config_.name}});
    swim_->leave([this] { finish_stop(); });
    return;
  }
  finish_stop();
}

void Node::finish_stop() {
  if (stopped_) return;
  stopped_ = true;
  leaving_ = false;
  if (liveness_) liveness_->stop();
  if (swim_) swim_->stop();
  if (transport_) transport_->stop();
  env_.network.set_receive_handler(nullptr);
  env_.log.info("node_stopped", {{"name", config_.name}});
}

void Node::on_datagram(const Address& from, std::span<const uint8_t> bytes) {
  if (stopped_) return;
  if (swim_ && membership::is_swim(bytes)) {
    swim_->on_datagram(from, bytes);
    return;
  }
  if (leaving_) return;
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
          {"leaving", leaving_},
          {"peers", liveness_ ? liveness_->status() : nlohmann::json::array()},
          {"membership", swim_ ? swim_->status() : nlohmann::json(nullptr)},
          {"transport", transport_ ? transport_->status() : nlohmann::json(nullptr)}};
}

nlohmann::json Node::handle_control(const nlohmann::json& request) {
  if (!request.is_object() || !request.contains("cmd") || !request["cmd"].is_string()) {
    return {{"error", "request must be an object with a string field 'cmd'"}};
  }
  const std::string cmd = request["cmd"].get<std::string>();
  if (cmd == "status") return status();
  if (cmd == "peers") return liveness_ ? liveness_->status() : nlohmann::json::array();
  if (cmd == "transport") return transport_ ? transport_->status() : nlohmann::json{{"error", "plaintext mode"}};
  if (cmd == "members") {
    return swim_ ? swim_->status() : nlohmann::json{{"error", "membership is off (no \"membership\" config block)"}};
  }
  return {{"error", "unknown command '" + cmd + "' (try status, peers, members, transport)"}};
}

}  // namespace meshd
