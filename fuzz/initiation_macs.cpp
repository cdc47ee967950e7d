// Fuzz target: the initiation mac trailer (split_initiation) and mac1
// checking on hostile packets. Input: a header (kHeaderBytes) then the
// payload. Invariants: the split covers the payload exactly; a payload
// whose mac1 we recompute and write back validates, and flipping one bit
// of the message afterwards makes it fail.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "core/crypto/handshake_macs.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace meshd;
  using namespace meshd::crypto;
  if (size < wire::kHeaderBytes) return 0;
  const std::span<const uint8_t> header(data, wire::kHeaderBytes);
  const std::span<const uint8_t> payload(data + wire::kHeaderBytes, size - wire::kHeaderBytes);
  const auto macs = split_initiation(payload);
  if (macs.has_value() != (payload.size() >= kInitiationTrailerBytes)) std::abort();
  if (!macs) return 0;
  if (macs->message.size() + kInitiationTrailerBytes != payload.size()) std::abort();
  Psk psk{};
  psk.fill(0x55);
  Key32 seed{};
  RandomStream rng(seed);
  const CookieChecker checker(psk, rng);
  (void)checker.mac1_valid(mac_input(header, macs->message), macs->mac1);  // hostile: any answer
  std::vector<uint8_t> packet(data, data + size);
  const Mac mac1 = compute_mac1(psk, mac_input(header, macs->message));
  write_initiation_macs(packet, mac1, macs->mac2);
  const auto fixed = split_initiation(std::span<const uint8_t>(packet).subspan(wire::kHeaderBytes));
  if (!fixed || !checker.mac1_valid(mac_input(header, fixed->message), fixed->mac1)) std::abort();
  if (!fixed->message.empty()) {
    packet[wire::kHeaderBytes] ^= 1;
    const auto flipped = split_initiation(std::span<const uint8_t>(packet).subspan(wire::kHeaderBytes));
    if (checker.mac1_valid(mac_input(header, flipped->message), flipped->mac1)) std::abort();
  }
  return 0;
}
