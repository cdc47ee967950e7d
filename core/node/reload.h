// Live reload of a running node's config (meshd: SIGHUP or `meshctl reload`).
//
// What can change while the node runs, without dropping a session:
//   log_level (applied by the host: the Log is the host's), peers (names,
//   seeds; a new seed is contacted at once), membership.seeds and the
//   membership timing/gossip knobs (protocol_period_ms, probe_timeout_ms,
//   indirect_probes, suspicion_*, retransmit_mult, health_max, gossip_*,
//   push_pull_interval_ms, join_retry_ms, reap_after_ms,
//   reannounce_interval_ms, health_scales_suspicion, stale_view_repair,
//   suspicion_verify_pings).
// Everything else is fixed for the process's life and a change is refused
// (reload_refusal names the first such field): name, listen, data_dir,
// control_socket, metrics_listen, the whole security block, membership.advertise,
// capabilities (use `meshctl announce`), node_id, members_max,
// identity_policy. A refused reload changes nothing.
// A public_key on a peer added live is recorded but pinned only at the
// next start (the transport's pinned set is fixed when it starts); until
// then that peer is first contacted by address (XXpsk3, still PSK-gated).
#pragma once

#include <string>
#include <vector>

#include "core/node/config.h"

namespace meshd {

// "" if `next` can replace `running` live, else one line naming the field:
// "field 'listen' cannot change while the node runs (restart to apply)".
std::string reload_refusal(const NodeConfig& running, const NodeConfig& next);

// The seeds SWIM contacts: membership.seeds, else every configured peer's
// address (at most membership::kSeedsMax).
std::vector<Address> swim_seeds_of(const NodeConfig& config);

}  // namespace meshd
