// NodeConfig: everything an operator sets for one node, from JSON.
//
// parse_node_config() validates every field and reports the first problem
// naming the field and its line ("config: line 7: field 'peers[1].address':
// expected \"a.b.c.d:port\", got \"x\""). Unknown fields are errors.
// docs/operator.md lists every field with its default.
//
// Units: the structs that mirror the JSON keep the JSON's unit in the field
// name (SecurityConfig's *_ms, *_s); the state machines' own configs are in
// microseconds and are built once from them (parse_swim_knobs fills
// SwimConfig in µs; transport_config_of builds SecureTransportConfig).
//
// Membership: SWIM (the "membership" block) is the node's one failure
// detector and always runs; a config without the block gets SwimConfig's
// defaults (memberlist's LAN profile) and seeds from its peers. The old
// "liveness" block is refused with an error that says so.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/crypto/handshake_state.h"
#include "core/crypto/key_store.h"
#include "core/env/address.h"
#include "core/env/log.h"
#include "core/env/status.h"
#include "core/membership/swim.h"
#include "core/storage/append_log.h"
#include "core/transport/secure_transport.h"

namespace meshd {

constexpr size_t kConfigPeersMax = 1024;
constexpr size_t kNodeNameBytesMax = 64;
// Paths the host opens (data_dir, psk_file): a sane bound, not PATH_MAX.
constexpr size_t kConfigPathBytesMax = 4096;
// A Unix socket path must fit sockaddr_un::sun_path (108 bytes with NUL).
constexpr size_t kControlSocketPathBytesMax = 107;
// meshd's default HTTP /metrics address: loopback only (docs/operator.md).
inline constexpr Address kMetricsListenDefault{0x7f000001, 9464};

// One configured peer: a SWIM seed (unless membership.seeds is set) and,
// with public_key, a key pinned for the transport. Its name is what the
// operator calls it; SWIM learns the peer's own hostname when it joins.
struct ConfiguredPeer {
  std::string name;  // [A-Za-z0-9._-]{1,64}, unique in the config
  Address address;   // not this node's listen address, unique
};

// The "security" object (docs/operator.md, "Security").
struct SecurityConfig {
  // Unencrypted datagrams: only for tests of layers above the transport.
  // Never the default; a config must say "plaintext": true.
  bool plaintext = false;
  bool ephemeral = false;                // "identity": "ephemeral"
  std::string key_file = "node.key";     // "identity": file name in data_dir
  std::optional<crypto::Psk> psk;        // psk_hex, or psk_file loaded by the host
  std::string psk_file;                  // read by tools/meshd (core reads no paths)
  crypto::ClonePolicy clone_policy = crypto::ClonePolicy::refuse;
  std::string host_fingerprint;          // empty: the host supplies one
  int64_t rekey_after_ms = 120'000;      // reject after 1.5x, like WireGuard's 120/180 s
  int64_t archive_grace_s = 7 * 24 * 3600;
  int64_t handshake_rate_per_s = 200;
  int64_t handshake_burst = 100;
  int64_t retry_initial_ms = 1000;
  int64_t retry_max_ms = 16'000;
  int64_t handshake_timeout_ms = 90'000;
  std::vector<transport::TransportPeer> peer_keys;  // from peers[i].public_key
};

// The transport settings a SecurityConfig implies.
transport::SecureTransportConfig transport_config_of(const SecurityConfig& security);

// Parses 64 hex digits (surrounding whitespace allowed, e.g. a file's
// trailing newline) into a PSK; Errc::invalid otherwise.
Result<crypto::Psk> parse_psk_hex(std::string_view text);

// The "membership" object (docs/membership.md, "Configuration"): SWIM +
// Lifeguard knobs (milliseconds in JSON, microseconds here) and the seeds
// a joining node contacts. Absent: all defaults (SWIM runs regardless).
struct MembershipConfig {
  membership::SwimConfig swim;
  std::vector<Address> seeds;   // empty: the configured peers' addresses
  // Endpoints we announce, primary first (<= kEndpointsMax); empty: the
  // listen address. Behind NAT: the public address, then the LAN one.
  std::vector<Address> advertise;
  // Capability names announced as a digest (capabilities.h); the
  // "announce" control command can replace them at run time.
  std::vector<std::string> capabilities;
  std::optional<NodeId> node_id;  // plaintext mode only; default: derived from the name
};

class JsonDoc;
// The SWIM knobs of `obj` (an object at `path`; unknown keys are the
// caller's to reject): protocol_period_ms, probe_timeout_ms,
// indirect_probes, suspicion_mult, suspicion_max_timeout_mult,
// retransmit_mult, health_max, gossip_interval_ms, gossip_fanout,
// push_pull_interval_ms, join_retry_ms, reap_after_ms, members_max,
// health_scales_suspicion, stale_view_repair, suspicion_verify_pings,
// reannounce_interval_ms, identity_policy.
// Missing fields keep their defaults (swim.h); errors name field and line.
Status parse_swim_knobs(const JsonDoc& doc, const nlohmann::json& obj, const std::string& path,
                        membership::SwimConfig& out);
#define MESHD_SWIM_KNOB_FIELDS "protocol_period_ms", "probe_timeout_ms", "indirect_probes", \
    "suspicion_mult", "suspicion_max_timeout_mult", "retransmit_mult", "health_max",          \
    "gossip_interval_ms", "gossip_fanout", "push_pull_interval_ms", "join_retry_ms",           \
    "reap_after_ms", "members_max", "health_scales_suspicion", "stale_view_repair",            \
    "suspicion_verify_pings", "reannounce_interval_ms", "identity_policy"

// The node's durable event journal (core/node/journal.h). JSON:
//   "journal": {"enabled": true, "sync": "group"}   (every | group | none)
// A parsed config (meshd) has it on unless disabled; a NodeConfig built in
// code (the simulator, tests) has it off unless it turns it on.
struct JournalConfig {
  bool enabled = false;
  storage::SyncPolicy sync = storage::SyncPolicy::group;
};

struct NodeConfig {
  std::string name;                 // required; [A-Za-z0-9._-]{1,64}
  Address listen;                   // required; "a.b.c.d:port"
  std::string data_dir;             // required (io only; the sim ignores it)
  std::string control_socket;       // default: <data_dir>/control.sock
  LogLevel log_level = LogLevel::info;
  // meshd's Prometheus endpoint (io/http_metrics.h); nullopt: "off".
  std::optional<Address> metrics_listen = kMetricsListenDefault;
  std::vector<ConfiguredPeer> peers;  // <= kConfigPeersMax
  MembershipConfig membership;        // absent block: defaults
  SecurityConfig security;
  JournalConfig journal;
};

Result<NodeConfig> parse_node_config(std::string_view json_text);

// The invariants parse_node_config() establishes, for configs built in
// code (the simulator, tests): "" if `config` is valid, else what is wrong
// (named like the JSON field). Node's constructor asserts it is "".
std::string node_config_error(const NodeConfig& config);

}  // namespace meshd
