// Noise HandshakeState (spec rev 34, §5.3), driven by a HandshakePattern.
//
// Usage: create() with a HandshakeConfig, then alternate write_message /
// read_message as the pattern dictates until is_complete(); then split()
// yields (send, receive) CipherStates for this side.
//
// Contract:
//  * Every pattern of noise_pattern.h with psk modifiers; suite
//    25519_ChaChaPoly_BLAKE2b only.
//  * Keys: `local_static` / `remote_static` / `remote_ephemeral` as the
//    pattern needs; a missing key is Errc::invalid at create() (pre-message
//    keys) or at the token that needs it. Ephemeral keys come from
//    `fixed_ephemeral` (test vectors) or else from `rng` (a RandomStream,
//    never a global RNG, so the simulator stays deterministic); neither is
//    Errc::invalid.
//  * Messages are at most kNoiseMessageBytesMax (65535) bytes: writing a
//    larger one is Errc::too_large; reading one is Errc::too_large.
//  * Errors from read_message (Errc::invalid for short input, Errc::corrupt
//    for failed authentication, low-order DH) are final: the state becomes
//    failed and every later call returns Errc::invalid. Hostile input never
//    asserts.
//  * Calling write/read out of turn is Errc::invalid (not an assertion:
//    a peer can cause it by sending an unexpected message).
// Secrets are wiped on destruction.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/crypto/cipher_state.h"
#include "core/crypto/noise_pattern.h"
#include "core/crypto/symmetric_state.h"
#include "core/crypto/x25519.h"
#include "core/env/random.h"

namespace meshd::crypto {

constexpr size_t kNoiseMessageBytesMax = 65535;
constexpr size_t kPskBytes = 32;
using Psk = std::array<uint8_t, kPskBytes>;

struct HandshakeConfig {
  std::string protocol_name;  // "Noise_XXpsk3_25519_ChaChaPoly_BLAKE2b"
  bool initiator = true;
  std::vector<uint8_t> prologue;
  std::optional<DhPrivate> local_static;
  std::optional<DhPrivate> fixed_ephemeral;  // tests / vectors only
  std::optional<DhPublic> remote_static;     // pre-message or known peer
  std::optional<DhPublic> remote_ephemeral;  // pre-message "e" (unused by our patterns)
  std::vector<Psk> psks;                     // exactly pattern.psk_count
  RandomStream* rng = nullptr;               // borrowed; used when no fixed_ephemeral
};

class HandshakeState {
 public:
  static Result<HandshakeState> create(const HandshakeConfig& config);

  // Copyable so a caller can try a message on a copy: a forged message
  // then fails the copy, not the genuine handshake in flight.
  HandshakeState(const HandshakeState&) = default;
  HandshakeState& operator=(const HandshakeState&) = default;
  HandshakeState(HandshakeState&&) = default;
  HandshakeState& operator=(HandshakeState&&) = default;
  ~HandshakeState();

  // Appends the next handshake message carrying `payload` to `out`.
  Status write_message(std::span<const uint8_t> payload, std::vector<uint8_t>& out);
  // Consumes the next handshake message; `payload_out` receives its payload.
  Status read_message(std::span<const uint8_t> message, std::vector<uint8_t>& payload_out);

  bool is_initiator() const { return initiator_; }
  bool is_complete() const { return !failed_ && next_message_ == pattern_.message_count; }
  bool failed() const { return failed_; }
  // True when the next call must be write_message (and not complete).
  bool is_my_turn() const;
  size_t next_message_index() const { return next_message_; }
  const Hash64& handshake_hash() const { return symmetric_.handshake_hash(); }
  const std::optional<DhPublic>& remote_static() const { return rs_; }
  const std::optional<DhPublic>& remote_ephemeral() const { return re_; }
  const std::optional<DhKeyPair>& local_ephemeral() const { return e_; }
  const HandshakePattern& pattern() const { return pattern_; }

  // After completion: (send, receive) for this side.
  std::pair<CipherState, CipherState> split() const;

 private:
  HandshakeState() = default;
  Status check_turn(bool writing) const;
  Status mix_dh(const std::optional<DhKeyPair>& local, const std::optional<DhPublic>& remote);
  // The tokens both directions process alike: psk and the four DH tokens.
  Status token_shared(Token token);
  Status fail(Status status);

  HandshakePattern pattern_;
  SymmetricState symmetric_;
  bool initiator_ = true;
  bool failed_ = false;
  size_t next_message_ = 0;
  std::optional<DhKeyPair> s_;
  std::optional<DhKeyPair> e_;
  std::optional<DhPublic> rs_;
  std::optional<DhPublic> re_;
  std::optional<DhPrivate> fixed_ephemeral_;
  std::vector<Psk> psks_;
  size_t next_psk_ = 0;
  RandomStream* rng_ = nullptr;
};

}  // namespace meshd::crypto
