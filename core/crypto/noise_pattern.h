// Noise handshake patterns (spec rev 34, §7) and protocol-name parsing.
//
// A HandshakePattern is plain data built from a static table of every
// fundamental (§7.4), one-way (§7.4) and deferred (§7.6) pattern, with psk
// modifiers (§9) applied: "psk0" prepends a psk token to the first message,
// "pskN" (N >= 1) appends one to message N. parse_protocol_name() accepts
// exactly "Noise_<pattern>[<modifiers>]_25519_ChaChaPoly_BLAKE2b" where
// modifiers are pskN joined by '+'; anything else (other DH/cipher/hash,
// fallback, hfs, unknown pattern) is Errc::invalid. Limits: kPatternMessagesMax
// messages, kPatternTokensMax tokens per message.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/env/status.h"

namespace meshd::crypto {

constexpr size_t kPatternMessagesMax = 8;
constexpr size_t kPatternTokensMax = 8;
constexpr size_t kPreMessageTokensMax = 2;
constexpr size_t kPskModifiersMax = 4;

enum class Token : uint8_t { e, s, ee, es, se, ss, psk };

struct MessagePattern {
  bool from_initiator = true;
  uint8_t token_count = 0;
  std::array<Token, kPatternTokensMax> tokens{};
};

struct HandshakePattern {
  std::string base_name;  // "XX", "IK", "X1K1", ...
  uint8_t pre_initiator_count = 0;  // tokens (e/s) the responder knows in advance
  std::array<Token, kPreMessageTokensMax> pre_initiator{};
  uint8_t pre_responder_count = 0;
  std::array<Token, kPreMessageTokensMax> pre_responder{};
  uint8_t message_count = 0;
  std::array<MessagePattern, kPatternMessagesMax> messages{};
  uint8_t psk_count = 0;  // number of psk tokens (== number of PSKs needed)
  bool one_way = false;   // N, K, X: transport only initiator -> responder
};

// Looks up a base pattern name ("XX") without modifiers.
Result<HandshakePattern> find_pattern(std::string_view base_name);
// Parses "<pattern><modifiers>" such as "XXpsk3" or "NNpsk0+psk2".
Result<HandshakePattern> parse_pattern_with_modifiers(std::string_view name);
// Parses a full protocol name; only the 25519_ChaChaPoly_BLAKE2b suite.
Result<HandshakePattern> parse_protocol_name(std::string_view protocol_name);

}  // namespace meshd::crypto
