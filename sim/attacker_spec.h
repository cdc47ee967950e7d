// Security parts of a scenario: transport knobs, key actions and attackers.
//
// Scenario JSON (sim/scenario/scenario.h) accepts two optional fields:
//
//   "security": {
//     "plaintext": false,            // true: run the mesh unencrypted
//     "peer_keys": true,             // peers' genesis keys configured (IK from
//                                    // the first packet); false: XX first contact
//     "rekey_after_s": 30, "retry_initial_ms": 200, "retry_max_ms": 2000,
//     "handshake_rate_per_s": 200, "handshake_burst": 100,
//     "clone_policy": "refuse",
//     "rotate_key": [{"at_s": 20, "node": 1}],           // live key rotation
//     "copy_disk":  [{"at_s": 11, "from": 0, "to": 3}],  // clone a data dir
//     "expect_clone_refusals": 1     // nodes that must refuse to start as clones
//   },
//   "attackers": [{"kinds": ["replay", "bitflip"], "from_s": 10, "until_s": 30,
//                  "rate_per_s": 200,
//                  "uncookied_dh_max_per_node": 130}]   // optional cost bound (sim/cost_oracle.h)
//
// Attack kinds: replay (old ciphertexts), bitflip, truncate, reflect (a
// packet sent back to its sender), forge_psk (initiations under a wrong
// PSK), forge_key (initiations claiming a node's id with another static
// key), replay_initiation, garbage (random bytes), handshake_storm (valid-
// looking initiations with a correct PSK and fresh keys: the cookie
// regime), bogus_cookie (a storm initiation re-macked with the cookie flag
// set and a random mac2: a cookie gate that accepts any mac2 spends DH on
// it; the cost oracle counts it as uncookied), replay_edge (transport
// packets replayed at the top and bottom edges of the receiver's replay
// window: sim/attacker.h). Errors name the field and the line, like the rest of the parser.
// Limits: kAttackersMax attackers, kKeyActionsMax actions of each kind.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/env/status.h"
#include "core/node/json_fields.h"

namespace meshd::sim {

constexpr size_t kAttackersMax = 16;
constexpr size_t kKeyActionsMax = 256;
constexpr int64_t kAttackRatePerSMax = 100'000;

enum class AttackKind : uint8_t {
  replay, bitflip, truncate, reflect, forge_psk, forge_key, replay_initiation, garbage, handshake_storm,
  bogus_cookie, replay_edge,
};
constexpr size_t kAttackKinds = static_cast<size_t>(AttackKind::replay_edge) + 1;
std::string_view attack_kind_name(AttackKind kind);

struct AttackerSpec {
  std::vector<AttackKind> kinds;
  int64_t from_us = 0;
  int64_t until_us = 0;
  int64_t rate_per_s = 200;  // injected packets per second, all kinds together
  // Cost bound (sim/cost_oracle.h): X25519 operations a node may spend on
  // handshake initiations without a cookie while this attacker is active;
  // -1: not checked.
  int64_t uncookied_dh_max_per_node = -1;
  int line = 0;
};

// The membership attacker (sim/member_attacker.h): an insider — a running
// member with a valid identity and the PSK — that speaks SWIM over its own
// authenticated sessions. Scenario JSON:
//   "member_attackers": [{"kinds": ["suspect_spam", "claim_identity", "forge_endpoint",
//                                   "replay_update"], "insider": 4,
//                         "from_s": 5, "until_s": 25, "rate_per_s": 20}]
enum class MemberAttackKind : uint8_t { suspect_spam, claim_identity, forge_endpoint, replay_update };
constexpr size_t kMemberAttackKinds = static_cast<size_t>(MemberAttackKind::replay_update) + 1;
std::string_view member_attack_kind_name(MemberAttackKind kind);

struct MemberAttackerSpec {
  std::vector<MemberAttackKind> kinds;
  size_t insider = 0;
  int64_t from_us = 0;
  int64_t until_us = 0;
  int64_t rate_per_s = 20;
  int line = 0;
};

struct KeyAction {
  int64_t at_us = 0;
  size_t node = 0;      // rotate_key; copy_disk: destination
  size_t from = 0;      // copy_disk source
  int line = 0;
};

struct SimSecuritySpec {
  bool plaintext = false;
  bool peer_keys = true;
  int64_t rekey_after_s = 120;
  int64_t retry_initial_ms = 200;
  int64_t retry_max_ms = 2000;
  int64_t handshake_rate_per_s = 200;
  int64_t handshake_burst = 100;
  std::string clone_policy = "refuse";
  std::vector<KeyAction> rotate_key;
  std::vector<KeyAction> copy_disk;
  int64_t expect_clone_refusals = -1;  // -1: not checked
  std::vector<AttackerSpec> attackers;
  std::vector<MemberAttackerSpec> member_attackers;
};

// Parses root["security"], root["attackers"] and root["member_attackers"]
// (all optional).
Status parse_security_spec(const JsonDoc& doc, const nlohmann::json& root, size_t nodes, int64_t duration_us,
                           SimSecuritySpec& out);

}  // namespace meshd::sim
