#include "core/crypto/symmetric_state.h"

#include <sodium.h>

#include <cstring>

namespace meshd::crypto {

namespace {
CipherKey truncate_key(const Hash64& h) {
  CipherKey k{};
  std::memcpy(k.data(), h.data(), k.size());
  return k;
}
}  // namespace

SymmetricState::~SymmetricState() {
  sodium_memzero(ck_.data(), ck_.size());
  sodium_memzero(h_.data(), h_.size());
}

void SymmetricState::initialize(std::string_view protocol_name) {
  const auto* name = reinterpret_cast<const uint8_t*>(protocol_name.data());
  if (protocol_name.size() <= kHashBytes) {
    h_.fill(0);
    std::memcpy(h_.data(), name, protocol_name.size());
  } else {
    h_ = blake2b(std::span(name, protocol_name.size()));
  }
  ck_ = h_;
  cipher_.clear_key();
}

void SymmetricState::mix_key(std::span<const uint8_t> input_key_material) {
  Hash64 temp_k{};
  hkdf(ck_, input_key_material, 2, ck_, temp_k, nullptr);
  cipher_.initialize_key(truncate_key(temp_k));
  sodium_memzero(temp_k.data(), temp_k.size());
}

void SymmetricState::mix_hash(std::span<const uint8_t> data) { h_ = blake2b(h_, data); }

void SymmetricState::mix_key_and_hash(std::span<const uint8_t> input_key_material) {
  Hash64 temp_h{}, temp_k{};
  hkdf(ck_, input_key_material, 3, ck_, temp_h, &temp_k);
  mix_hash(temp_h);
  cipher_.initialize_key(truncate_key(temp_k));
  sodium_memzero(temp_k.data(), temp_k.size());
}

Status SymmetricState::encrypt_and_hash(std::span<const uint8_t> plaintext,
                                        std::vector<uint8_t>& out) {
  const size_t start = out.size();
  out.resize(start + plaintext.size() + (cipher_.has_key() ? kAeadTagBytes : 0));
  auto written = cipher_.encrypt_with_ad(h_, plaintext, std::span(out).subspan(start));
  if (!written) {
    out.resize(start);
    return written.status();
  }
  MESHD_ASSERT(start + *written == out.size());
  mix_hash(std::span(out).subspan(start));
  return Status::ok();
}

Status SymmetricState::decrypt_and_hash(std::span<const uint8_t> ciphertext,
                                        std::vector<uint8_t>& out) {
  out.resize(ciphertext.size());
  auto written = cipher_.decrypt_with_ad(h_, ciphertext, out);
  if (!written) {
    out.clear();
    return written.status();
  }
  out.resize(*written);
  mix_hash(ciphertext);
  return Status::ok();
}

std::pair<CipherState, CipherState> SymmetricState::split() const {
  Hash64 k1{}, k2{};
  hkdf(ck_, {}, 2, k1, k2, nullptr);
  std::pair<CipherState, CipherState> out;
  out.first.initialize_key(truncate_key(k1));
  out.second.initialize_key(truncate_key(k2));
  sodium_memzero(k1.data(), k1.size());
  sodium_memzero(k2.data(), k2.size());
  return out;
}

}  // namespace meshd::crypto
