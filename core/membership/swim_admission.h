// SWIM identity rules (docs/membership.md, "Identity rules"): which
// datagrams a member may act on at all, checked by SwimMember before it
// acts on anything, with the verifier its owner gives it. Pure: the rules
// see the message, the member table and the verifier's answers, nothing
// else, so they are tested without a runtime (swim_admission_test.cpp).
//
//  * sender: the message's `sender` NodeId must equal the NodeId the
//    transport authenticated for the source address (peer_id); otherwise
//    the datagram is dropped (sender_mismatch).
//  * alive/left claims: an alive or left update about node X from a sender
//    other than X is accepted only if its public key equals the key
//    already bound to X in our table, or X has no identity with us yet and
//    X is the NodeId derived from that key (derive_id); otherwise the whole
//    datagram is dropped (identity_rejected). An honest node never sends
//    such an update, so dropping the datagram loses nothing honest. The
//    sender itself was authenticated and may carry a new key of its own (a
//    rotation).
//  * signatures: alive and left updates must carry a valid signature by the
//    key they name (verify), so no relay can forge, alter or replay-with-
//    changes a node's announcement or leave; a bad one drops the datagram
//    (bad_signature). An update identical to the one already in the table
//    (same incarnation, same signature, same key) was verified when it got
//    there and is not verified again.
// Each unset function switches its rule off (plaintext meshes and pure
// simulations have no authenticated peer to compare with).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>

#include "core/env/address.h"
#include "core/membership/member_table.h"
#include "core/membership/swim_wire.h"

namespace meshd::membership {

struct SwimVerifier {
  // The NodeId the transport authenticated for a source address, nullopt
  // if none. Unset: the sender is not checked.
  std::function<std::optional<NodeId>(const Address&)> peer_id;
  // The NodeId a public key derives to. Unset: alive/left claims not checked.
  std::function<NodeId(const PublicKeyBytes&)> derive_id;
  // Checks an Ed25519 signature. Unset: signatures are not checked.
  std::function<bool(const PublicKeyBytes&, std::span<const uint8_t>, const SignatureBytes&)> verify;

  bool any() const { return peer_id || derive_id || verify; }
};

// A datagram the rules refused: a security finding for the operator.
struct IdentityRejection {
  SwimDrop reason = SwimDrop::none;  // sender_mismatch, identity_rejected or bad_signature
  Address from;
  NodeId claimed;                    // the sender or the update's subject
  std::string detail;
};

struct AdmissionResult {
  SwimDrop drop = SwimDrop::none;           // none: admitted
  std::optional<IdentityRejection> rejection;  // set iff drop != none
  uint64_t signatures_verified = 0;         // verify() calls made
};

// Applies the rules to a decoded message from `from` (updates about us are
// checked like any other).
AdmissionResult admit(const SwimVerifier& verifier, const MemberTable& table, const Address& from,
                      const SwimMessage& m);

}  // namespace meshd::membership
