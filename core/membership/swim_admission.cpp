#include "core/membership/swim_admission.h"

#include <fmt/format.h>

#include "core/env/assert.h"

namespace meshd::membership {

namespace {

AdmissionResult rejected(SwimDrop reason, const Address& from, const NodeId& claimed, std::string detail,
                         uint64_t verified) {
  MESHD_ASSERT(reason == SwimDrop::sender_mismatch || reason == SwimDrop::identity_rejected ||
               reason == SwimDrop::bad_signature);
  AdmissionResult r;
  r.drop = reason;
  r.rejection = IdentityRejection{reason, from, claimed, std::move(detail)};
  r.signatures_verified = verified;
  return r;
}

// The same signed fact is already in the table: it was verified then.
// Every signed field must match, not only the signature: else an insider
// could relay a member's signed update with its endpoint swapped (found by
// the membership attacker, docs/testbed-power.md).
bool already_verified(const Member* known, const MemberUpdate& u) {
  if (known == nullptr) return false;
  if (u.status == MemberStatus::alive) {
    return known->has_identity && known->identity_incarnation == u.incarnation &&
           known->signature == u.signature && known->public_key == u.public_key && known->address == u.address &&
           compare_endpoints(known->alt_endpoints, u.alt_endpoints) == 0 && known->instance == u.instance &&
           known->hostname == u.hostname && known->fingerprint_digest == u.fingerprint_digest &&
           known->capability_digest == u.capability_digest;
  }
  return known->status == MemberStatus::left && known->incarnation == u.incarnation &&
         known->left_signature == u.signature && known->left_key == u.public_key;
}

}  // namespace

AdmissionResult admit(const SwimVerifier& verifier, const MemberTable& table, const Address& from,
                      const SwimMessage& m) {
  if (!verifier.any()) return {};
  if (verifier.peer_id) {
    const std::optional<NodeId> authenticated = verifier.peer_id(from);
    if (!authenticated || *authenticated != m.sender) {
      return rejected(SwimDrop::sender_mismatch, from, m.sender,
                      authenticated ? "sender differs from the authenticated peer " + authenticated->to_hex()
                                    : std::string("no authenticated peer at this address"),
                      0);
    }
  }
  uint64_t verified = 0;
  for (const MemberUpdate& u : m.updates) {
    if (u.status != MemberStatus::alive && u.status != MemberStatus::left) continue;
    const Member* known = table.find(u.id);
    if (verifier.derive_id && u.id != m.sender) {
      // About others only the bound key, or for a node new to us the key
      // its id derives from.
      const bool bound = known != nullptr && known->has_identity;
      if (bound ? known->public_key != u.public_key : verifier.derive_id(u.public_key) != u.id) {
        return rejected(SwimDrop::identity_rejected, from, u.id,
                        bound ? fmt::format("{} update with a key other than the bound one",
                                            member_status_name(u.status))
                              : fmt::format("{} update for an unknown node whose id is not its key's",
                                            member_status_name(u.status)),
                        verified);
      }
    }
    if (!verifier.verify || already_verified(known, u)) continue;
    ++verified;
    if (!verifier.verify(u.public_key, update_signing_bytes(u), u.signature)) {
      return rejected(SwimDrop::bad_signature, from, u.id,
                      fmt::format("{} update whose signature does not verify", member_status_name(u.status)),
                      verified);
    }
  }
  MESHD_ASSERT(verified <= m.updates.size());
  return AdmissionResult{SwimDrop::none, std::nullopt, verified};
}

}  // namespace meshd::membership
