// Address: an opaque datagram endpoint (IPv4 + UDP port).
//
// core/ only stores, compares, orders and prints addresses; only the
// backends (sim/, io/) give them meaning. In the simulator, node i lives at
// 10.(i >> 8).(i & 255).1 style addresses chosen by sim/; in production they
// are real IPv4 endpoints. IPv6 is not supported yet (docs/architecture.md).
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace meshd {

struct Address {
  uint32_t ipv4 = 0;  // host byte order: 127.0.0.1 == 0x7f000001
  uint16_t port = 0;

  auto operator<=>(const Address&) const = default;
  bool is_unset() const { return ipv4 == 0 && port == 0; }
  std::string to_string() const;  // "a.b.c.d:port"
  // Parses "a.b.c.d:port"; nullopt on any malformed input.
  static std::optional<Address> parse(std::string_view text);
};

}  // namespace meshd
