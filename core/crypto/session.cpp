#include "core/crypto/session.h"

#include <sodium.h>

#include "core/env/assert.h"

namespace meshd::crypto {

using wire::DropReason;

namespace {

uint64_t key_id_of(const CipherKey& key) {
  static constexpr char kDomain[] = "meshd-key-id-v1";
  std::array<uint8_t, 8> out{};
  crypto_generichash(out.data(), out.size(), key.data(), key.size(),
                     reinterpret_cast<const uint8_t*>(kDomain), sizeof(kDomain) - 1);
  uint64_t v = 0;
  for (size_t i = 0; i < out.size(); ++i) v |= uint64_t{out[i]} << (8 * i);
  return v;
}

}  // namespace

Session::Session(const SessionKeys& keys, uint32_t local_index, uint32_t remote_index,
                 bool initiator, int64_t established_us, const SessionConfig& config)
    : send_key_(keys.send),
      receive_key_(keys.receive),
      send_key_id_(key_id_of(keys.send)),
      receive_key_id_(key_id_of(keys.receive)),
      local_index_(local_index),
      remote_index_(remote_index),
      initiator_(initiator),
      confirmed_(initiator),  // the initiator saw the response: keys confirmed
      established_us_(established_us),
      config_(config) {}

Session::~Session() {
  sodium_memzero(send_key_.data(), send_key_.size());
  sodium_memzero(receive_key_.data(), receive_key_.size());
}

bool Session::needs_rekey(int64_t now_us) const {
  return now_us - established_us_ >= config_.rekey_after_us ||
         next_send_counter_ >= config_.rekey_after_messages;
}

bool Session::expired(int64_t now_us) const {
  return now_us - established_us_ >= config_.reject_after_us ||
         next_send_counter_ >= kRejectAfterMessages;
}

Result<size_t> Session::seal(const wire::PacketHeader& header, std::span<const uint8_t> plaintext,
                             std::span<uint8_t> out, int64_t now_us) {
  if (plaintext.size() > kPlaintextBytesMax) return Status(Errc::too_large, "session: plaintext too large");
  MESHD_ASSERT(out.size() >= plaintext.size() + kSealOverheadBytes);
  if (expired(now_us)) return Status(Errc::closed, "session: expired");
  wire::PacketHeader h = header;
  h.type = wire::PacketType::transport;
  h.hop_count = 0;
  h.session_id = remote_index_;
  h.counter = next_send_counter_;
  h.payload_length = static_cast<uint16_t>(plaintext.size() + kAeadTagBytes);
  auto header_out = out.first<wire::kHeaderBytes>();
  wire::encode_header(h, header_out);
  wire::HeaderBytes aad;
  wire::header_aad(header_out, aad);
  // Counter advances before encrypting: even if a caller retried after an
  // error, a nonce could never be used twice.
  ++next_send_counter_;
  if (Status s = CipherState::encrypt_at(send_key_, h.counter, aad, plaintext,
                                         out.subspan(wire::kHeaderBytes));
      !s) {
    return s;
  }
  return wire::kHeaderBytes + plaintext.size() + kAeadTagBytes;
}

DropReason Session::open(const wire::DecodedPacket& packet, std::span<uint8_t> out,
                         size_t& plaintext_bytes, int64_t now_us) {
  MESHD_ASSERT(packet.ok());
  plaintext_bytes = 0;
  if (packet.header.type != wire::PacketType::transport || packet.header.session_id != local_index_) {
    return DropReason::unknown_session;
  }
  if (now_us - established_us_ >= config_.reject_after_us) return DropReason::unknown_session;
  if (packet.payload.size() < kAeadTagBytes) return DropReason::truncated;
  MESHD_ASSERT(out.size() >= packet.payload.size() - kAeadTagBytes);
  const uint64_t counter = packet.header.counter;
  if (counter >= kRejectAfterMessages || !replay_.check(counter)) return DropReason::replay;
  wire::HeaderBytes aad;
  wire::header_aad(packet.header_bytes.first<wire::kHeaderBytes>(), aad);
  if (!CipherState::decrypt_at(receive_key_, counter, aad, packet.payload, out)) {
    return DropReason::auth_failure;
  }
  replay_.commit(counter);
  confirmed_ = true;
  plaintext_bytes = packet.payload.size() - kAeadTagBytes;
  return DropReason::none;
}

}  // namespace meshd::crypto
