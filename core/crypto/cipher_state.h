// Noise CipherState (spec rev 34, §5.1) for ChaChaPoly: ChaCha20-Poly1305
// IETF with a 96-bit nonce of 32 zero bits followed by the 64-bit counter n
// in little-endian.
//
// Contract:
//  * Without a key, encrypt/decrypt copy plaintext unchanged (Noise: the
//    handshake before the first MixKey).
//  * n == 2^64-1 is reserved: encrypting or decrypting at it fails with
//    Errc::too_large and never touches the AEAD ("nonce exhausted"); the
//    caller must rekey or re-handshake. So a nonce is never reused.
//  * A failed decryption (Errc::corrupt) does not advance n.
//  * Output spans must have room for input + kAeadTagBytes (asserted);
//    input and output may be the same buffer (in-place), never partially
//    overlapping. No allocation.
//  * rekey() implements REKEY: k = first 32 bytes of ENCRYPT(k, 2^64-1, "", zeros).
// The key is wiped on destruction. Copyable (Split hands copies out).
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "core/env/status.h"

namespace meshd::crypto {

constexpr size_t kCipherKeyBytes = 32;
constexpr size_t kAeadTagBytes = 16;
constexpr uint64_t kNonceReserved = UINT64_MAX;

using CipherKey = std::array<uint8_t, kCipherKeyBytes>;

class CipherState {
 public:
  CipherState() = default;
  CipherState(const CipherState&) = default;
  CipherState& operator=(const CipherState&) = default;
  ~CipherState();

  void initialize_key(const CipherKey& key);
  void clear_key();
  bool has_key() const { return has_key_; }
  void set_nonce(uint64_t nonce) { nonce_ = nonce; }
  uint64_t nonce() const { return nonce_; }

  // Returns the number of bytes written: plaintext.size() (+16 with a key).
  Result<size_t> encrypt_with_ad(std::span<const uint8_t> ad, std::span<const uint8_t> plaintext,
                                 std::span<uint8_t> out);
  // Returns the plaintext length; Errc::invalid if ciphertext is shorter
  // than the tag, Errc::corrupt if authentication fails.
  Result<size_t> decrypt_with_ad(std::span<const uint8_t> ad, std::span<const uint8_t> ciphertext,
                                 std::span<uint8_t> out);

  // Explicit-nonce forms for transport sessions that carry the counter on
  // the wire (out-of-order receive). Do not touch nonce().
  static Status encrypt_at(const CipherKey& key, uint64_t nonce, std::span<const uint8_t> ad,
                           std::span<const uint8_t> plaintext, std::span<uint8_t> out);
  static Status decrypt_at(const CipherKey& key, uint64_t nonce, std::span<const uint8_t> ad,
                           std::span<const uint8_t> ciphertext, std::span<uint8_t> out);

  void rekey();
  const CipherKey& key() const { return key_; }

 private:
  CipherKey key_{};
  uint64_t nonce_ = 0;
  bool has_key_ = false;
};

}  // namespace meshd::crypto
