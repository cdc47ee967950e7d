#include "core/crypto/handshake_macs.h"

#include <algorithm>
#include <cstring>

#include "core/env/assert.h"

namespace meshd::crypto {

std::vector<uint8_t> concat(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  // memcpy with explicit sizes: gcc 12's -Warray-bounds misfires on
  // vector::insert from a std::array-backed span here.
  std::vector<uint8_t> out(a.size() + b.size());
  if (!a.empty()) std::memcpy(out.data(), a.data(), a.size());
  if (!b.empty()) std::memcpy(out.data() + a.size(), b.data(), b.size());
  MESHD_ASSERT(out.size() == a.size() + b.size());
  return out;
}

wire::HeaderBytes aad_of(std::span<const uint8_t> packet_bytes) {
  MESHD_ASSERT(packet_bytes.size() >= wire::kHeaderBytes);
  wire::HeaderBytes aad{};
  wire::header_aad(packet_bytes.first<wire::kHeaderBytes>(), aad);
  return aad;
}

std::vector<uint8_t> mac_input(std::span<const uint8_t> header_bytes, std::span<const uint8_t> body) {
  return concat(aad_of(header_bytes), body);
}

std::optional<InitiationMacs> split_initiation(std::span<const uint8_t> payload) {
  if (payload.size() < kInitiationTrailerBytes) return std::nullopt;
  InitiationMacs m;
  m.message = payload.first(payload.size() - kInitiationTrailerBytes);
  std::copy_n(payload.end() - kInitiationTrailerBytes, kMacBytes, m.mac1.begin());
  std::copy_n(payload.end() - kMacBytes, kMacBytes, m.mac2.begin());
  MESHD_ASSERT(m.message.size() + kInitiationTrailerBytes == payload.size());
  return m;
}

void write_initiation_macs(std::span<uint8_t> packet, const Mac& mac1, const Mac& mac2) {
  MESHD_ASSERT(packet.size() >= wire::kHeaderBytes + kInitiationTrailerBytes);
  std::copy(mac1.begin(), mac1.end(), packet.end() - kInitiationTrailerBytes);
  std::copy(mac2.begin(), mac2.end(), packet.end() - kMacBytes);
}

Mac message_binding(const Psk& psk, std::span<const uint8_t> header_bytes, std::span<const uint8_t> payload) {
  return compute_mac1(psk, mac_input(header_bytes, payload));
}

}  // namespace meshd::crypto
