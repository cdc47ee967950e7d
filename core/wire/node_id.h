// NodeId: a node's 128-bit identifier on the wire and in every table.
//
// Derived from the node's Ed25519 public key (core/crypto/identity.h:
// BLAKE2b-128 with a domain-separation key), so it cannot be chosen freely and
// two nodes collide only by breaking BLAKE2b or by the birthday bound
// (~2^64 nodes for a 50 % chance); docs/crypto.md has the margin. Plain value
// type: totally ordered bytewise (deterministic map order), hashable by
// nobody (no unordered containers in core/).
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace meshd {

constexpr size_t kNodeIdBytes = 16;

struct NodeId {
  std::array<uint8_t, kNodeIdBytes> bytes{};

  auto operator<=>(const NodeId&) const = default;
  bool is_zero() const {
    for (uint8_t b : bytes) {
      if (b != 0) return false;
    }
    return true;
  }
  std::string to_hex() const;  // 32 lowercase hex digits
  // Parses exactly 32 hex digits; nullopt otherwise.
  static std::optional<NodeId> from_hex(std::string_view hex);
};

}  // namespace meshd
