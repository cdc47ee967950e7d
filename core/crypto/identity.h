// Identity: a node's long-term Ed25519 keypair and what derives from it.
//
//  * Generated from a 32-byte seed drawn from a meshd::RandomStream and
//    expanded with crypto_sign_seed_keypair — never libsodium's global
//    RNG — so the simulator reproduces every node's keys from the run seed.
//  * NodeId = BLAKE2b-128(key = "meshd-node-id-v1", message = the node's
//    *genesis* Ed25519 public key) — fixed at creation and kept across key
//    rotations (the key file stores it), so peers and routes never see a
//    node change identity when it rotates. 128 bits: a collision among n honest nodes has probability
//    ~n^2 / 2^129 (1e6 nodes: ~1.5e-27); targeting one existing id costs a
//    2^128 second-preimage search. Keyed with a domain string so the id can
//    never be confused with any other BLAKE2b use of the key.
//  * Noise statics are the X25519 conversion of the Ed25519 key
//    (crypto_sign_ed25519_{pk,sk}_to_curve25519): one key to manage, and a
//    peer's signed announcement of its Ed25519 key also fixes its Noise key.
// Value type; the secret is wiped on destruction.
#pragma once

#include <array>
#include <optional>
#include <span>

#include "core/crypto/x25519.h"
#include "core/env/random.h"
#include "core/wire/node_id.h"

namespace meshd::crypto {

constexpr size_t kSigningSeedBytes = 32;
constexpr size_t kSigningPublicBytes = 32;
constexpr size_t kSigningSecretBytes = 64;
constexpr size_t kSignatureBytes = 64;

using SigningSeed = std::array<uint8_t, kSigningSeedBytes>;
using SigningPublic = std::array<uint8_t, kSigningPublicBytes>;
using Signature = std::array<uint8_t, kSignatureBytes>;

NodeId node_id_from_public_key(const SigningPublic& public_key);
// A peer's Noise static key from its Ed25519 key; nullopt if the key is not
// a valid Ed25519 point (hostile input).
std::optional<DhPublic> dh_public_from_signing_public(const SigningPublic& public_key);
// Cost accounting (sim/cost_oracle.h): signature verifications made by
// this process so far. Only counted, never read by protocol code.
uint64_t signature_verifications_total();
bool verify_signature(const SigningPublic& public_key, std::span<const uint8_t> message,
                      const Signature& signature);

class Identity {
 public:
  // node_id: nullopt for a genesis identity (derived from the new key);
  // a rotated identity keeps the node's existing NodeId.
  static Identity generate(RandomStream& rng, std::optional<NodeId> node_id = std::nullopt);
  static Identity from_seed(const SigningSeed& seed, std::optional<NodeId> node_id = std::nullopt);

  Identity(const Identity&) = default;
  Identity& operator=(const Identity&) = default;
  ~Identity();

  const SigningSeed& seed() const { return seed_; }
  const SigningPublic& public_key() const { return public_key_; }
  const NodeId& node_id() const { return node_id_; }
  const DhPrivate& dh_private() const { return dh_private_; }
  const DhPublic& dh_public() const { return dh_public_; }
  Signature sign(std::span<const uint8_t> message) const;

 private:
  Identity() = default;
  SigningSeed seed_{};
  std::array<uint8_t, kSigningSecretBytes> secret_key_{};
  SigningPublic public_key_{};
  NodeId node_id_;
  DhPrivate dh_private_{};
  DhPublic dh_public_{};
};

}  // namespace meshd::crypto
