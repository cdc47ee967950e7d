// Handshake wire codecs that carry no MAC: the payload inside every Noise
// handshake message, the prologue both sides bind, and the header counter
// that names the Noise pattern and message (docs/protocol.md, "Handshake").
//
// Pure functions, no state. Decoders take hostile bytes: they return
// nullopt for anything that is not exactly the documented layout, never
// assert on input.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "core/crypto/identity.h"
#include "core/wire/node_id.h"

namespace meshd::crypto {

constexpr std::string_view kProtocolIk = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b";
constexpr std::string_view kProtocolXx = "Noise_XXpsk3_25519_ChaChaPoly_BLAKE2b";

// Orders a peer's initiations: (boot, timestamp) lexicographically.
struct HandshakeFreshness {
  uint64_t boot = 0;       // the initiator's persisted incarnation
  uint64_t timestamp = 0;  // wall-clock µs, strictly increasing per process
  auto operator<=>(const HandshakeFreshness&) const = default;
};

// Payload (inside Noise): sender index u32, boot u64, timestamp u64, the
// sender's Ed25519 public key. XX message 1 carries only the index (the
// rest zero): it is unauthenticated and must reveal nothing.
constexpr size_t kHandshakePayloadBytes = 4 + 8 + 8 + kSigningPublicBytes;  // 52
struct HandshakePayload {
  uint32_t index = 0;
  HandshakeFreshness freshness;
  SigningPublic key{};
  bool operator==(const HandshakePayload&) const = default;
};
std::vector<uint8_t> encode_handshake_payload(const HandshakePayload& payload);
// nullopt unless `bytes` is exactly kHandshakePayloadBytes.
std::optional<HandshakePayload> decode_handshake_payload(std::span<const uint8_t> bytes);

// Prologue = "meshd" || wire version || initiator NodeId || responder
// NodeId: a relay that rewrites either id makes the handshake fail.
constexpr size_t kHandshakePrologueBytes = 5 + 1 + 2 * kNodeIdBytes;  // 38
std::vector<uint8_t> handshake_prologue(const NodeId& initiator, const NodeId& responder);
struct PrologueIds {
  NodeId initiator;
  NodeId responder;
};
// The inverse (tests, fuzzing): nullopt for a wrong length, tag or version.
std::optional<PrologueIds> decode_handshake_prologue(std::span<const uint8_t> bytes);

// Handshake packets carry (pattern << 8 | message index) in the header
// counter so the responder knows which Noise pattern to run.
enum class MeshPattern : uint8_t { ik = 1, xx = 2 };
struct HandshakeStep {
  MeshPattern pattern = MeshPattern::ik;
  uint8_t message = 0;  // 0-based message index within the pattern
  bool operator==(const HandshakeStep&) const = default;
};
constexpr uint64_t handshake_counter(HandshakeStep step) {
  return uint64_t{static_cast<uint8_t>(step.pattern)} << 8 | step.message;
}
// nullopt for an unknown pattern, a message index the pattern lacks (IK: 0-1,
// XX: 0-2) or bits above the pattern byte.
std::optional<HandshakeStep> parse_handshake_counter(uint64_t counter);

}  // namespace meshd::crypto
