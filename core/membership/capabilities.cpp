#include "core/membership/capabilities.h"

#include <sodium.h>

#include <algorithm>
#include <array>

namespace meshd::membership {

std::string capability_name_error(std::string_view name) {
  if (name.empty()) return "empty capability name";
  if (name.size() > kCapabilityNameBytesMax) {
    return "capability name longer than " + std::to_string(kCapabilityNameBytesMax) + " bytes";
  }
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                    c == ':' || c == '/' || c == '-';
    if (!ok) return "capability names use [a-z0-9._:/-] only";
  }
  return {};
}

uint64_t capability_digest(std::span<const std::string> names) {
  if (names.empty()) return 0;
  std::vector<std::string> sorted(names.begin(), names.end());
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, 32);
  constexpr std::string_view kDomain = "meshd-capabilities-v1";
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(kDomain.data()), kDomain.size());
  for (const std::string& n : sorted) {
    crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(n.data()), n.size());
    const unsigned char nl = '\n';
    crypto_generichash_update(&state, &nl, 1);
  }
  std::array<unsigned char, 32> hash{};
  crypto_generichash_final(&state, hash.data(), hash.size());
  uint64_t d = 0;
  for (size_t i = 0; i < 8; ++i) d |= uint64_t{hash[i]} << (8 * i);
  return d == 0 ? 1 : d;
}

}  // namespace meshd::membership
