// Deterministic keys and ids for crypto tests: every byte set to one value.
#pragma once

#include "core/crypto/cookie.h"
#include "core/env/random.h"
#include "core/wire/node_id.h"

namespace meshd::crypto::testing {

inline Key32 key_of(uint8_t v) {
  Key32 k{};
  k.fill(v);
  return k;
}

inline Psk psk_of(uint8_t v) {
  Psk p{};
  p.fill(v);
  return p;
}

inline NodeId id_of(uint8_t v) {
  NodeId id;
  id.bytes.fill(v);
  return id;
}

}  // namespace meshd::crypto::testing
