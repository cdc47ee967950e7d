#include "core/node/config.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/env/assert.h"
#include "core/env/disk.h"
#include "core/membership/capabilities.h"
#include "core/node/json_fields.h"
#include "core/wire/byte_io.h"

namespace meshd {

namespace {

Status parse_log_level(const JsonDoc& doc, const nlohmann::json& root, LogLevel& out) {
  std::string text = "info";
  if (Status s = doc.get_string(root, "", "log_level", text, false); !s) return s;
  for (LogLevel l : {LogLevel::debug, LogLevel::info, LogLevel::warn, LogLevel::error}) {
    if (log_level_name(l) == text) {
      out = l;
      return Status::ok();
    }
  }
  return doc.error("log_level", "expected one of debug, info, warn, error, got \"" + text + "\"");
}

// A peer, seed or advertised endpoint must be somewhere a datagram can go.
bool routable(const Address& a) { return a.ipv4 != 0 && a.port != 0; }

Status check_path(const JsonDoc& doc, const std::string& field, const std::string& value, size_t max_bytes) {
  if (value.empty()) return doc.error(field, "must not be empty");
  if (value.size() > max_bytes) return doc.error(field, fmt::format("longer than {} bytes", max_bytes));
  if (value.find('\0') != std::string::npos) return doc.error(field, "contains a NUL byte");
  return Status::ok();
}

Status parse_membership(const JsonDoc& doc, const nlohmann::json& root, MembershipConfig& out) {
  auto it = root.find("membership");
  if (it == root.end()) return Status::ok();  // SWIM with its defaults
  const std::string path = "membership";
  if (Status s = doc.expect_object(*it, path); !s) return s;
  if (Status s = doc.reject_unknown(*it, path, {MESHD_SWIM_KNOB_FIELDS, "seeds", "node_id", "advertise",
                                                 "capabilities"}); !s) {
    return s;
  }
  MembershipConfig m;
  if (Status s = parse_swim_knobs(doc, *it, path, m.swim); !s) return s;
  auto addresses = [&](std::string_view key, size_t limit, std::vector<Address>& into) -> Status {
    auto list = it->find(std::string(key));
    if (list == it->end()) return Status::ok();
    const std::string sp = JsonDoc::join(path, key);
    if (Status s = doc.expect_array(*list, sp); !s) return s;
    if (list->size() > limit) return doc.error(sp, fmt::format("too many addresses (limit {})", limit));
    for (size_t i = 0; i < list->size(); ++i) {
      const nlohmann::json& v = (*list)[i];
      auto a = v.is_string() ? Address::parse(v.get<std::string>()) : std::nullopt;
      if (!a) return doc.error(JsonDoc::index(sp, i), "expected \"a.b.c.d:port\"");
      if (!routable(*a)) return doc.error(JsonDoc::index(sp, i), "needs a host and a port (not 0.0.0.0 or port 0)");
      if (std::find(into.begin(), into.end(), *a) != into.end()) return doc.error(JsonDoc::index(sp, i), "listed twice");
      into.push_back(*a);
    }
    return Status::ok();
  };
  if (Status s = addresses("seeds", membership::kSeedsMax, m.seeds); !s) return s;
  if (Status s = addresses("advertise", membership::kEndpointsMax, m.advertise); !s) return s;
  if (auto caps = it->find("capabilities"); caps != it->end()) {
    const std::string cp = JsonDoc::join(path, "capabilities");
    if (Status s = doc.expect_array(*caps, cp); !s) return s;
    if (caps->size() > membership::kCapabilitiesMax) {
      return doc.error(cp, fmt::format("too many capabilities (limit {})", membership::kCapabilitiesMax));
    }
    for (size_t i = 0; i < caps->size(); ++i) {
      const nlohmann::json& v = (*caps)[i];
      const std::string why = v.is_string() ? membership::capability_name_error(v.get<std::string>())
                                            : std::string("expected a string");
      if (!why.empty()) return doc.error(JsonDoc::index(cp, i), why);
      m.capabilities.push_back(v.get<std::string>());
    }
  }
  if (it->contains("node_id")) {
    std::string hex;
    if (Status s = doc.get_string(*it, path, "node_id", hex, true); !s) return s;
    m.node_id = NodeId::from_hex(hex);
    if (!m.node_id || m.node_id->is_zero()) {
      return doc.error(JsonDoc::join(path, "node_id"), "expected 32 hex digits, not all zero");
    }
  }
  out = std::move(m);
  return Status::ok();
}

Status parse_hex_field(const JsonDoc& doc, const nlohmann::json& obj, const std::string& path,
                       std::string_view key, std::span<uint8_t> out, bool& present) {
  std::string text;
  present = obj.contains(std::string(key));
  if (!present) return Status::ok();
  if (Status s = doc.get_string(obj, path, key, text, true); !s) return s;
  if (!wire::hex_decode(text, out)) {
    return doc.error(JsonDoc::join(path, key), "expected " + std::to_string(out.size() * 2) + " hex digits");
  }
  return Status::ok();
}

Status parse_peer_key(const JsonDoc& doc, const nlohmann::json& p, const std::string& path,
                      const Address& address, std::vector<transport::TransportPeer>& out) {
  transport::TransportPeer peer;
  peer.address = address;
  bool has_key = false, has_id = false;
  if (Status s = parse_hex_field(doc, p, path, "public_key", peer.key, has_key); !s) return s;
  NodeId id;
  if (Status s = parse_hex_field(doc, p, path, "node_id", id.bytes, has_id); !s) return s;
  if (has_id && !has_key) return doc.error(JsonDoc::join(path, "node_id"), "needs public_key too");
  if (!has_key) return Status::ok();
  if (!crypto::dh_public_from_signing_public(peer.key)) {
    return doc.error(JsonDoc::join(path, "public_key"), "not a valid Ed25519 public key");
  }
  if (has_id) peer.node_id = id;
  out.push_back(peer);
  return Status::ok();
}

Status parse_peers(const JsonDoc& doc, NodeConfig& self, const nlohmann::json& root,
                   std::vector<ConfiguredPeer>& out) {
  auto it = root.find("peers");
  if (it == root.end()) return Status::ok();
  if (Status s = doc.expect_array(*it, "peers"); !s) return s;
  if (it->size() > kConfigPeersMax) return doc.error("peers", "too many peers (limit 1024)");
  for (size_t i = 0; i < it->size(); ++i) {
    const std::string path = JsonDoc::index("peers", i);
    const nlohmann::json& p = (*it)[i];
    if (Status s = doc.expect_object(p, path); !s) return s;
    if (Status s = doc.reject_unknown(p, path, {"name", "address", "public_key", "node_id"}); !s) return s;
    ConfiguredPeer spec;
    if (Status s = doc.get_string(p, path, "name", spec.name, true); !s) return s;
    if (spec.name.size() > kNodeNameBytesMax || !valid_file_name(spec.name)) {
      return doc.error(JsonDoc::join(path, "name"), "expected 1-64 characters of [A-Za-z0-9._-]");
    }
    if (Status s = doc.get_address(p, path, "address", spec.address, true); !s) return s;
    if (!routable(spec.address)) {
      return doc.error(JsonDoc::join(path, "address"), "needs a host and a port (not 0.0.0.0 or port 0)");
    }
    if (spec.address == self.listen) {
      return doc.error(JsonDoc::join(path, "address"), "is this node's own listen address");
    }
    for (const auto& other : out) {
      if (other.address == spec.address) return doc.error(JsonDoc::join(path, "address"), "duplicate peer address");
      if (other.name == spec.name) return doc.error(JsonDoc::join(path, "name"), "duplicate peer name");
    }
    if (Status s = parse_peer_key(doc, p, path, spec.address, self.security.peer_keys); !s) return s;
    out.push_back(std::move(spec));
    MESHD_ASSERT(out.size() <= kConfigPeersMax);
  }
  return Status::ok();
}

Status get_ms(const JsonDoc& doc, const nlohmann::json& obj, const std::string& path, std::string_view key,
              int64_t& out, int64_t min, int64_t max) {
  return doc.get_int(obj, path, key, out, min, max, false);
}

Status parse_security(const JsonDoc& doc, const nlohmann::json& root, SecurityConfig& out) {
  const std::string path = "security";
  auto it = root.find(path);
  if (it == root.end()) {
    return doc.error(path, "required field missing (set psk_hex or psk_file, the mesh admission secret; "
                           "or \"plaintext\": true for an unencrypted test mesh)");
  }
  const nlohmann::json& o = *it;
  if (Status s = doc.expect_object(o, path); !s) return s;
  if (Status s = doc.reject_unknown(o, path, {"plaintext", "identity", "psk_hex", "psk_file", "clone_policy",
                                              "host_fingerprint", "rekey_after_s", "archive_grace_s",
                                              "handshake_rate_per_s", "handshake_burst", "retry_initial_ms",
                                              "retry_max_ms", "handshake_timeout_s"}); !s) {
    return s;
  }
  if (Status s = doc.get_bool(o, path, "plaintext", out.plaintext, false); !s) return s;
  std::string identity = out.key_file;
  if (Status s = doc.get_string(o, path, "identity", identity, false); !s) return s;
  if (identity == "ephemeral") {
    out.ephemeral = true;
  } else if (!valid_file_name(identity)) {
    return doc.error(JsonDoc::join(path, "identity"), "expected \"ephemeral\" or a file name in data_dir");
  } else {
    out.key_file = identity;
  }
  std::string psk_hex;
  if (Status s = doc.get_string(o, path, "psk_hex", psk_hex, false); !s) return s;
  if (Status s = doc.get_string(o, path, "psk_file", out.psk_file, false); !s) return s;
  if (o.contains("psk_file")) {
    if (Status s = check_path(doc, JsonDoc::join(path, "psk_file"), out.psk_file, kConfigPathBytesMax); !s) return s;
  }
  if (!psk_hex.empty() && !out.psk_file.empty()) {
    return doc.error(JsonDoc::join(path, "psk_file"), "give psk_hex or psk_file, not both");
  }
  if (!psk_hex.empty()) {
    auto psk = parse_psk_hex(psk_hex);
    if (!psk) return doc.error(JsonDoc::join(path, "psk_hex"), "expected 64 hex digits (32 bytes)");
    out.psk = *psk;
  }
  if (!out.plaintext && psk_hex.empty() && out.psk_file.empty()) {
    return doc.error(path, "psk_hex or psk_file is required (the mesh admission secret)");
  }
  std::string policy = std::string(crypto::clone_policy_name(out.clone_policy));
  if (Status s = doc.get_string(o, path, "clone_policy", policy, false); !s) return s;
  auto parsed = crypto::parse_clone_policy(policy);
  if (!parsed) return doc.error(JsonDoc::join(path, "clone_policy"), "expected refuse, warn or allow");
  out.clone_policy = *parsed;
  if (Status s = doc.get_string(o, path, "host_fingerprint", out.host_fingerprint, false); !s) return s;
  if (out.host_fingerprint.size() > crypto::kHostFingerprintBytesMax) {
    return doc.error(JsonDoc::join(path, "host_fingerprint"), "longer than 1024 bytes");
  }
  int64_t rekey_s = out.rekey_after_ms / 1000;
  if (Status s = doc.get_int(o, path, "rekey_after_s", rekey_s, 10, 86'400, false); !s) return s;
  out.rekey_after_ms = rekey_s * 1000;
  if (Status s = doc.get_int(o, path, "archive_grace_s", out.archive_grace_s, 0, 365LL * 86'400, false); !s) return s;
  if (Status s = doc.get_int(o, path, "handshake_rate_per_s", out.handshake_rate_per_s, 1, 1'000'000, false); !s) return s;
  if (Status s = doc.get_int(o, path, "handshake_burst", out.handshake_burst, 1, 1'000'000, false); !s) return s;
  if (Status s = get_ms(doc, o, path, "retry_initial_ms", out.retry_initial_ms, 10, 60'000); !s) return s;
  if (Status s = get_ms(doc, o, path, "retry_max_ms", out.retry_max_ms, 10, 600'000); !s) return s;
  if (out.retry_max_ms < out.retry_initial_ms) {
    return doc.error(JsonDoc::join(path, "retry_max_ms"), "must be at least retry_initial_ms");
  }
  int64_t timeout_s = out.handshake_timeout_ms / 1000;
  if (Status s = doc.get_int(o, path, "handshake_timeout_s", timeout_s, 1, 3600, false); !s) return s;
  out.handshake_timeout_ms = timeout_s * 1000;
  return Status::ok();
}

Status parse_journal(const JsonDoc& doc, const nlohmann::json& root, JournalConfig& out) {
  out.enabled = true;  // on for meshd unless the config turns it off
  auto it = root.find("journal");
  if (it == root.end()) return Status::ok();
  if (Status s = doc.expect_object(*it, "journal"); !s) return s;
  if (Status s = doc.reject_unknown(*it, "journal", {"enabled", "sync"}); !s) return s;
  if (Status s = doc.get_bool(*it, "journal", "enabled", out.enabled, false); !s) return s;
  std::string sync(storage::sync_policy_name(out.sync));
  if (Status s = doc.get_string(*it, "journal", "sync", sync, false); !s) return s;
  auto policy = storage::parse_sync_policy(sync);
  if (!policy) return doc.error("journal.sync", "expected \"every\", \"group\" or \"none\"");
  out.sync = *policy;
  return Status::ok();
}

}  // namespace

Result<NodeConfig> parse_node_config(std::string_view json_text) {
  auto doc = JsonDoc::parse(json_text, "config");
  if (!doc) return doc.status();
  const nlohmann::json& root = doc->root();
  if (Status s = doc->expect_object(root, ""); !s) return s;
  if (root.contains("liveness")) {
    return doc->error("liveness", "no longer supported: SWIM is the failure detector (tune it in the "
                                  "\"membership\" block, docs/operator.md)");
  }
  if (Status s = doc->reject_unknown(root, "", {"name", "listen", "data_dir", "control_socket",
                                               "log_level", "metrics_listen", "peers", "membership", "security", "journal"}); !s) {
    return s;
  }
  NodeConfig c;
  if (Status s = doc->get_string(root, "", "name", c.name, true); !s) return s;
  if (c.name.size() > kNodeNameBytesMax || !valid_file_name(c.name)) {
    return doc->error("name", "expected 1-64 characters of [A-Za-z0-9._-]");
  }
  if (Status s = doc->get_address(root, "", "listen", c.listen, true); !s) return s;
  if (Status s = doc->get_string(root, "", "data_dir", c.data_dir, true); !s) return s;
  if (Status s = check_path(*doc, "data_dir", c.data_dir, kConfigPathBytesMax); !s) return s;
  c.control_socket = c.data_dir + "/control.sock";
  if (Status s = doc->get_string(root, "", "control_socket", c.control_socket, false); !s) return s;
  if (root.contains("control_socket")) {
    if (Status s = check_path(*doc, "control_socket", c.control_socket, kControlSocketPathBytesMax); !s) return s;
  } else if (c.control_socket.size() > kControlSocketPathBytesMax) {
    return doc->error("data_dir", fmt::format("too long for the default control socket <data_dir>/control.sock "
                                              "({} bytes at most): set control_socket", kControlSocketPathBytesMax));
  }
  if (Status s = parse_log_level(*doc, root, c.log_level); !s) return s;
  if (root.contains("metrics_listen") && root["metrics_listen"] == "off") {
    c.metrics_listen.reset();
  } else if (Status s = doc->get_address(root, "", "metrics_listen", c.metrics_listen.emplace(kMetricsListenDefault),
                                         false); !s) {
    return doc->error("metrics_listen", "expected \"a.b.c.d:port\" or \"off\"");
  }
  if (Status s = parse_peers(*doc, c, root, c.peers); !s) return s;
  if (Status s = parse_membership(*doc, root, c.membership); !s) return s;
  if (Status s = parse_security(*doc, root, c.security); !s) return s;
  if (Status s = parse_journal(*doc, root, c.journal); !s) return s;
  if (c.membership.node_id && !c.security.plaintext) {
    return doc->error("membership.node_id", "only for plaintext mode (an encrypted node's id is its key's)");
  }
  // Postcondition: whatever the parser accepts, Node accepts.
  MESHD_ASSERT_MSG(node_config_error(c).empty(), "parse_node_config accepted an invalid config");
  return c;
}

namespace {
std::string swim_config_error(const membership::SwimConfig& w);
}  // namespace

Status parse_swim_knobs(const JsonDoc& doc, const nlohmann::json& o, const std::string& path,
                        membership::SwimConfig& out) {
  auto ms = [&](std::string_view key, int64_t& us, int64_t min_ms, int64_t max_ms) -> Status {
    int64_t v = us / 1000;
    if (Status s = doc.get_int(o, path, key, v, min_ms, max_ms, false); !s) return s;
    us = v * 1000;
    return Status::ok();
  };
  auto count = [&](std::string_view key, uint32_t& n, int64_t min, int64_t max) -> Status {
    int64_t v = n;
    if (Status s = doc.get_int(o, path, key, v, min, max, false); !s) return s;
    n = static_cast<uint32_t>(v);
    return Status::ok();
  };
  if (Status s = ms("protocol_period_ms", out.protocol_period_us, 10, 600'000); !s) return s;
  if (Status s = ms("probe_timeout_ms", out.probe_timeout_us, 1, 600'000); !s) return s;
  if (out.probe_timeout_us >= out.protocol_period_us) {
    return doc.error(JsonDoc::join(path, "probe_timeout_ms"), "must be less than protocol_period_ms");
  }
  if (Status s = count("indirect_probes", out.indirect_probes, 0, membership::kIndirectProbesMax); !s) return s;
  if (Status s = count("suspicion_mult", out.suspicion_mult, 1, 100); !s) return s;
  if (Status s = count("suspicion_max_timeout_mult", out.suspicion_max_timeout_mult, 1, 100); !s) return s;
  if (Status s = count("retransmit_mult", out.retransmit_mult, 1, 100); !s) return s;
  if (Status s = count("health_max", out.health_max, 0, membership::kHealthMaxLimit); !s) return s;
  if (Status s = ms("gossip_interval_ms", out.gossip_interval_us, 1, 600'000); !s) return s;
  if (Status s = count("gossip_fanout", out.gossip_fanout, 1, membership::kGossipFanoutMax); !s) return s;
  if (Status s = ms("push_pull_interval_ms", out.push_pull_interval_us, 10, 86'400'000); !s) return s;
  if (Status s = ms("join_retry_ms", out.join_retry_us, 10, 3'600'000); !s) return s;
  if (Status s = ms("reap_after_ms", out.reap_after_us, 10, 7LL * 86'400'000); !s) return s;
  if (Status s = doc.get_bool(o, path, "health_scales_suspicion", out.health_scales_suspicion, false); !s) return s;
  if (Status s = doc.get_bool(o, path, "stale_view_repair", out.stale_view_repair, false); !s) return s;
  if (Status s = count("suspicion_verify_pings", out.suspicion_verify_pings, 0, membership::kSuspicionVerifyPingsMax);
      !s) {
    return s;
  }
  if (Status s = ms("reannounce_interval_ms", out.reannounce_interval_us, 1000, 86'400'000); !s) return s;
  if (o.contains("identity_policy")) {
    std::string name;
    if (Status s = doc.get_string(o, path, "identity_policy", name, true); !s) return s;
    auto policy = membership::identity_policy_from_name(name);
    if (!policy) {
      return doc.error(JsonDoc::join(path, "identity_policy"),
                       "expected prefer_newest, prefer_oldest or allow_concurrent");
    }
    out.identity_policy = *policy;
  }
  int64_t members = static_cast<int64_t>(out.members_max);
  if (Status s = doc.get_int(o, path, "members_max", members, 2, membership::kMembersMax, false); !s) return s;
  out.members_max = static_cast<size_t>(members);
  // Postcondition: every knob is in the range SwimMember relies on.
  MESHD_ASSERT_MSG(swim_config_error(out).empty(), "parse_swim_knobs accepted an invalid SwimConfig");
  return Status::ok();
}

namespace {

std::string swim_config_error(const membership::SwimConfig& w) {
  if (w.protocol_period_us < 10'000 || w.protocol_period_us > 600'000'000) return "protocol_period_ms out of range";
  if (w.probe_timeout_us < 1000 || w.probe_timeout_us >= w.protocol_period_us) {
    return "probe_timeout_ms must be in [1, protocol_period_ms)";
  }
  if (w.indirect_probes > membership::kIndirectProbesMax) return "indirect_probes out of range";
  if (w.suspicion_mult < 1 || w.suspicion_mult > 100) return "suspicion_mult out of range";
  if (w.suspicion_max_timeout_mult < 1 || w.suspicion_max_timeout_mult > 100) {
    return "suspicion_max_timeout_mult out of range";
  }
  if (w.retransmit_mult < 1 || w.retransmit_mult > 100) return "retransmit_mult out of range";
  if (w.health_max > membership::kHealthMaxLimit) return "health_max out of range";
  if (w.gossip_interval_us < 1000) return "gossip_interval_ms out of range";
  if (w.gossip_fanout < 1 || w.gossip_fanout > membership::kGossipFanoutMax) return "gossip_fanout out of range";
  if (w.push_pull_interval_us < 10'000) return "push_pull_interval_ms out of range";
  if (w.join_retry_us < 10'000) return "join_retry_ms out of range";
  if (w.reap_after_us < 10'000) return "reap_after_ms out of range";
  if (w.suspicion_verify_pings > membership::kSuspicionVerifyPingsMax) return "suspicion_verify_pings out of range";
  if (w.reannounce_interval_us < 1'000'000) return "reannounce_interval_ms out of range";
  if (w.members_max < 2 || w.members_max > membership::kMembersMax) return "members_max out of range";
  return "";
}

std::string peers_error(const NodeConfig& c) {
  if (c.peers.size() > kConfigPeersMax) return "peers: too many";
  for (size_t i = 0; i < c.peers.size(); ++i) {
    const ConfiguredPeer& p = c.peers[i];
    if (p.name.size() > kNodeNameBytesMax || !valid_file_name(p.name)) return fmt::format("peers[{}].name invalid", i);
    if (!routable(p.address) || p.address == c.listen) return fmt::format("peers[{}].address invalid", i);
    for (size_t j = 0; j < i; ++j) {
      if (c.peers[j].name == p.name || c.peers[j].address == p.address) return fmt::format("peers[{}] duplicate", i);
    }
  }
  return "";
}

}  // namespace

std::string node_config_error(const NodeConfig& c) {
  if (c.name.empty() || c.name.size() > kNodeNameBytesMax || !valid_file_name(c.name)) return "name invalid";
  if (c.data_dir.empty() || c.data_dir.size() > kConfigPathBytesMax) return "data_dir invalid";
  if (c.control_socket.size() > kControlSocketPathBytesMax) return "control_socket too long";
  if (std::string e = peers_error(c); !e.empty()) return e;
  const MembershipConfig& m = c.membership;
  if (std::string e = swim_config_error(m.swim); !e.empty()) return "membership." + e;
  if (m.seeds.size() > membership::kSeedsMax) return "membership.seeds: too many";
  if (m.advertise.size() > membership::kEndpointsMax) return "membership.advertise: too many";
  if (m.capabilities.size() > membership::kCapabilitiesMax) return "membership.capabilities: too many";
  if (m.node_id && (m.node_id->is_zero() || !c.security.plaintext)) return "membership.node_id invalid";
  const SecurityConfig& s = c.security;
  if (s.rekey_after_ms < 10'000 || s.archive_grace_s < 0) return "security: rekey_after_s/archive_grace_s out of range";
  if (s.handshake_rate_per_s < 1 || s.handshake_burst < 1) return "security: handshake rate/burst out of range";
  if (s.retry_initial_ms < 10 || s.retry_max_ms < s.retry_initial_ms) return "security: retry_*_ms out of range";
  if (s.handshake_timeout_ms < 1000) return "security: handshake_timeout_s out of range";
  if (s.host_fingerprint.size() > crypto::kHostFingerprintBytesMax) return "security.host_fingerprint too long";
  return "";
}

Result<crypto::Psk> parse_psk_hex(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.remove_suffix(1);
  while (!text.empty() && (text.front() == ' ' || text.front() == '\n')) text.remove_prefix(1);
  crypto::Psk psk{};
  if (!wire::hex_decode(text, psk)) return Status(Errc::invalid, "PSK: expected 64 hex digits");
  MESHD_ASSERT(text.size() == 2 * psk.size());
  return psk;
}

transport::SecureTransportConfig transport_config_of(const SecurityConfig& sec) {
  transport::SecureTransportConfig t;
  auto& h = t.handshake;
  h.retry_initial_us = sec.retry_initial_ms * 1000;
  h.retry_max_us = sec.retry_max_ms * 1000;
  h.handshake_timeout_us = sec.handshake_timeout_ms * 1000;
  h.handshake_rate_per_s = static_cast<uint32_t>(sec.handshake_rate_per_s);
  h.handshake_burst = static_cast<uint32_t>(sec.handshake_burst);
  h.session.rekey_after_us = sec.rekey_after_ms * 1000;
  h.session.reject_after_us = h.session.rekey_after_us * 3 / 2;
  // The previous session covers in-flight packets only; keep it well
  // inside the rekey period.
  h.session.previous_keep_us = std::min<int64_t>(10 * kMicrosPerSecond, h.session.rekey_after_us / 4);
  MESHD_ASSERT(h.retry_initial_us > 0 && h.retry_initial_us <= h.retry_max_us);
  MESHD_ASSERT(h.session.rekey_after_us < h.session.reject_after_us);
  MESHD_ASSERT(h.session.previous_keep_us > 0 && h.session.previous_keep_us < h.session.rekey_after_us);
  return t;
}

}  // namespace meshd
