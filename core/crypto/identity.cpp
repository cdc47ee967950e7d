#include "core/crypto/identity.h"

#include <sodium.h>

#include <string_view>

#include "core/env/assert.h"

namespace meshd::crypto {

namespace {
constexpr std::string_view kNodeIdKey = "meshd-node-id-v1";
}  // namespace

NodeId node_id_from_public_key(const SigningPublic& public_key) {
  NodeId id;
  MESHD_ASSERT(crypto_generichash_blake2b(id.bytes.data(), id.bytes.size(), public_key.data(),
                                          public_key.size(),
                                          reinterpret_cast<const uint8_t*>(kNodeIdKey.data()),
                                          kNodeIdKey.size()) == 0);
  return id;
}

std::optional<DhPublic> dh_public_from_signing_public(const SigningPublic& public_key) {
  ensure_sodium();
  DhPublic out{};
  if (crypto_sign_ed25519_pk_to_curve25519(out.data(), public_key.data()) != 0) return std::nullopt;
  return out;
}

namespace {
uint64_t g_signature_verifications = 0;  // lint:allow (a cost counter; no behaviour reads it)
}  // namespace

uint64_t signature_verifications_total() { return g_signature_verifications; }

bool verify_signature(const SigningPublic& public_key, std::span<const uint8_t> message,
                      const Signature& signature) {
  ensure_sodium();
  ++g_signature_verifications;
  return crypto_sign_verify_detached(signature.data(), message.data(), message.size(),
                                     public_key.data()) == 0;
}

Identity Identity::generate(RandomStream& rng, std::optional<NodeId> node_id) {
  SigningSeed seed{};
  rng.fill(seed);
  Identity id = from_seed(seed, node_id);
  sodium_memzero(seed.data(), seed.size());
  return id;
}

Identity Identity::from_seed(const SigningSeed& seed, std::optional<NodeId> node_id) {
  ensure_sodium();
  Identity id;
  id.seed_ = seed;
  MESHD_ASSERT(crypto_sign_seed_keypair(id.public_key_.data(), id.secret_key_.data(), seed.data()) == 0);
  id.node_id_ = node_id ? *node_id : node_id_from_public_key(id.public_key_);
  MESHD_ASSERT(crypto_sign_ed25519_sk_to_curve25519(id.dh_private_.data(), id.secret_key_.data()) == 0);
  id.dh_public_ = dh_public_from_private(id.dh_private_);
  return id;
}

Identity::~Identity() {
  sodium_memzero(seed_.data(), seed_.size());
  sodium_memzero(secret_key_.data(), secret_key_.size());
  sodium_memzero(dh_private_.data(), dh_private_.size());
}

Signature Identity::sign(std::span<const uint8_t> message) const {
  Signature sig{};
  MESHD_ASSERT(crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(),
                                    secret_key_.data()) == 0);
  return sig;
}

}  // namespace meshd::crypto
