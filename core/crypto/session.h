// Session: one direction-pair of transport keys from a completed handshake.
//
// Sealing: each packet gets the next 64-bit counter, which is both the wire
// header's counter and the ChaCha20-Poly1305 nonce; the header (hop_count
// zeroed, wire::header_aad) is the associated data. A counter is never
// reused under one key: seal() refuses at kRejectAfterMessages, long before
// the reserved nonce 2^64-1 (and ReplayWindow rejects UINT64_MAX anyway).
// Opening: replay check -> AEAD verify -> replay commit (check-then-commit,
// so forgeries never move the window), and the result is a DropReason.
//
// Lifetime policy (WireGuard's constants, as config knobs):
//  * needs_rekey(): the initiator of this session should start a new
//    handshake after rekey_after_us (default 120 s) or rekey_after_messages.
//  * expired(): after reject_after_us (default 180 s) or
//    kRejectAfterMessages the session neither seals nor opens.
// Times are monotonic microseconds passed in by the caller (Clock), so the
// object is a pure state machine. Keys are wiped on destruction.
#pragma once

#include <cstdint>
#include <span>

#include "core/crypto/cipher_state.h"
#include "core/crypto/replay_window.h"
#include "core/env/clock.h"
#include "core/env/status.h"
#include "core/wire/header.h"

namespace meshd::crypto {

constexpr uint64_t kRejectAfterMessages = UINT64_MAX - (uint64_t{1} << 13);  // WireGuard
constexpr size_t kSealOverheadBytes = wire::kHeaderBytes + kAeadTagBytes;
constexpr size_t kPlaintextBytesMax = wire::kPayloadBytesMax - kAeadTagBytes;

struct SessionConfig {
  int64_t rekey_after_us = 120 * kMicrosPerSecond;
  uint64_t rekey_after_messages = uint64_t{1} << 60;
  int64_t reject_after_us = 180 * kMicrosPerSecond;
  // How long the previous session still opens packets after a rekey.
  int64_t previous_keep_us = 10 * kMicrosPerSecond;
};

struct SessionKeys {
  CipherKey send{};
  CipherKey receive{};
};

class Session {
 public:
  Session(const SessionKeys& keys, uint32_t local_index, uint32_t remote_index, bool initiator,
          int64_t established_us, const SessionConfig& config);
  Session(const Session&) = default;
  Session& operator=(const Session&) = default;
  ~Session();

  // Writes header + ciphertext into `out` (>= plaintext.size() +
  // kSealOverheadBytes, asserted) and returns the datagram length.
  // `header` supplies source, destination, hop_limit and flags; type,
  // session_id, counter, payload_length and hop_count are set here.
  // Errc::too_large for plaintext over kPlaintextBytesMax, Errc::closed
  // when expired or out of counters.
  Result<size_t> seal(const wire::PacketHeader& header, std::span<const uint8_t> plaintext,
                      std::span<uint8_t> out, int64_t now_us);

  // Opens a decoded transport packet addressed to this session. On success
  // returns DropReason::none and sets plaintext_bytes; `out` must hold
  // packet.payload.size() bytes (asserted).
  wire::DropReason open(const wire::DecodedPacket& packet, std::span<uint8_t> out,
                        size_t& plaintext_bytes, int64_t now_us);

  bool needs_rekey(int64_t now_us) const;
  bool expired(int64_t now_us) const;
  uint32_t local_index() const { return local_index_; }
  uint32_t remote_index() const { return remote_index_; }
  bool initiator() const { return initiator_; }
  int64_t established_us() const { return established_us_; }
  uint64_t sent_count() const { return next_send_counter_; }
  // True once a packet from the peer opened: the responder must not seal
  // on a session before that (WireGuard: the initiator confirms first).
  bool confirmed() const { return confirmed_; }
  // Public fingerprints of the two keys (BLAKE2b-64 under a domain key):
  // the sender's send_key_id equals the receiver's receive_key_id. Only for
  // checks and diagnostics (the simulator's nonce-reuse oracle); they
  // reveal nothing usable about the keys.
  uint64_t send_key_id() const { return send_key_id_; }
  uint64_t receive_key_id() const { return receive_key_id_; }

 private:
  CipherKey send_key_{};
  CipherKey receive_key_{};
  ReplayWindow replay_;
  uint64_t send_key_id_ = 0;
  uint64_t receive_key_id_ = 0;
  uint64_t next_send_counter_ = 0;
  uint32_t local_index_ = 0;
  uint32_t remote_index_ = 0;
  bool initiator_ = false;
  bool confirmed_ = false;
  int64_t established_us_ = 0;
  SessionConfig config_;
};

}  // namespace meshd::crypto
