#include "core/crypto/x25519.h"

#include <sodium.h>

#include "core/env/assert.h"

namespace meshd::crypto {

void ensure_sodium() {
  // sodium_init() is idempotent and returns 1 when already initialised.
  static const bool initialised = sodium_init() >= 0;
  MESHD_ASSERT_MSG(initialised, "libsodium failed to initialise");
}

DhPublic dh_public_from_private(const DhPrivate& private_key) {
  ensure_sodium();
  DhPublic pub{};
  MESHD_ASSERT(crypto_scalarmult_curve25519_base(pub.data(), private_key.data()) == 0);
  return pub;
}

DhKeyPair dh_keypair_from_private(const DhPrivate& private_key) {
  return DhKeyPair{private_key, dh_public_from_private(private_key)};
}

namespace {
uint64_t g_dh_operations = 0;  // lint:allow (a cost counter; no behaviour reads it)
}  // namespace

uint64_t dh_operations_total() { return g_dh_operations; }

Result<std::array<uint8_t, kDhBytes>> dh(const DhPrivate& private_key, const DhPublic& public_key) {
  ensure_sodium();
  ++g_dh_operations;
  std::array<uint8_t, kDhBytes> shared{};
  // libsodium returns -1 exactly when the result is the all-zero point.
  if (crypto_scalarmult_curve25519(shared.data(), private_key.data(), public_key.data()) != 0) {
    return Status(Errc::invalid, "x25519: low-order public key");
  }
  return shared;
}

}  // namespace meshd::crypto
