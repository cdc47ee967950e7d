// MemberTable: the membership layer's peer table and its SWIM merge rules.
//
// One entry per NodeId. An entry has two independently merged parts:
//  * identity  — instance, endpoints, public key, hostname, digests and the
//    owner's signature — taken from the best `alive` update seen, ordered
//    by (incarnation, identity bytes);
//  * verdict   — (incarnation, status) — the maximum over every update
//    seen, ordered by incarnation, then status rank
//    alive < suspect < failed < left.
// So: a higher incarnation always wins; at equal incarnation failed/left
// override suspect, which overrides alive; `left` is sticky for its
// incarnation (only an alive update with a *higher* incarnation — a rejoin
// after restart — brings the node back). Both parts are joins of a total
// order, which makes merging commutative, associative and idempotent: any
// delivery order of the same set of updates yields the same table
// (prop/membership_props.cpp checks it).
//
// An update for an unknown node creates an entry even if it is not alive
// (an identity-less tombstone): that keeps merging order-independent and
// stops a stale alive from resurrecting a node already known failed. An
// entry without identity is never probed nor resolved by hostname.
//
// Bounded: at most `capacity` entries (<= kMembersMax); an update for a new
// node when full is rejected and counted in overflow(). Failed and left
// entries (and identity-less ones) are removed by reap() once their status
// has been unchanged for reap_after_us; a reaped node may rejoin with any
// incarnation. Times are the local monotonic clock in microseconds.
// Pure data structure: no I/O, no clock, no randomness. Not thread-safe.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/env/address.h"
#include "core/wire/node_id.h"

namespace meshd::membership {

constexpr size_t kMembersMax = 4096;
constexpr size_t kPublicKeyBytes = 32;
constexpr size_t kHostnameBytesMax = 63;  // one DNS label
constexpr size_t kSignatureBytes = 64;    // Ed25519
// Endpoints one node announces (primary + alternates): a multi-homed node
// (LAN + NAT'd public address) is reachable on each.
constexpr size_t kEndpointsMax = 4;

using PublicKeyBytes = std::array<uint8_t, kPublicKeyBytes>;
using SignatureBytes = std::array<uint8_t, kSignatureBytes>;

// The endpoints after the primary `address`, in the owner's order of
// preference. Value type, totally ordered (count, then addresses).
struct AltEndpoints {
  std::array<Address, kEndpointsMax - 1> at{};
  uint8_t count = 0;
  std::span<const Address> view() const { return std::span(at.data(), count); }
  bool push(const Address& a) {
    if (count == at.size()) return false;
    at[count++] = a;
    return true;
  }
  bool operator==(const AltEndpoints& o) const {
    return count == o.count && std::equal(at.begin(), at.begin() + count, o.at.begin());
  }
};
int compare_endpoints(const AltEndpoints& a, const AltEndpoints& b);

struct Member;
struct MemberUpdate;
// The entry's identity as the alive update that set it (id and status
// are the caller's): what its owner signed.
MemberUpdate identity_of(const Member& m);

// Wire values are fixed (swim_wire.h); the order of the values is the
// merge rank at equal incarnation.
enum class MemberStatus : uint8_t { alive = 1, suspect = 2, failed = 3, left = 4 };
std::string_view member_status_name(MemberStatus status);

// One gossiped fact about a node: the unit of dissemination and merging.
// Identity fields are meaningful only when status == alive; `public_key`
// and `signature` for alive and left (the facts only the node itself may
// state: swim_wire.h signs them with its key); `origin` (who suspected or
// declared the node failed) only for suspect/failed.
struct MemberUpdate {
  NodeId id;
  uint64_t incarnation = 0;
  MemberStatus status = MemberStatus::alive;
  uint64_t instance = 0;  // the owner's life (persisted boot count): orders twins
  Address address;        // primary endpoint
  AltEndpoints alt_endpoints;
  PublicKeyBytes public_key{};
  std::string hostname;  // <= kHostnameBytesMax bytes
  uint64_t fingerprint_digest = 0;  // BLAKE2b-64 of the host fingerprint (0: unknown)
  uint64_t capability_digest = 0;   // digest of the announced capability set (0: none)
  SignatureBytes signature{};       // by the owner's key; zero in plaintext meshes
  NodeId origin;
  bool operator==(const MemberUpdate&) const = default;
};

// The identity fields an alive update shares, by name, with whatever holds
// them (a Member entry, our own SwimIdentity), copied either way: one copy
// for update -> entry, entry -> update and self -> update.
template <class From, class To>
void copy_identity_fields(const From& from, To& to) {
  to.instance = from.instance;
  to.address = from.address;
  to.alt_endpoints = from.alt_endpoints;
  to.public_key = from.public_key;
  to.hostname = from.hostname;
  to.fingerprint_digest = from.fingerprint_digest;
  to.capability_digest = from.capability_digest;
}

struct Member {
  NodeId id;
  bool has_identity = false;      // an alive update has been merged
  uint64_t identity_incarnation = 0;
  uint64_t instance = 0;
  Address address;
  AltEndpoints alt_endpoints;
  PublicKeyBytes public_key{};
  std::string hostname;
  uint64_t fingerprint_digest = 0;
  uint64_t capability_digest = 0;
  SignatureBytes signature{};     // the owner's, over the identity's alive update
  PublicKeyBytes left_key{};      // status left: the key and signature of that
  SignatureBytes left_signature{};//   left update (re-gossiped as received)
  uint64_t incarnation = 0;       // of the verdict
  MemberStatus status = MemberStatus::alive;
  int64_t status_since_us = 0;    // local time the verdict last changed
  int64_t last_heard_us = -1;     // last direct contact or accepted alive; -1 never
  int64_t first_seen_us = 0;
  // Round trip of our direct probes (ping -> the target's own ack), folded
  // like RFC 6298's SRTT/RTTVAR in integer µs; 0 until the first sample.
  int64_t srtt_us = 0;
  int64_t rttvar_us = 0;
  bool active() const {
    return has_identity && (status == MemberStatus::alive || status == MemberStatus::suspect);
  }
};

// What one merge did.
struct MergeResult {
  bool rejected_overflow = false;
  bool created = false;            // a new entry
  bool verdict_changed = false;    // (incarnation, status) moved
  bool status_changed = false;     // status differs from before
  bool identity_changed = false;
  bool gained_identity = false;    // first alive update for this node
  MemberStatus old_status = MemberStatus::alive;
  bool changed() const { return verdict_changed || identity_changed; }
};

// Total orders used by the merge (exposed for tests and properties).
// Returns <0, 0, >0 like memcmp.
int compare_verdict(uint64_t inc_a, MemberStatus a, uint64_t inc_b, MemberStatus b);
int compare_identity(const MemberUpdate& a, const MemberUpdate& b);

class MemberTable {
 public:
  explicit MemberTable(size_t capacity = kMembersMax);

  // Merges one update at local time now_us (asserts hostname length).
  MergeResult apply(const MemberUpdate& update, int64_t now_us);
  // Direct contact from a known node (ack, ping): refreshes last_heard_us.
  void heard(const NodeId& id, int64_t now_us);
  // One round-trip sample of a direct probe of a known node (ignored for
  // an unknown one); rtt_us >= 0.
  void rtt_sample(const NodeId& id, int64_t rtt_us);
  // Removes failed/left/identity-less entries whose status is older than
  // reap_after_us; returns the removed ids in NodeId order.
  std::vector<NodeId> reap(int64_t now_us, int64_t reap_after_us);
  // The node's best update as gossiped (alive records carry the identity;
  // others carry id, incarnation and status).
  std::optional<MemberUpdate> update_of(const NodeId& id) const;

  const Member* find(const NodeId& id) const;
  // The active (alive/suspect) member with this hostname whose heartbeat
  // (last_heard_us) is most recent; ties: higher incarnation, then lower
  // NodeId. Deterministic: a pure function of the table.
  std::optional<NodeId> resolve_hostname(std::string_view hostname) const;

  const std::map<NodeId, Member>& members() const { return members_; }
  size_t size() const { return members_.size(); }
  size_t capacity() const { return capacity_; }
  size_t count_active() const;
  uint64_t overflow() const { return overflow_; }

 private:
  std::map<NodeId, Member> members_;
  size_t capacity_;
  uint64_t overflow_ = 0;
};

}  // namespace meshd::membership
