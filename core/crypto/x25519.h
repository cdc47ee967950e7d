// X25519 Diffie-Hellman for Noise's "25519" DH functions (RFC 7748).
//
// Keys are raw 32-byte arrays: a private key is any 32 bytes (clamped by
// the scalar multiplication), a public key is a Montgomery u-coordinate.
// dh() fails (Errc::invalid) when the shared secret is all zeros, i.e. the
// peer sent a low-order point; Noise allows rejecting that and accepting it
// would let an attacker force a known shared secret. No allocation.
#pragma once

#include <array>
#include <cstdint>

#include "core/env/status.h"

namespace meshd::crypto {

constexpr size_t kDhBytes = 32;  // Noise DHLEN
using DhPrivate = std::array<uint8_t, kDhBytes>;
using DhPublic = std::array<uint8_t, kDhBytes>;

struct DhKeyPair {
  DhPrivate private_key{};
  DhPublic public_key{};
};

// Idempotent libsodium initialisation (picks fast implementations).
void ensure_sodium();

DhPublic dh_public_from_private(const DhPrivate& private_key);
DhKeyPair dh_keypair_from_private(const DhPrivate& private_key);
// Cost accounting (sim/cost_oracle.h): X25519 shared-secret computations
// made by this process so far. Only counted, never read by protocol code.
uint64_t dh_operations_total();

Result<std::array<uint8_t, kDhBytes>> dh(const DhPrivate& private_key, const DhPublic& public_key);

}  // namespace meshd::crypto
