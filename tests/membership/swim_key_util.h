// Helpers of the tests that use real Ed25519 keys with SWIM
// (swim_admission_test.cpp, swim_signed_test.cpp): deterministic keys,
// addresses, a verifier over a fixed address -> NodeId map, and alive/left
// updates signed by their owner.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "core/crypto/identity.h"
#include "core/membership/swim_service.h"

namespace meshd::membership::test {

inline Address addr_n(uint8_t n) { return Address{0x0A000000u + n, 7000}; }

inline crypto::Identity key_n(uint8_t n) {
  crypto::SigningSeed seed{};
  seed.fill(n);
  return crypto::Identity::from_seed(seed);
}

// The transport authenticated `peers`; keys derive ids and sign as in Node.
inline SwimVerifier verifier_for(std::map<Address, NodeId> peers) {
  SwimVerifier v;
  v.peer_id = [peers](const Address& a) -> std::optional<NodeId> {
    auto it = peers.find(a);
    if (it == peers.end()) return std::nullopt;
    return it->second;
  };
  v.derive_id = [](const PublicKeyBytes& k) { return crypto::node_id_from_public_key(k); };
  v.verify = [](const PublicKeyBytes& k, std::span<const uint8_t> msg, const SignatureBytes& sig) {
    return crypto::verify_signature(k, msg, sig);
  };
  return v;
}

inline MemberUpdate signed_alive(const crypto::Identity& key, uint8_t n, uint64_t inc) {
  MemberUpdate u;
  u.id = key.node_id();
  u.incarnation = inc;
  u.instance = 1;
  u.address = addr_n(n);
  u.public_key = key.public_key();
  u.hostname = "n" + std::to_string(n);
  u.signature = key.sign(update_signing_bytes(u));
  return u;
}

inline MemberUpdate signed_left(const crypto::Identity& key, uint64_t inc) {
  MemberUpdate u;
  u.id = key.node_id();
  u.incarnation = inc;
  u.status = MemberStatus::left;
  u.public_key = key.public_key();
  u.signature = key.sign(update_signing_bytes(u));
  return u;
}

}  // namespace meshd::membership::test
