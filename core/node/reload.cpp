#include "core/node/reload.h"

#include "core/env/assert.h"

namespace meshd {

namespace {

bool same_security(const SecurityConfig& a, const SecurityConfig& b) {
  return a.plaintext == b.plaintext && a.ephemeral == b.ephemeral && a.key_file == b.key_file &&
         a.psk == b.psk && a.psk_file == b.psk_file && a.clone_policy == b.clone_policy &&
         a.host_fingerprint == b.host_fingerprint && a.rekey_after_ms == b.rekey_after_ms &&
         a.archive_grace_s == b.archive_grace_s && a.handshake_rate_per_s == b.handshake_rate_per_s &&
         a.handshake_burst == b.handshake_burst && a.retry_initial_ms == b.retry_initial_ms &&
         a.retry_max_ms == b.retry_max_ms && a.handshake_timeout_ms == b.handshake_timeout_ms;
}

std::string refused(const std::string& field) {
  return "field '" + field + "' cannot change while the node runs (restart to apply); the running config stays";
}

}  // namespace

std::string reload_refusal(const NodeConfig& running, const NodeConfig& next) {
  if (next.name != running.name) return refused("name");
  if (next.listen != running.listen) return refused("listen");
  if (next.data_dir != running.data_dir) return refused("data_dir");
  if (next.control_socket != running.control_socket) return refused("control_socket");
  if (next.metrics_listen != running.metrics_listen) return refused("metrics_listen");
  if (!same_security(next.security, running.security)) return refused("security");
  const MembershipConfig& a = running.membership;
  const MembershipConfig& b = next.membership;
  if (a.advertise != b.advertise) return refused("membership.advertise");
  if (a.capabilities != b.capabilities) return refused("membership.capabilities") + " (use `meshctl announce`)";
  if (a.node_id != b.node_id) return refused("membership.node_id");
  if (a.swim.members_max != b.swim.members_max) return refused("membership.members_max");
  if (a.swim.identity_policy != b.swim.identity_policy) return refused("membership.identity_policy");
  return "";
}

std::vector<Address> swim_seeds_of(const NodeConfig& config) {
  std::vector<Address> seeds = config.membership.seeds;
  if (seeds.empty()) {
    for (const ConfiguredPeer& p : config.peers) {
      if (seeds.size() < membership::kSeedsMax) seeds.push_back(p.address);
    }
  }
  MESHD_ASSERT(seeds.size() <= membership::kSeedsMax);
  return seeds;
}

}  // namespace meshd
