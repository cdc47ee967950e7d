// Fuzz target: the initiator's handshake message readers.
// Byte 0 selects: 0 IKpsk2 message 2 (response), 1 XXpsk3 message 2.
// The initiator has sent an honest first message with fixed keys; the rest
// of the input is the responder's reply. Invariant: no crash; a failed read
// leaves the state failed; a successful IK read completes the handshake.
#include <cstdint>
#include <string_view>
#include <vector>

#include "core/crypto/handshake_state.h"
#include "fuzz/noise_fixture.h"


extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fuzz_noise;
  if (size < 1) return 0;
  const uint8_t mode = data[0] % 2;
  const std::span<const uint8_t> message(data + 1, size - 1);
  HandshakeState init = make(mode == 0 ? kIk : kXx, true);
  std::vector<uint8_t> first;
  if (!init.write_message({}, first)) __builtin_trap();
  std::vector<uint8_t> payload;
  const auto st = init.read_message(message, payload);
  if (!st && !init.failed()) __builtin_trap();
  if (st && mode == 0) {
    if (!init.is_complete()) __builtin_trap();
    auto [send, receive] = init.split();
    (void)send;
    (void)receive;
  }
  if (st && mode == 1) {
    std::vector<uint8_t> third;
    if (!init.write_message({}, third)) __builtin_trap();
  }
  return 0;
}
