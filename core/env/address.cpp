#include "core/env/address.h"

#include <fmt/format.h>

#include <charconv>

namespace meshd {

std::string Address::to_string() const {
  return fmt::format("{}.{}.{}.{}:{}", (ipv4 >> 24) & 255, (ipv4 >> 16) & 255, (ipv4 >> 8) & 255,
                     ipv4 & 255, port);
}

namespace {
// Parses a decimal integer in [0, max] occupying all of `s`.
bool parse_uint(std::string_view s, uint32_t max, uint32_t& out) {
  if (s.empty() || s.size() > 5) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  uint32_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || v > max) return false;
  out = v;
  return true;
}
}  // namespace

std::optional<Address> Address::parse(std::string_view text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view host = text.substr(0, colon);
  uint32_t port = 0;
  if (!parse_uint(text.substr(colon + 1), 65535, port)) return std::nullopt;
  uint32_t ip = 0;
  for (int i = 0; i < 4; ++i) {
    const size_t dot = host.find('.');
    std::string_view part = (i < 3) ? host.substr(0, dot) : host;
    if (i < 3 && dot == std::string_view::npos) return std::nullopt;
    uint32_t octet = 0;
    if (!parse_uint(part, 255, octet)) return std::nullopt;
    ip = (ip << 8) | octet;
    if (i < 3) host.remove_prefix(dot + 1);
  }
  return Address{ip, static_cast<uint16_t>(port)};
}

}  // namespace meshd
