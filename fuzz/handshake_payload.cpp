// Fuzz target: decode_handshake_payload and parse_handshake_counter on
// hostile bytes. Invariants: only exactly kHandshakePayloadBytes decode, and
// an accepted payload re-encodes to the same bytes; a counter parses only
// to a step whose handshake_counter() is that counter.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "core/crypto/handshake_payload.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace meshd::crypto;
  const std::span<const uint8_t> input(data, size);
  const auto payload = decode_handshake_payload(input);
  if (payload.has_value() != (size == kHandshakePayloadBytes)) std::abort();
  if (payload) {
    const auto again = encode_handshake_payload(*payload);
    if (again.size() != size || std::memcmp(again.data(), data, size) != 0) std::abort();
  }
  if (size >= 8) {
    uint64_t counter = 0;
    std::memcpy(&counter, data, sizeof counter);
    if (const auto step = parse_handshake_counter(counter); step && handshake_counter(*step) != counter) std::abort();
  }
  return 0;
}
