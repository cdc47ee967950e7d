// Noise SymmetricState (spec rev 34, §5.2) for BLAKE2b + ChaChaPoly.
//
// Holds the chaining key ck, the handshake hash h and a CipherState.
// encrypt_and_hash/decrypt_and_hash append to / fill caller vectors whose
// growth is bounded by the handshake's kNoiseMessageBytesMax check in
// HandshakeState. Errors: decrypt_and_hash returns Errc::corrupt when
// authentication fails (the handshake must then be abandoned).
// Secrets are wiped on destruction.
#pragma once

#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "core/crypto/blake2b_hkdf.h"
#include "core/crypto/cipher_state.h"

namespace meshd::crypto {

class SymmetricState {
 public:
  SymmetricState() = default;
  SymmetricState(const SymmetricState&) = default;
  SymmetricState& operator=(const SymmetricState&) = default;
  ~SymmetricState();

  void initialize(std::string_view protocol_name);
  void mix_key(std::span<const uint8_t> input_key_material);
  void mix_hash(std::span<const uint8_t> data);
  void mix_key_and_hash(std::span<const uint8_t> input_key_material);
  const Hash64& handshake_hash() const { return h_; }
  bool has_key() const { return cipher_.has_key(); }

  // Appends EncryptWithAd(h, plaintext) to out and mixes it into h.
  Status encrypt_and_hash(std::span<const uint8_t> plaintext, std::vector<uint8_t>& out);
  // Replaces out with DecryptWithAd(h, ciphertext); mixes ciphertext into h.
  Status decrypt_and_hash(std::span<const uint8_t> ciphertext, std::vector<uint8_t>& out);

  // Split(): (initiator->responder, responder->initiator) cipher states.
  std::pair<CipherState, CipherState> split() const;

 private:
  Hash64 ck_{};
  Hash64 h_{};
  CipherState cipher_;
};

}  // namespace meshd::crypto
