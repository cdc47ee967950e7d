#include "core/node/node.h"

#include <fmt/format.h>
#include <sodium.h>

#include "core/crypto/identity.h"
#include "core/crypto/key_store.h"
#include "core/membership/capabilities.h"
#include "core/node/incarnation.h"
#include "core/node/journal.h"
#include "core/node/peer_view.h"

namespace meshd {

Node::Node(Env& env, NodeConfig config)
    : env_(env), config_(std::move(config)),
      dropped_unknown_protocol_(env.metrics.counter(kDroppedUnknownProtocol)),
      identity_conflicts_(env.metrics.counter(membership::metric::kSecurityEvents,
                                              membership::metric::SecurityEvent::identity_conflict)) {
  const std::string why = node_config_error(config_);
  MESHD_ASSERT_MSG(why.empty(), why.c_str());
}

Node::~Node() {
  // Detach from the network first so no datagram reaches a dying node.
  env_.network.set_receive_handler(nullptr);
  if (stand_down_fiber_ && env_.runtime.alive(*stand_down_fiber_)) env_.runtime.cancel(*stand_down_fiber_);
}

Status Node::start() {
  MESHD_ASSERT_MSG(!started(), "Node::start() called twice");
  if (config_.journal.enabled) {
    if (Status s = start_journal(); !s) return s;
  }
  Status recovered;
  auto inc = load_and_bump_incarnation(env_.disk, env_.clock, &recovered);
  if (!recovered.is_ok()) {
    log().warn("incarnation_recovered", {{"error", recovered.to_string()}});
  }
  if (!inc) {
    log().error("incarnation_write_failed", {{"error", inc.status().to_string()}});
    return inc.status();
  }
  incarnation_ = *inc;
  MESHD_ASSERT(incarnation_ > 0);  // a boot count: the first life is 1
  if (!config_.security.plaintext) {
    if (Status s = start_security(); !s) return s;
  }
  started_ = true;
  Env& upper = *mesh_env();
  upper.network.set_receive_handler(
      [this](const Address& from, std::span<const uint8_t> bytes) { on_datagram(from, bytes); });
  if (transport_) {
    env_.network.set_receive_handler([this](const Address& from, std::span<const uint8_t> bytes) {
      if (!stopped_) transport_->on_datagram(from, bytes);
    });
  }
  if (Status s = start_membership(upper); !s) return s;
  MESHD_ASSERT(swim_ != nullptr && swim_->running());
  log().info("node_started", {{"name", config_.name},
                                 {"listen", config_.listen.to_string()},
                                 {"incarnation", incarnation_},
                                 {"encrypted", transport_ != nullptr},
                                 {"node_id", transport_ ? transport_->identity().node_id().to_hex() : ""},
                                 {"peers", config_.peers.size()}});
  return Status::ok();
}

Status Node::start_journal() {
  MESHD_ASSERT(journal_ == nullptr);
  JournalOptions options;
  options.sync = config_.journal.sync;
  auto journal = NodeJournal::open(env_.disk, env_.runtime, env_.clock, env_.log, options);
  if (!journal) return journal.status();  // journal_corrupt / journal_open_failed already logged
  if (Status s = (*journal)->start(); !s) return s;
  journal_ = std::move(*journal);
  // From here every subsystem logs through the journal (it forwards to env_.log).
  journal_env_ = std::make_unique<Env>(with_log(env_, *journal_));
  return Status::ok();
}

Status Node::start_membership(Env& upper) {
  MESHD_ASSERT(swim_ == nullptr);
  const MembershipConfig& mc = config_.membership;
  membership::SwimIdentity self;
  membership::IdentityRules rules;
  if (transport_) {
    self.id = transport_->identity().node_id();
    self.public_key = transport_->identity().public_key();
    rules.peer_id = [this](const Address& a) { return transport_->peer_id(a); };
    rules.derive_id = [](const membership::PublicKeyBytes& key) { return crypto::node_id_from_public_key(key); };
    rules.verify = [](const membership::PublicKeyBytes& key, std::span<const uint8_t> message,
                      const membership::SignatureBytes& signature) {
      return crypto::verify_signature(key, message, signature);
    };
    rules.sign = [this](std::span<const uint8_t> message) { return transport_->identity().sign(message); };
  } else if (mc.node_id) {
    self.id = *mc.node_id;
  } else {
    // Plaintext test meshes: a stable id from the name (BLAKE2b-128).
    crypto_generichash(self.id.bytes.data(), self.id.bytes.size(),
                       reinterpret_cast<const unsigned char*>(config_.name.data()), config_.name.size(), nullptr, 0);
  }
  self.hostname = config_.name.substr(0, membership::kHostnameBytesMax);
  self.address = mc.advertise.empty() ? config_.listen : mc.advertise.front();
  for (size_t i = 1; i < mc.advertise.size(); ++i) self.alt_endpoints.push(mc.advertise[i]);
  self.capability_digest = membership::capability_digest(mc.capabilities);
  capabilities_ = mc.capabilities;
  if (!config_.security.host_fingerprint.empty()) {
    // The first 8 bytes of the same hash the key file stores (clone
    // detection): peers raise fingerprint_drift if our key shows up on
    // another host. Never 0, which means "unknown".
    const auto hash = crypto::host_fingerprint_hash(config_.security.host_fingerprint);
    for (size_t i = 0; i < 8; ++i) self.fingerprint_digest |= uint64_t{hash[i]} << (8 * i);
    if (self.fingerprint_digest == 0) self.fingerprint_digest = 1;
  }
  self.incarnation = incarnation_ << kSwimIncarnationShift;
  self.instance = incarnation_;
  std::vector<Address> seeds = swim_seeds_of(config_);
  MESHD_ASSERT(size_t{self.alt_endpoints.count} + 1 <= membership::kEndpointsMax);
  membership::SwimConfig swim_config = mc.swim;
  // Every SWIM datagram must fit one transport payload (found by the
  // 100-node scenario: larger full-state chunks were refused and lost).
  if (transport_) swim_config.datagram_bytes_max = transport::kTransportPayloadBytesMax;
  swim_ = std::make_unique<membership::SwimService>(upper, swim_config, self, std::move(seeds), std::move(rules));
  swim_->set_displaced_handler([this](const membership::IdentityConflict& c) { stand_down(c); });
  if (Status s = swim_->start(); !s) return s;
  log().info("membership_started", {{"node_id", self.id.to_hex()},
                                       {"incarnation", self.incarnation},
                                       {"protocol_period_ms", mc.swim.protocol_period_us / 1000}});
  return Status::ok();
}

Status Node::start_security() {
  const SecurityConfig& sec = config_.security;
  MESHD_ASSERT(!sec.plaintext && transport_ == nullptr);
  if (!sec.psk) {
    log().error("security_no_psk", {{"psk_file", sec.psk_file}});
    return Status(Errc::invalid, "no mesh PSK: security.psk_file was not loaded");
  }
  crypto::KeyStoreOptions options;
  options.key_file = sec.key_file;
  options.ephemeral = sec.ephemeral;
  options.clone_policy = sec.clone_policy;
  options.host_fingerprint = sec.host_fingerprint;
  RandomStream identity_rng = env_.random.stream("crypto", "identity");
  auto loaded = crypto::load_or_create_identity(env_.disk, identity_rng, options, log());
  if (!loaded) {
    log().error("identity_refused", {{"error", loaded.status().to_string()}});
    return loaded.status();
  }
  const int64_t grace_us = sec.archive_grace_s * kMicrosPerSecond;
  if (sec.ephemeral) {
    archive_ = std::make_unique<crypto::KeyArchive>(grace_us);
  } else {
    auto archive = crypto::KeyArchive::load(env_.disk, crypto::kArchiveFileDefault, grace_us);
    if (!archive) {
      log().error("key_archive_unreadable", {{"error", archive.status().to_string()}});
      return archive.status();
    }
    archive_ = std::make_unique<crypto::KeyArchive>(std::move(*archive));
  }
  archive_->prune(env_.clock.wall_us());
  transport::SecureTransportConfig transport_config = transport_config_of(sec);
  // Orders our initiations across restarts (handshake_manager.h, "Replay").
  transport_config.handshake.boot = incarnation_;
  transport_config.handshake.twin_policy = twin_policy_of(identity_policy());
  transport_ = std::make_unique<transport::SecureTransport>(env_, loaded->identity, *archive_, *sec.psk,
                                                            transport_config, sec.peer_keys);
  transport_->set_twin_handler([this](const crypto::TwinNotice& notice) { on_twin_notice(notice); });
  upper_env_ = std::make_unique<Env>(with_network(base_env(), *transport_));
  MESHD_ASSERT(&upper_env_->network == transport_.get());
  // identity_created / identity_ephemeral: logged once, by the key store.
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
    log().error("key_rotation_failed", {{"error", rotated.status().to_string()}});
    return rotated.status();
  }
  MESHD_ASSERT(rotated->node_id() == transport_->identity().node_id());  // rotation keeps the NodeId
  transport_->rotate_identity(*rotated, *archive_);
  log().info("key_rotated", {{"node_id", rotated->node_id().to_hex()}, {"archived", archive_->entries().size()}});
  return Status::ok();
}

Status Node::reload(const NodeConfig& next) {
  if (std::string why = reload_refusal(config_, next); !why.empty()) return Status(Errc::invalid, why);
  MESHD_ASSERT(node_config_error(next).empty());
  const bool new_pins = next.security.peer_keys.size() != config_.security.peer_keys.size();
  config_.log_level = next.log_level;
  config_.peers = next.peers;
  config_.membership.seeds = next.membership.seeds;
  membership::SwimConfig knobs = next.membership.swim;
  if (swim_) knobs.datagram_bytes_max = swim_->member().config().datagram_bytes_max;  // set by start_membership
  config_.membership.swim = next.membership.swim;
  if (swim_) swim_->reconfigure(knobs, swim_seeds_of(config_));
  env_.log.info("config_reloaded", {{"peers", config_.peers.size()},
                                    {"seeds", swim_seeds_of(config_).size()},
                                    {"log_level", log_level_name(config_.log_level)}});
  if (new_pins) {
    env_.log.warn("config_reload_pins_deferred",
                  {{"why", "peers' public_key pins are fixed when the transport starts; new ones apply at the next "
                           "restart (until then a new peer is first contacted by address, XXpsk3)"}});
  }
  return Status::ok();
}

nlohmann::json Node::why(std::string_view name) const {
  if (!swim_) return {{"error", "the node has not started"}};
  std::optional<NodeId> id;
  for (const ConfiguredPeer& p : config_.peers) {
    if (p.name != name) continue;
    for (const auto& [mid, m] : swim_->member().table().members()) {
      if (m.has_identity && m.address == p.address) id = mid;
    }
  }
  if (!id) id = swim_->resolve_hostname(name);
  if (!id) {
    for (const auto& [mid, m] : swim_->member().table().members()) {
      if ((m.has_identity && m.hostname == name) || mid.to_hex() == name) id = mid;
    }
  }
  if (!id) return {{"error", "no member named '" + std::string(name) + "' (a configured peer name, hostname or id)"}};
  const membership::Member* m = swim_->member().table().find(*id);
  nlohmann::json out = {{"ok", true}, {"name", std::string(name)}, {"id", id->to_hex()}};
  if (m != nullptr) {
    out["status"] = membership::member_status_name(m->status);
    out["incarnation"] = m->incarnation;
    out["state_since_ms_ago"] = (env_.clock.monotonic_us() - m->status_since_us) / kMicrosPerMilli;
    out["last_heard_ms_ago"] = m->last_heard_us < 0 ? nlohmann::json(nullptr)
                                                    : nlohmann::json((env_.clock.monotonic_us() - m->last_heard_us) / kMicrosPerMilli);
  }
  out["local_health"] = swim_->member().health();
  out["record"] = swim_->verdict_evidence(*id);
  return out;
}

void Node::set_extension(ExtensionHandler on_datagram, std::function<void()> on_stop) {
  MESHD_ASSERT_MSG(started_ && !extension_, "Node::set_extension: after start(), at most once");
  extension_ = std::move(on_datagram);
  extension_stop_ = std::move(on_stop);
}

void Node::stop_extension() {
  std::function<void()> on_stop = std::move(extension_stop_);
  extension_stop_ = nullptr;  // at most once, even if on_stop re-enters stop()
  if (on_stop) on_stop();
}

void Node::stop() {
  if (stopped_) return;
  if (!leaving_ && swim_ && swim_->running()) {
    // Graceful leave: the transport keeps carrying SWIM until it drained.
    leaving_ = true;
    stop_extension();
    log().info("node_leaving", {{"name", config_.name}});
    swim_->leave([this] { finish_stop(); });
    return;
  }
  finish_stop();
}

void Node::finish_stop() {
  if (stopped_) return;
  stopped_ = true;
  leaving_ = false;
  stop_extension();
  if (swim_) swim_->stop();
  if (transport_) transport_->stop();
  env_.network.set_receive_handler(nullptr);
  log().info("node_stopped", {{"name", config_.name}});
  if (journal_) journal_->close();  // durable before the process exits
}

membership::IdentityPolicy Node::identity_policy() const { return config_.membership.swim.identity_policy; }

crypto::TwinPolicy Node::twin_policy_of(membership::IdentityPolicy policy) {
  switch (policy) {
    case membership::IdentityPolicy::prefer_newest: return crypto::TwinPolicy::prefer_newest;
    case membership::IdentityPolicy::prefer_oldest: return crypto::TwinPolicy::prefer_oldest;
    case membership::IdentityPolicy::allow_concurrent: return crypto::TwinPolicy::allow_concurrent;
  }
  return crypto::TwinPolicy::prefer_newest;
}

void Node::on_twin_notice(const crypto::TwinNotice& notice) {
  if (displaced_ || stopped_) return;
  const bool standby = identity_policy() == membership::IdentityPolicy::allow_concurrent;
  // A standby logs (and counts) once per holder; its handshakes keep
  // being refused until the holder falls silent, then it takes over.
  if (standby && !standby_for_.insert(notice.holder).second) return;
  if (standby && standby_for_.size() > kTwinHoldersLoggedMax) standby_for_.erase(standby_for_.begin());
  MESHD_ASSERT(standby_for_.size() <= kTwinHoldersLoggedMax);
  ++identity_conflicts_;
  const nlohmann::json fields = {{"kind", "identity_conflict"},
                                 {"id", transport_->identity().node_id().to_hex()},
                                 {"policy", membership::identity_policy_name(identity_policy())},
                                 {"action", standby ? "standby" : "yielded"},
                                 {"other_address", notice.holder.to_string()},
                                 {"other_instance", notice.holder_boot},
                                 {"our_instance", incarnation_},
                                 {"reported_by", notice.responder.to_hex()},
                                 {"source", "twin_notice"}};
  if (standby) {
    log().warn("security", fields);
    return;
  }
  log().error("security", fields);
  // The responder already applied the policy (it keeps the live session
  // under prefer_oldest, the fresher one under prefer_newest): we lost.
  stand_down(membership::IdentityConflict{notice.holder, notice.holder_boot, 0,
                                          membership::IdentityConflict::Action::yielded});
}

void Node::stand_down(const membership::IdentityConflict& conflict) {
  if (displaced_ || stopped_) return;
  MESHD_ASSERT(started_);  // only a running node has an identity to yield
  displaced_ = true;
  log().error("node_displaced", {{"name", config_.name},
                                    {"by_address", conflict.other_address.to_string()},
                                    {"by_instance", conflict.other_instance},
                                    {"policy", membership::identity_policy_name(identity_policy())}});
  // Deferred: we are inside the transport's or SWIM's own call stack. No
  // graceful leave — the identity lives on at the twin.
  Runtime& runtime = env_.runtime;  // outlives us: checked before touching `this`
  auto id = runtime.spawn("stand_down", [this, &runtime] {
    if (!runtime.cancelled()) finish_stop();
  });
  if (id) {
    stand_down_fiber_ = *id;
  } else {
    finish_stop();  // no fiber left: better now than never (fibers_max reached)
  }
}

void Node::on_datagram(const Address& from, std::span<const uint8_t> bytes) {
  if (stopped_) return;
  MESHD_ASSERT(started_ && swim_ != nullptr);  // the handler is installed by start()
  if (swim_ && membership::is_swim(bytes)) {
    swim_->on_datagram(from, bytes);
    return;
  }
  if (leaving_) return;
  if (extension_ && extension_(from, bytes)) return;
  ++dropped_unknown_protocol_;
}

nlohmann::json Node::peers() const {
  if (!swim_) return nlohmann::json::array();
  return peer_view(swim_->member().table(), swim_->member().id(), config_.peers,
                   transport_ ? transport_->status() : nlohmann::json(nullptr), env_.clock.monotonic_us());
}

nlohmann::json Node::status() const {
  return {{"name", config_.name},
          {"listen", config_.listen.to_string()},
          {"incarnation", incarnation_},
          {"stopped", stopped_},
          {"leaving", leaving_},
          {"peers", peers()},
          {"membership", swim_ ? swim_->status() : nlohmann::json(nullptr)},
          {"displaced", displaced_},
          {"transport", transport_ ? transport_->status() : nlohmann::json(nullptr)},
          {"journal", journal_ ? journal_->status() : nlohmann::json(nullptr)}};
}

nlohmann::json Node::handle_control(const nlohmann::json& request) {
  if (!request.is_object() || !request.contains("cmd") || !request["cmd"].is_string()) {
    return {{"error", "request must be an object with a string field 'cmd'"}};
  }
  const std::string cmd = request["cmd"].get<std::string>();
  if (cmd == "status") return status();
  if (cmd == "peers") return peers();
  if (cmd == "transport") return transport_ ? transport_->status() : nlohmann::json{{"error", "plaintext mode"}};
  if (cmd == "members") return swim_ ? swim_->status() : nlohmann::json{{"error", "the node has not started"}};
  if (cmd == "announce") return announce(request);
  if (cmd == "why") {
    auto name = request.find("name");
    if (name == request.end() || !name->is_string()) return {{"error", "why needs {\"name\": \"<member>\"}"}};
    return why(name->get<std::string>());
  }
  return {{"error", "unknown command '" + cmd + "' (try status, peers, members, announce, transport, why)"}};
}

nlohmann::json Node::announce(const nlohmann::json& request) {
  if (!swim_) return {{"error", "the node has not started"}};
  membership::SwimAnnouncement content = swim_->announcement();
  std::vector<std::string> capabilities = capabilities_;
  if (auto it = request.find("capabilities"); it != request.end()) {
    if (!it->is_array() || it->size() > membership::kCapabilitiesMax) {
      return {{"error", fmt::format("'capabilities' must be an array of at most {} names", membership::kCapabilitiesMax)}};
    }
    capabilities.clear();
    for (const nlohmann::json& v : *it) {
      const std::string why = v.is_string() ? membership::capability_name_error(v.get<std::string>())
                                            : std::string("expected a string");
      if (!why.empty()) return {{"error", "capabilities: " + why}};
      capabilities.push_back(v.get<std::string>());
    }
  }
  content.capability_digest = membership::capability_digest(capabilities);
  const membership::AnnounceResult r = swim_->announce(content);
  if (r == membership::AnnounceResult::changed) capabilities_ = std::move(capabilities);
  // The digest we announce always covers the list we report.
  MESHD_ASSERT(r != membership::AnnounceResult::changed ||
               swim_->announcement().capability_digest == membership::capability_digest(capabilities_));
  return {{"result", membership::announce_result_name(r)},
          {"incarnation", swim_->member().incarnation()},
          {"capabilities", capabilities_},
          {"capability_digest", fmt::format("{:016x}", swim_->announcement().capability_digest)}};
}

}  // namespace meshd
