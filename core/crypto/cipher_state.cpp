#include "core/crypto/cipher_state.h"

#include <sodium.h>

#include <cstring>

#include "core/env/assert.h"

namespace meshd::crypto {

namespace {

using Nonce12 = std::array<uint8_t, crypto_aead_chacha20poly1305_ietf_NPUBBYTES>;
static_assert(sizeof(Nonce12) == 12);
static_assert(crypto_aead_chacha20poly1305_ietf_ABYTES == kAeadTagBytes);
static_assert(crypto_aead_chacha20poly1305_ietf_KEYBYTES == kCipherKeyBytes);

Nonce12 make_nonce(uint64_t n) {
  Nonce12 nonce{};  // first 4 bytes stay zero
  for (int i = 0; i < 8; ++i) nonce[4 + i] = static_cast<uint8_t>(n >> (8 * i));
  return nonce;
}

bool overlap_ok(std::span<const uint8_t> in, std::span<uint8_t> out) {
  const auto a = reinterpret_cast<uintptr_t>(in.data());
  const auto b = reinterpret_cast<uintptr_t>(out.data());
  if (in.empty() || a == b) return true;
  return a + in.size() <= b || b + out.size() <= a;
}

}  // namespace

CipherState::~CipherState() { sodium_memzero(key_.data(), key_.size()); }

void CipherState::initialize_key(const CipherKey& key) {
  key_ = key;
  has_key_ = true;
  nonce_ = 0;
}

void CipherState::clear_key() {
  sodium_memzero(key_.data(), key_.size());
  has_key_ = false;
  nonce_ = 0;
}

Status CipherState::encrypt_at(const CipherKey& key, uint64_t nonce, std::span<const uint8_t> ad,
                               std::span<const uint8_t> plaintext, std::span<uint8_t> out) {
  MESHD_ASSERT(out.size() >= plaintext.size() + kAeadTagBytes);
  MESHD_ASSERT(overlap_ok(plaintext, out));
  if (nonce == kNonceReserved) return Status(Errc::too_large, "noise: nonce exhausted");
  const Nonce12 n = make_nonce(nonce);
  unsigned long long written = 0;
  MESHD_ASSERT(crypto_aead_chacha20poly1305_ietf_encrypt(out.data(), &written, plaintext.data(),
                                                         plaintext.size(), ad.data(), ad.size(),
                                                         nullptr, n.data(), key.data()) == 0);
  MESHD_ASSERT(written == plaintext.size() + kAeadTagBytes);
  return Status::ok();
}

Status CipherState::decrypt_at(const CipherKey& key, uint64_t nonce, std::span<const uint8_t> ad,
                               std::span<const uint8_t> ciphertext, std::span<uint8_t> out) {
  if (ciphertext.size() < kAeadTagBytes) return Status(Errc::invalid, "noise: ciphertext too short");
  MESHD_ASSERT(out.size() >= ciphertext.size() - kAeadTagBytes);
  MESHD_ASSERT(overlap_ok(ciphertext, out));
  if (nonce == kNonceReserved) return Status(Errc::too_large, "noise: nonce exhausted");
  const Nonce12 n = make_nonce(nonce);
  unsigned long long written = 0;
  if (crypto_aead_chacha20poly1305_ietf_decrypt(out.data(), &written, nullptr, ciphertext.data(),
                                                ciphertext.size(), ad.data(), ad.size(), n.data(),
                                                key.data()) != 0) {
    return Status(Errc::corrupt, "noise: authentication failed");
  }
  return Status::ok();
}

Result<size_t> CipherState::encrypt_with_ad(std::span<const uint8_t> ad,
                                            std::span<const uint8_t> plaintext,
                                            std::span<uint8_t> out) {
  if (!has_key_) {
    MESHD_ASSERT(out.size() >= plaintext.size());
    if (!plaintext.empty() && plaintext.data() != out.data()) {
      std::memmove(out.data(), plaintext.data(), plaintext.size());
    }
    return plaintext.size();
  }
  if (Status s = encrypt_at(key_, nonce_, ad, plaintext, out); !s) return s;
  ++nonce_;
  return plaintext.size() + kAeadTagBytes;
}

Result<size_t> CipherState::decrypt_with_ad(std::span<const uint8_t> ad,
                                            std::span<const uint8_t> ciphertext,
                                            std::span<uint8_t> out) {
  if (!has_key_) {
    MESHD_ASSERT(out.size() >= ciphertext.size());
    if (!ciphertext.empty() && ciphertext.data() != out.data()) {
      std::memmove(out.data(), ciphertext.data(), ciphertext.size());
    }
    return ciphertext.size();
  }
  if (Status s = decrypt_at(key_, nonce_, ad, ciphertext, out); !s) return s;
  ++nonce_;
  return ciphertext.size() - kAeadTagBytes;
}

void CipherState::rekey() {
  MESHD_ASSERT(has_key_);
  std::array<uint8_t, kCipherKeyBytes> zeros{};
  std::array<uint8_t, kCipherKeyBytes + kAeadTagBytes> out{};
  // The reserved nonce is legal here: REKEY is the one user of 2^64-1.
  const Nonce12 n = make_nonce(kNonceReserved);
  unsigned long long written = 0;
  MESHD_ASSERT(crypto_aead_chacha20poly1305_ietf_encrypt(out.data(), &written, zeros.data(),
                                                         zeros.size(), nullptr, 0, nullptr,
                                                         n.data(), key_.data()) == 0);
  std::memcpy(key_.data(), out.data(), kCipherKeyBytes);
  sodium_memzero(out.data(), out.size());
}

}  // namespace meshd::crypto
