// Fuzz target: the responder's handshake message readers.
// Byte 0 selects the case: 0 IKpsk2 message 1, 1 XXpsk3 message 1,
// 2 XXpsk3 message 3 (after an honest first round trip). The rest is the
// message. Invariant: hostile bytes never crash; a failure leaves the state
// failed; only a genuine message completes (checked by the corpus replay).
#include <cstdint>
#include <string_view>
#include <vector>

#include "core/crypto/handshake_state.h"
#include "fuzz/noise_fixture.h"


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
