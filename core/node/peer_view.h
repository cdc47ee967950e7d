// PeerView: what `meshctl peers` shows — SWIM's member table (the node's
// one source of membership truth) joined with per-peer transport facts.
//
// One row per member other than ourselves (alive, suspect, failed, left:
// a graceful leaver shows `left`, a node that joined after start shows up
// like any other), then one row per configured peer SWIM has not heard of
// yet (status "unknown"), so a mistyped peer address is visible. Members
// are in NodeId order, configured-only peers in config order: the output
// is a pure function of its inputs.
//
// Row fields: name (the configured peer name whose address the member
// announces, else the member's hostname), hostname, id, address, status,
// incarnation, status_since_ms_ago, last_heard_ms_ago (null: never),
// rtt_us / rttvar_us (SWIM's direct probes; 0: no sample yet), and from
// the transport (null in plaintext mode): session (a current session with
// the member), handshake_in_flight.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <vector>

#include "core/membership/member_table.h"
#include "core/node/config.h"

namespace meshd {

// A member row and a configured-only row together stay bounded.
constexpr size_t kPeerRowsMax = membership::kMembersMax + kConfigPeersMax;

// `transport_status` is SecureTransport::status() (its "peers" array names
// sessions by node_id), or null in plaintext mode.
nlohmann::json peer_view(const membership::MemberTable& table, const NodeId& self,
                         const std::vector<ConfiguredPeer>& configured, const nlohmann::json& transport_status,
                         int64_t now_us);

}  // namespace meshd
