#include "core/wire/node_id.h"

#include "core/env/assert.h"
#include "core/wire/byte_io.h"

namespace meshd {

std::string NodeId::to_hex() const {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(kNodeIdBytes * 2);
  for (uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  MESHD_ASSERT(out.size() == kNodeIdBytes * 2);
  return out;
}

std::optional<NodeId> NodeId::from_hex(std::string_view hex) {
  NodeId id;
  if (!wire::hex_decode(hex, id.bytes)) return std::nullopt;
  return id;
}

}  // namespace meshd
