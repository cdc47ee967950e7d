// The MAC trailer of a handshake initiation (docs/protocol.md, "Handshake"):
//   initiation payload = Noise message || mac1 (16) || mac2 (16)
// Both macs cover mac_input = header AAD (header_aad(): hop_count zeroed)
// || Noise message, so they bind both NodeIds and the wire version
// (cookie.h says how each is keyed). The same mac1 construction over a
// whole payload names a message a twin notice refuses (its "binding").
//
// Pure functions over bytes; the split takes hostile input and returns
// nullopt rather than asserting.
#pragma once

#include <optional>
#include <span>
#include <vector>

#include "core/crypto/cookie.h"
#include "core/wire/header.h"

namespace meshd::crypto {

constexpr size_t kInitiationTrailerBytes = 2 * kMacBytes;

// a || b in a fresh vector.
std::vector<uint8_t> concat(std::span<const uint8_t> a, std::span<const uint8_t> b);
// The header AAD of a packet's first kHeaderBytes (precondition: at least that many).
wire::HeaderBytes aad_of(std::span<const uint8_t> packet_bytes);
// header AAD || body: what mac1 and mac2 cover.
std::vector<uint8_t> mac_input(std::span<const uint8_t> header_bytes, std::span<const uint8_t> body);

struct InitiationMacs {
  std::span<const uint8_t> message;  // the Noise message, borrowed from the payload
  Mac mac1{};
  Mac mac2{};
};
// Splits an initiation payload; nullopt if shorter than the trailer.
std::optional<InitiationMacs> split_initiation(std::span<const uint8_t> payload);
// Writes mac1 and mac2 into the trailer of a complete initiation packet
// (header || message || 32 trailer bytes). Precondition: packet sized so.
void write_initiation_macs(std::span<uint8_t> packet, const Mac& mac1, const Mac& mac2);
// The mac1 of a packet's whole payload (header AAD || payload): the binding
// a twin notice refusing that message must name.
Mac message_binding(const Psk& psk, std::span<const uint8_t> header_bytes, std::span<const uint8_t> payload);

}  // namespace meshd::crypto
