#include "core/crypto/blake2b_hkdf.h"

#include <sodium.h>

#include "core/env/assert.h"

namespace meshd::crypto {

Hash32 blake2b_256(std::span<const uint8_t> bytes) {
  Hash32 out{};
  MESHD_ASSERT(crypto_generichash_blake2b(out.data(), out.size(), bytes.data(), bytes.size(), nullptr, 0) == 0);
  return out;
}

Hash64 blake2b(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  crypto_generichash_blake2b_state state;
  Hash64 out{};
  MESHD_ASSERT(crypto_generichash_blake2b_init(&state, nullptr, 0, out.size()) == 0);
  MESHD_ASSERT(crypto_generichash_blake2b_update(&state, a.data(), a.size()) == 0);
  MESHD_ASSERT(crypto_generichash_blake2b_update(&state, b.data(), b.size()) == 0);
  MESHD_ASSERT(crypto_generichash_blake2b_final(&state, out.data(), out.size()) == 0);
  sodium_memzero(&state, sizeof(state));
  return out;
}

Hash64 hmac_blake2b(std::span<const uint8_t> key, std::span<const uint8_t> a,
                    std::span<const uint8_t> b) {
  MESHD_ASSERT(key.size() <= kHashBlockBytes);
  // RFC 2104: H((K ^ opad) || H((K ^ ipad) || text)), K zero-padded to BLOCKLEN.
  std::array<uint8_t, kHashBlockBytes> pad{};
  for (size_t i = 0; i < key.size(); ++i) pad[i] = key[i];
  for (auto& byte : pad) byte ^= 0x36;
  crypto_generichash_blake2b_state state;
  Hash64 inner{};
  MESHD_ASSERT(crypto_generichash_blake2b_init(&state, nullptr, 0, inner.size()) == 0);
  MESHD_ASSERT(crypto_generichash_blake2b_update(&state, pad.data(), pad.size()) == 0);
  MESHD_ASSERT(crypto_generichash_blake2b_update(&state, a.data(), a.size()) == 0);
  MESHD_ASSERT(crypto_generichash_blake2b_update(&state, b.data(), b.size()) == 0);
  MESHD_ASSERT(crypto_generichash_blake2b_final(&state, inner.data(), inner.size()) == 0);
  for (auto& byte : pad) byte ^= 0x36 ^ 0x5c;  // ipad -> opad
  Hash64 out = blake2b(pad, inner);
  sodium_memzero(pad.data(), pad.size());
  sodium_memzero(inner.data(), inner.size());
  sodium_memzero(&state, sizeof(state));
  return out;
}

void hkdf(const Hash64& chaining_key, std::span<const uint8_t> input_key_material, int num_outputs,
          Hash64& out1, Hash64& out2, Hash64* out3) {
  MESHD_ASSERT(num_outputs == 2 || num_outputs == 3);
  MESHD_ASSERT(num_outputs == 2 || out3 != nullptr);
  Hash64 temp_key = hmac_blake2b(chaining_key, input_key_material);
  const uint8_t one = 0x01, two = 0x02, three = 0x03;
  out1 = hmac_blake2b(temp_key, std::span(&one, 1));
  out2 = hmac_blake2b(temp_key, out1, std::span(&two, 1));
  if (num_outputs == 3) *out3 = hmac_blake2b(temp_key, out2, std::span(&three, 1));
  sodium_memzero(temp_key.data(), temp_key.size());
}

}  // namespace meshd::crypto
