#include "core/node/peer_view.h"

#include <map>
#include <string>

#include "core/env/assert.h"

namespace meshd {

namespace {

struct SessionFacts {
  bool session = false;
  bool handshake_in_flight = false;
};

// node_id (hex) -> facts, from SecureTransport::status()["peers"].
std::map<std::string, SessionFacts> sessions_of(const nlohmann::json& transport_status) {
  std::map<std::string, SessionFacts> out;
  if (!transport_status.is_object()) return out;
  auto peers = transport_status.find("peers");
  if (peers == transport_status.end() || !peers->is_array()) return out;
  for (const nlohmann::json& p : *peers) {
    SessionFacts f;
    f.session = p.value("session", false);
    f.handshake_in_flight = p.value("handshake_in_flight", false);
    out[p.value("node_id", std::string())] = f;
  }
  return out;
}

nlohmann::json ms_ago(int64_t now_us, int64_t at_us) {
  if (at_us < 0) return nullptr;
  return (now_us - at_us) / 1000;
}

bool announces(const membership::Member& m, const Address& a) {
  if (!m.has_identity) return false;
  if (m.address == a) return true;
  for (const Address& alt : m.alt_endpoints.view()) {
    if (alt == a) return true;
  }
  return false;
}

}  // namespace

nlohmann::json peer_view(const membership::MemberTable& table, const NodeId& self,
                         const std::vector<ConfiguredPeer>& configured, const nlohmann::json& transport_status,
                         int64_t now_us) {
  MESHD_ASSERT(configured.size() <= kConfigPeersMax);
  const bool plaintext = transport_status.is_null();
  const std::map<std::string, SessionFacts> sessions = sessions_of(transport_status);
  std::vector<bool> matched(configured.size(), false);
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& [id, m] : table.members()) {
    if (id == self) continue;
    std::string name = m.has_identity ? m.hostname : std::string();
    for (size_t i = 0; i < configured.size(); ++i) {
      if (!announces(m, configured[i].address)) continue;
      if (!matched[i]) name = configured[i].name;  // the first member at that address keeps the name
      matched[i] = true;
    }
    const std::string hex = id.to_hex();
    auto facts = sessions.find(hex);
    nlohmann::json row = {{"name", name},
                          {"hostname", m.has_identity ? m.hostname : ""},
                          {"id", hex},
                          {"address", m.has_identity ? m.address.to_string() : ""},
                          {"status", membership::member_status_name(m.status)},
                          {"incarnation", m.incarnation},
                          {"status_since_ms_ago", ms_ago(now_us, m.status_since_us)},
                          {"last_heard_ms_ago", ms_ago(now_us, m.last_heard_us)},
                          {"rtt_us", m.srtt_us},
                          {"rttvar_us", m.rttvar_us}};
    if (plaintext) {
      row["session"] = nullptr;
      row["handshake_in_flight"] = nullptr;
    } else {
      row["session"] = facts != sessions.end() && facts->second.session;
      row["handshake_in_flight"] = facts != sessions.end() && facts->second.handshake_in_flight;
    }
    rows.push_back(std::move(row));
  }
  for (size_t i = 0; i < configured.size(); ++i) {
    if (matched[i]) continue;
    const nlohmann::json no_session = plaintext ? nlohmann::json(nullptr) : nlohmann::json(false);
    rows.push_back({{"name", configured[i].name}, {"hostname", ""}, {"id", nullptr},
                    {"address", configured[i].address.to_string()}, {"status", "unknown"},
                    {"incarnation", 0}, {"status_since_ms_ago", nullptr}, {"last_heard_ms_ago", nullptr},
                    {"rtt_us", 0}, {"rttvar_us", 0}, {"session", no_session}, {"handshake_in_flight", no_session}});
  }
  // Self excluded: at most every other member plus every configured peer.
  MESHD_ASSERT(rows.size() <= table.size() + configured.size());
  MESHD_ASSERT(rows.size() <= kPeerRowsMax);
  return rows;
}

}  // namespace meshd
