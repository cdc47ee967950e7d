// MemberAttacker: an authenticated but malicious member (issue 19). The
// insider is a running node of the scenario — a valid identity and the
// PSK — that speaks SWIM over its own encrypted sessions (its transport's
// send), so every datagram passes the transport and the sender check.
// Per MemberAttackerSpec it fires rate_per_s times between from and until,
// each time one kind drawn from the spec:
//   suspect_spam    "suspect" about a live member at its current
//                   incarnation (an observation anyone may gossip)
//   claim_identity  an alive update for another member's NodeId at a
//                   higher incarnation, carrying the insider's own key and
//                   endpoint, signed by the insider
//   forge_endpoint  another member's genuine signed alive update with the
//                   endpoint changed to the insider's (signature kept)
//   replay_update   a genuine signed alive update recorded earlier, resent
//                   (a stale incarnation by now)
// All choices come from world.random().stream("member_attacker", ...).
//
// MemberIdentityOracle (polled every kMemberIdentityPollUs while anything
// runs): no member entry of a live node other than the insider ever holds
// a key, endpoint or digest its owner did not sign — the entry's public key
// must be one its owner's node has held, and its signature must verify
// over the entry's identity fields. "A node is never declared failed
// because of a forged suspicion alone" is the MembershipOracle's
// no_false_failed (scenarios/membership-attacker.json sets it).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <array>
#include <vector>

#include "core/membership/member_table.h"
#include "core/wire/node_id.h"
#include "sim/attacker_spec.h"
#include "sim/world.h"

namespace meshd {
class Node;
}

namespace meshd::sim {

constexpr int64_t kMemberIdentityPollUs = 250'000;
constexpr size_t kRecordedUpdatesMax = 64;

class MemberAttacker {
 public:
  // The node `i` when it runs a node (else nullptr).
  using NodeFn = std::function<Node*(size_t)>;
  MemberAttacker(World& world, std::vector<MemberAttackerSpec> specs, NodeFn node);

  void schedule();
  // Every key node `i` holds (boots and rotations): the owners' truth.
  void on_key(size_t node, const NodeId& id, const membership::PublicKeyBytes& key);

  uint64_t injected(MemberAttackKind kind) const { return injected_[static_cast<size_t>(kind)]; }
  const std::vector<std::string>& violations() const { return violations_; }
  uint64_t violation_count() const { return violation_count_; }
  uint64_t entries_checked() const { return entries_checked_; }

 private:
  void fire(size_t spec_index);
  bool inject(const MemberAttackerSpec& spec, MemberAttackKind kind);
  void poll();
  void check_entry(size_t observer, const membership::Member& m);
  void violate(std::string text);

  World& world_;
  std::vector<MemberAttackerSpec> specs_;
  NodeFn node_;
  RandomStream rng_;
  std::set<size_t> insiders_;
  std::map<NodeId, size_t> owner_;                               // NodeId -> node index
  std::map<NodeId, std::set<membership::PublicKeyBytes>> keys_;  // keys each id's owner held
  std::vector<membership::MemberUpdate> recorded_;               // genuine alive updates
  size_t recorded_next_ = 0;
  std::array<uint64_t, kMemberAttackKinds> injected_{};
  std::vector<std::string> violations_;
  std::set<std::string> reported_;  // one report per (observer, entry, key) fact
  std::set<std::vector<uint8_t>> verified_;  // signing bytes + signature already verified
  uint64_t violation_count_ = 0;
  uint64_t entries_checked_ = 0;
  bool polling_ = false;
};

}  // namespace meshd::sim
