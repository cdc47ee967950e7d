#include "io/key_info.h"

#include <sodium.h>

#include <array>

namespace meshd::io {

std::string hex_of(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

std::string key_fingerprint(std::span<const uint8_t> public_key) {
  std::array<uint8_t, 32> hash{};
  crypto_generichash(hash.data(), hash.size(), public_key.data(), public_key.size(), nullptr, 0);
  const std::string hex = hex_of(std::span<const uint8_t>(hash.data(), 16));
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 4) {
    if (!out.empty()) out += ':';
    out += hex.substr(i, 4);
  }
  return out;
}

}  // namespace meshd::io
