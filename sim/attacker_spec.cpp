#include "sim/attacker_spec.h"

#include <fmt/format.h>

namespace meshd::sim {

namespace {

constexpr std::pair<AttackKind, std::string_view> kAttackNames[] = {
    {AttackKind::replay, "replay"},
    {AttackKind::bitflip, "bitflip"},
    {AttackKind::truncate, "truncate"},
    {AttackKind::reflect, "reflect"},
    {AttackKind::forge_psk, "forge_psk"},
    {AttackKind::forge_key, "forge_key"},
    {AttackKind::replay_initiation, "replay_initiation"},
    {AttackKind::garbage, "garbage"},
    {AttackKind::handshake_storm, "handshake_storm"},
    {AttackKind::bogus_cookie, "bogus_cookie"},
    {AttackKind::replay_edge, "replay_edge"},
};

Status parse_at(const JsonDoc& doc, const nlohmann::json& obj, const std::string& path, std::string_view key,
                int64_t duration_us, int64_t& out_us) {
  double s = 0;
  if (Status st = doc.get_double(obj, path, key, s, 0, static_cast<double>(duration_us) / 1e6, true); !st) {
    return st;
  }
  out_us = static_cast<int64_t>(s * 1e6 + 0.5);
  return Status::ok();
}

Status parse_actions(const JsonDoc& doc, const nlohmann::json& sec, std::string_view key, size_t nodes,
                     int64_t duration_us, bool pair, std::vector<KeyAction>& out) {
  const std::string path = JsonDoc::join("security", key);
  auto it = sec.find(std::string(key));
  if (it == sec.end()) return Status::ok();
  if (Status s = doc.expect_array(*it, path); !s) return s;
  if (it->size() > kKeyActionsMax) return doc.error(path, fmt::format("too many entries (limit {})", kKeyActionsMax));
  const int64_t max_node = static_cast<int64_t>(nodes) - 1;
  for (size_t i = 0; i < it->size(); ++i) {
    const std::string p = JsonDoc::index(path, i);
    const nlohmann::json& a = (*it)[i];
    if (Status s = doc.expect_object(a, p); !s) return s;
    KeyAction action;
    action.line = doc.line_of(p);
    if (pair) {
      if (Status s = doc.reject_unknown(a, p, {"at_s", "from", "to"}); !s) return s;
      int64_t from = 0, to = 0;
      if (Status s = doc.get_int(a, p, "from", from, 0, max_node, true); !s) return s;
      if (Status s = doc.get_int(a, p, "to", to, 0, max_node, true); !s) return s;
      if (from == to) return doc.error(JsonDoc::join(p, "to"), "must differ from 'from'");
      action.from = static_cast<size_t>(from);
      action.node = static_cast<size_t>(to);
    } else {
      if (Status s = doc.reject_unknown(a, p, {"at_s", "node"}); !s) return s;
      int64_t node = 0;
      if (Status s = doc.get_int(a, p, "node", node, 0, max_node, true); !s) return s;
      action.node = static_cast<size_t>(node);
    }
    if (Status s = parse_at(doc, a, p, "at_s", duration_us, action.at_us); !s) return s;
    out.push_back(action);
  }
  return Status::ok();
}

Status parse_security(const JsonDoc& doc, const nlohmann::json& sec, size_t nodes, int64_t duration_us,
                      SimSecuritySpec& out) {
  const std::string path = "security";
  if (Status s = doc.expect_object(sec, path); !s) return s;
  if (Status s = doc.reject_unknown(sec, path, {"plaintext", "peer_keys", "rekey_after_s", "retry_initial_ms",
                                                "retry_max_ms", "handshake_rate_per_s", "handshake_burst",
                                                "clone_policy", "rotate_key", "copy_disk",
                                                "expect_clone_refusals"}); !s) {
    return s;
  }
  if (Status s = doc.get_bool(sec, path, "plaintext", out.plaintext, false); !s) return s;
  if (Status s = doc.get_bool(sec, path, "peer_keys", out.peer_keys, false); !s) return s;
  if (Status s = doc.get_int(sec, path, "rekey_after_s", out.rekey_after_s, 10, 86'400, false); !s) return s;
  if (Status s = doc.get_int(sec, path, "retry_initial_ms", out.retry_initial_ms, 10, 60'000, false); !s) return s;
  if (Status s = doc.get_int(sec, path, "retry_max_ms", out.retry_max_ms, 10, 600'000, false); !s) return s;
  if (out.retry_max_ms < out.retry_initial_ms) {
    return doc.error(JsonDoc::join(path, "retry_max_ms"), "must be at least retry_initial_ms");
  }
  if (Status s = doc.get_int(sec, path, "handshake_rate_per_s", out.handshake_rate_per_s, 1, 1'000'000, false); !s) return s;
  if (Status s = doc.get_int(sec, path, "handshake_burst", out.handshake_burst, 1, 1'000'000, false); !s) return s;
  if (Status s = doc.get_string(sec, path, "clone_policy", out.clone_policy, false); !s) return s;
  if (out.clone_policy != "refuse" && out.clone_policy != "warn" && out.clone_policy != "allow") {
    return doc.error(JsonDoc::join(path, "clone_policy"), "expected refuse, warn or allow");
  }
  if (Status s = parse_actions(doc, sec, "rotate_key", nodes, duration_us, false, out.rotate_key); !s) return s;
  if (Status s = parse_actions(doc, sec, "copy_disk", nodes, duration_us, true, out.copy_disk); !s) return s;
  return doc.get_int(sec, path, "expect_clone_refusals", out.expect_clone_refusals, 0,
                     static_cast<int64_t>(nodes), false);
}

// The "kinds" array of an attacker: every entry a name from `names`.
template <class Kind, size_t N>
Status parse_kinds(const JsonDoc& doc, const nlohmann::json& a, const std::string& path,
                   const std::pair<Kind, std::string_view> (&names)[N], std::string_view known,
                   std::vector<Kind>& out) {
  const std::string kinds_path = JsonDoc::join(path, "kinds");
  auto kinds = a.find("kinds");
  if (kinds == a.end()) return doc.error(kinds_path, "required field missing");
  if (Status s = doc.expect_array(*kinds, kinds_path); !s) return s;
  if (kinds->empty()) return doc.error(kinds_path, "must name at least one attack kind");
  for (size_t i = 0; i < kinds->size(); ++i) {
    const nlohmann::json& k = (*kinds)[i];
    bool found = false;
    for (const auto& [kind, name] : names) {
      if (k.is_string() && name == k.get<std::string>()) {
        out.push_back(kind);
        found = true;
      }
    }
    if (!found) return doc.error(JsonDoc::index(kinds_path, i), fmt::format("unknown attack kind ({})", known));
  }
  return Status::ok();
}

constexpr std::pair<MemberAttackKind, std::string_view> kMemberAttackNames[] = {
    {MemberAttackKind::suspect_spam, "suspect_spam"},
    {MemberAttackKind::claim_identity, "claim_identity"},
    {MemberAttackKind::forge_endpoint, "forge_endpoint"},
    {MemberAttackKind::replay_update, "replay_update"},
};

Status parse_member_attackers(const JsonDoc& doc, const nlohmann::json& root, size_t nodes, int64_t duration_us,
                              SimSecuritySpec& out) {
  auto it = root.find("member_attackers");
  if (it == root.end()) return Status::ok();
  if (Status s = doc.expect_array(*it, "member_attackers"); !s) return s;
  if (it->size() > kAttackersMax) {
    return doc.error("member_attackers", fmt::format("too many attackers (limit {})", kAttackersMax));
  }
  if (out.plaintext && !it->empty()) {
    return doc.error("member_attackers", "member attackers need an encrypted mesh (security.plaintext is true)");
  }
  for (size_t i = 0; i < it->size(); ++i) {
    const nlohmann::json& a = (*it)[i];
    const std::string path = JsonDoc::index("member_attackers", i);
    MemberAttackerSpec spec;
    if (Status s = doc.expect_object(a, path); !s) return s;
    if (Status s = doc.reject_unknown(a, path, {"kinds", "insider", "from_s", "until_s", "rate_per_s"}); !s) return s;
    spec.line = doc.line_of(path);
    if (Status s = parse_kinds(doc, a, path, kMemberAttackNames,
                               "suspect_spam, claim_identity, forge_endpoint, replay_update", spec.kinds);
        !s) {
      return s;
    }
    int64_t insider = static_cast<int64_t>(nodes) - 1;
    if (Status s = doc.get_int(a, path, "insider", insider, 0, static_cast<int64_t>(nodes) - 1, false); !s) return s;
    spec.insider = static_cast<size_t>(insider);
    if (Status s = parse_at(doc, a, path, "from_s", duration_us, spec.from_us); !s) return s;
    if (Status s = parse_at(doc, a, path, "until_s", duration_us, spec.until_us); !s) return s;
    if (spec.until_us <= spec.from_us) return doc.error(JsonDoc::join(path, "until_s"), "must be after from_s");
    if (Status s = doc.get_int(a, path, "rate_per_s", spec.rate_per_s, 1, kAttackRatePerSMax, false); !s) return s;
    out.member_attackers.push_back(std::move(spec));
  }
  return Status::ok();
}

Status parse_attacker(const JsonDoc& doc, const nlohmann::json& a, const std::string& path, int64_t duration_us,
                      AttackerSpec& out) {
  if (Status s = doc.expect_object(a, path); !s) return s;
  if (Status s = doc.reject_unknown(a, path, {"kinds", "from_s", "until_s", "rate_per_s", "uncookied_dh_max_per_node"});
      !s) {
    return s;
  }
  out.line = doc.line_of(path);
  if (Status s = parse_kinds(doc, a, path, kAttackNames,
                             "replay, bitflip, truncate, reflect, forge_psk, forge_key, replay_initiation, garbage, "
                             "handshake_storm",
                             out.kinds);
      !s) {
    return s;
  }
  if (Status s = parse_at(doc, a, path, "from_s", duration_us, out.from_us); !s) return s;
  if (Status s = parse_at(doc, a, path, "until_s", duration_us, out.until_us); !s) return s;
  if (out.until_us <= out.from_us) return doc.error(JsonDoc::join(path, "until_s"), "must be after from_s");
  if (Status s = doc.get_int(a, path, "uncookied_dh_max_per_node", out.uncookied_dh_max_per_node, 0, 1'000'000'000,
                             false);
      !s) {
    return s;
  }
  return doc.get_int(a, path, "rate_per_s", out.rate_per_s, 1, kAttackRatePerSMax, false);
}

}  // namespace

std::string_view member_attack_kind_name(MemberAttackKind kind) {
  for (const auto& [k, name] : kMemberAttackNames) {
    if (k == kind) return name;
  }
  return "unknown";
}

std::string_view attack_kind_name(AttackKind kind) {
  for (const auto& [k, name] : kAttackNames) {
    if (k == kind) return name;
  }
  return "unknown";
}

Status parse_security_spec(const JsonDoc& doc, const nlohmann::json& root, size_t nodes, int64_t duration_us,
                           SimSecuritySpec& out) {
  if (auto it = root.find("security"); it != root.end()) {
    if (Status s = parse_security(doc, *it, nodes, duration_us, out); !s) return s;
  }
  auto it = root.find("attackers");
  if (it == root.end()) return parse_member_attackers(doc, root, nodes, duration_us, out);
  if (Status s = doc.expect_array(*it, "attackers"); !s) return s;
  if (it->size() > kAttackersMax) return doc.error("attackers", fmt::format("too many attackers (limit {})", kAttackersMax));
  for (size_t i = 0; i < it->size(); ++i) {
    AttackerSpec spec;
    if (Status s = parse_attacker(doc, (*it)[i], JsonDoc::index("attackers", i), duration_us, spec); !s) return s;
    out.attackers.push_back(std::move(spec));
  }
  if (out.plaintext && !out.attackers.empty()) {
    return doc.error("attackers", "attackers need an encrypted mesh (security.plaintext is true)");
  }
  return parse_member_attackers(doc, root, nodes, duration_us, out);
}

}  // namespace meshd::sim
