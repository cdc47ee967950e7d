// BLAKE2b-512, HMAC-BLAKE2b and the Noise HKDF (Noise spec rev 34, §4.3).
//
// Noise's HASH for "BLAKE2b" is unkeyed BLAKE2b-512 (HASHLEN 64, BLOCKLEN
// 128) and its HMAC is RFC 2104 HMAC over that hash. libsodium's *keyed*
// BLAKE2b is a different MAC (BLAKE2's own keying), so HMAC is built here
// from two unkeyed hashes. Pure functions: no allocation, no errors; inputs
// may be any length. Secrets on the stack are wiped before returning.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace meshd::crypto {

constexpr size_t kHashBytes = 64;        // Noise HASHLEN for BLAKE2b
constexpr size_t kHashBlockBytes = 128;  // Noise BLOCKLEN for BLAKE2b

using Hash64 = std::array<uint8_t, kHashBytes>;

// BLAKE2b-512(a || b). Two parts so callers never concatenate (MixHash).
Hash64 blake2b(std::span<const uint8_t> a, std::span<const uint8_t> b = {});

// Unkeyed BLAKE2b-256(bytes): the checksum of the on-disk key records
// (key_store.cpp, key_archive.cpp).
using Hash32 = std::array<uint8_t, 32>;
Hash32 blake2b_256(std::span<const uint8_t> bytes);

// HMAC-BLAKE2b(key, a || b); key.size() <= kHashBlockBytes (asserted; Noise
// only ever keys HMAC with a HASHLEN chaining key).
Hash64 hmac_blake2b(std::span<const uint8_t> key, std::span<const uint8_t> a,
                    std::span<const uint8_t> b = {});

// Noise HKDF(chaining_key, input_key_material, num_outputs) with
// num_outputs in {2, 3}; out3 is left untouched when num_outputs == 2.
void hkdf(const Hash64& chaining_key, std::span<const uint8_t> input_key_material, int num_outputs,
          Hash64& out1, Hash64& out2, Hash64* out3);

}  // namespace meshd::crypto
