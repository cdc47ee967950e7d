// Fuzz target: decode_handshake_prologue on hostile bytes. Invariants: an
// accepted prologue is exactly kHandshakePrologueBytes and re-encodes to
// the same bytes (one encoding per pair of NodeIds).
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "core/crypto/handshake_payload.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace meshd::crypto;
  const auto ids = decode_handshake_prologue(std::span<const uint8_t>(data, size));
  if (!ids) return 0;
  if (size != kHandshakePrologueBytes) std::abort();
  const auto again = handshake_prologue(ids->initiator, ids->responder);
  if (again.size() != size || std::memcmp(again.data(), data, size) != 0) std::abort();
  return 0;
}
