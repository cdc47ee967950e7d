// Fuzz target: the responder's handshake message readers.
// Byte 0 selects the case: 0 IKpsk2 message 1, 1 XXpsk3 message 1,
// 2 XXpsk3 message 3 (after an honest first round trip). The rest is the
// message. Invariant: hostile bytes never crash; a failure leaves the state
// failed; only a genuine message completes (checked by the corpus replay).
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

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fuzz_noise;
  if (size < 1) return 0;
  const uint8_t mode = data[0] % 3;
  const std::span<const uint8_t> message(data + 1, size - 1);
  HandshakeState init = make(mode == 0 ? kIk : kXx, true);
  HandshakeState resp = make(mode == 0 ? kIk : kXx, false);
  if (mode == 2) advance(init, resp, 2);
  std::vector<uint8_t> payload;
  const auto st = resp.read_message(message, payload);
  if (!st && !resp.failed()) __builtin_trap();
  if (st && mode != 2) {
    std::vector<uint8_t> reply;
    if (!resp.write_message(payload, reply)) __builtin_trap();
  }
  if (st && mode == 2 && !resp.is_complete()) __builtin_trap();
  return 0;
}
