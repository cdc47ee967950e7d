// Fuzz target: the twin_notice codec on hostile packets. Input: a header
// (kHeaderBytes) then the payload. Invariants: only kTwinNoticeBytes
// decode (twin_notice_size_check agrees); an accepted notice's fields
// re-encode to its first kTwinNoticeSignedBytes; the PSK mac and the
// signature checks never crash and fuzzed bytes never carry a valid
// signature by the fixture's key unless they are a genuine notice.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "core/crypto/twin_notice.h"
#include "tests/crypto/test_keys.h"

namespace {
using namespace meshd;
using namespace meshd::crypto;
using meshd::crypto::testing::key_of;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < wire::kHeaderBytes) return 0;
  static RandomStream id_rng(key_of(1));
  static const Identity signer = Identity::generate(id_rng);
  Psk psk{};
  psk.fill(0x55);
  RandomStream rng(key_of(2));
  const CookieChecker checker(psk, rng);
  const std::span<const uint8_t> header(data, wire::kHeaderBytes);
  const std::span<const uint8_t> payload(data + wire::kHeaderBytes, size - wire::kHeaderBytes);
  const auto body = decode_twin_notice(payload);
  const bool sized = twin_notice_size_check(payload.size()) == wire::DropReason::none;
  if (body.has_value() != sized) std::abort();
  if (!body) return 0;
  const auto again = encode_twin_notice(body->fields);
  if (std::memcmp(again.data(), payload.data(), kTwinNoticeSignedBytes) != 0) std::abort();
  const bool mac_ok = twin_notice_mac_valid(checker, header, payload, body->mac);
  const bool signed_ok = twin_notice_signature_valid(signer.public_key(), header, payload, body->signature);
  // Re-sealing the same header and fields must produce a notice that passes both.
  std::vector<uint8_t> packet(data, data + size);
  seal_twin_notice(packet, signer, psk);
  const auto sealed = decode_twin_notice(std::span<const uint8_t>(packet).subspan(wire::kHeaderBytes));
  if (!sealed || !twin_notice_mac_valid(checker, header, std::span<const uint8_t>(packet).subspan(wire::kHeaderBytes),
                                        sealed->mac)) {
    std::abort();
  }
  if (!twin_notice_signature_valid(signer.public_key(), header,
                                   std::span<const uint8_t>(packet).subspan(wire::kHeaderBytes), sealed->signature)) {
    std::abort();
  }
  // A fuzzed notice that verifies must be byte-identical to the sealed one
  // (Ed25519 signatures are deterministic; the mac is a function).
  if (mac_ok && signed_ok && std::memcmp(packet.data(), data, size) != 0) std::abort();
  return 0;
}
