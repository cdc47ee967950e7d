// Shared fixture of the Noise handshake fuzz targets (noise_initiator,
// noise_responder): fixed keys and an honest-exchange driver.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/crypto/handshake_state.h"

// Fixed keys: every run is deterministic, so the seed corpus holds genuine
// handshake messages (made with these same keys) for the fuzzer to mutate.
namespace fuzz_noise {

using namespace meshd::crypto;

constexpr const char* kIk = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b";
constexpr const char* kXx = "Noise_XXpsk3_25519_ChaChaPoly_BLAKE2b";

inline DhPrivate fill_key(uint8_t v) {
  DhPrivate k{};
  k.fill(v);
  return k;
}

inline HandshakeConfig config(const char* name, bool initiator) {
  HandshakeConfig c;
  c.protocol_name = name;
  c.initiator = initiator;
  c.prologue = {'m', 'e', 's', 'h', 'd', 1};
  c.local_static = fill_key(initiator ? 0x11 : 0x22);
  c.fixed_ephemeral = fill_key(initiator ? 0x33 : 0x44);
  if (initiator && std::string_view(name) == kIk) c.remote_static = dh_public_from_private(fill_key(0x22));
  Psk psk{};
  psk.fill(0x55);
  c.psks = {psk};
  return c;
}

inline HandshakeState make(const char* name, bool initiator) {
  auto hs = HandshakeState::create(config(name, initiator));
  if (!hs) __builtin_trap();
  return std::move(*hs);
}

// Drives an honest exchange until `target` has consumed `messages_before`
// messages (both sides honest); returns the honest peer.
inline void advance(HandshakeState& a, HandshakeState& b, size_t messages) {
  for (size_t i = 0; i < messages; ++i) {
    HandshakeState& sender = a.is_my_turn() ? a : b;
    HandshakeState& receiver = a.is_my_turn() ? b : a;
    std::vector<uint8_t> msg, payload;
    const uint8_t body[] = {'h', 'i'};
    if (!sender.write_message(body, msg)) __builtin_trap();
    if (!receiver.read_message(msg, payload)) __builtin_trap();
  }
}

}  // namespace fuzz_noise
