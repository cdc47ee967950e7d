#include "core/crypto/twin_notice.h"

#include <algorithm>

#include "core/crypto/handshake_macs.h"
#include "core/env/assert.h"
#include "core/wire/byte_io.h"

namespace meshd::crypto {

namespace {

// The bytes the signature covers: domain || header AAD || the signed fields.
std::vector<uint8_t> signed_message(std::span<const uint8_t> header_bytes, std::span<const uint8_t> payload) {
  MESHD_ASSERT(payload.size() >= kTwinNoticeSignedBytes);
  std::vector<uint8_t> message(kTwinNoticeDomain.begin(), kTwinNoticeDomain.end());
  const auto aad = aad_of(header_bytes);
  message.insert(message.end(), aad.begin(), aad.end());
  const auto fields = payload.first(kTwinNoticeSignedBytes);
  message.insert(message.end(), fields.begin(), fields.end());
  MESHD_ASSERT(message.size() == kTwinNoticeDomain.size() + wire::kHeaderBytes + kTwinNoticeSignedBytes);
  return message;
}

}  // namespace

std::vector<uint8_t> encode_twin_notice(const TwinNoticeFields& fields) {
  std::vector<uint8_t> body(kTwinNoticeBytes);
  wire::Writer w(body);
  w.write_u32(fields.holder.ipv4);
  w.write_u16(fields.holder.port);
  w.write_u64(fields.holder_boot);
  w.write_bytes(fields.binding);
  MESHD_ASSERT(w.ok() && w.size() == kTwinNoticeSignedBytes);
  return body;
}

void seal_twin_notice(std::span<uint8_t> packet, const Identity& signer, const Psk& psk) {
  MESHD_ASSERT(packet.size() == wire::kHeaderBytes + kTwinNoticeBytes);
  const auto header = packet.first(wire::kHeaderBytes);
  const auto payload = packet.subspan(wire::kHeaderBytes);
  const Signature signature = signer.sign(signed_message(header, payload));
  std::copy(signature.begin(), signature.end(), payload.begin() + kTwinNoticeSignedBytes);
  const Mac mac = compute_mac1(psk, mac_input(header, payload.first(kTwinNoticeBytes - kMacBytes)));
  std::copy(mac.begin(), mac.end(), payload.end() - kMacBytes);
}

wire::DropReason twin_notice_size_check(size_t payload_bytes) {
  if (payload_bytes < kTwinNoticeBytes) return wire::DropReason::truncated;
  if (payload_bytes > kTwinNoticeBytes) return wire::DropReason::too_large;
  return wire::DropReason::none;
}

std::optional<TwinNoticeBody> decode_twin_notice(std::span<const uint8_t> payload) {
  if (payload.size() != kTwinNoticeBytes) return std::nullopt;
  TwinNoticeBody b;
  wire::Reader r(payload);
  r.read_u32(b.fields.holder.ipv4);
  r.read_u16(b.fields.holder.port);
  r.read_u64(b.fields.holder_boot);
  r.read_bytes(b.fields.binding);
  r.read_bytes(b.signature);
  r.read_bytes(b.mac);
  MESHD_ASSERT(r.ok() && r.at_end());  // the length check above covers every field
  return b;
}

bool twin_notice_mac_valid(const CookieChecker& checker, std::span<const uint8_t> header_bytes,
                           std::span<const uint8_t> payload, const Mac& mac) {
  MESHD_ASSERT(payload.size() == kTwinNoticeBytes);
  return checker.mac1_valid(mac_input(header_bytes, payload.first(kTwinNoticeBytes - kMacBytes)), mac);
}

bool twin_notice_signature_valid(const SigningPublic& key, std::span<const uint8_t> header_bytes,
                                 std::span<const uint8_t> payload, const Signature& signature) {
  return verify_signature(key, signed_message(header_bytes, payload), signature);
}

}  // namespace meshd::crypto
