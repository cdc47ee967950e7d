// The mesh packet header: the first kHeaderBytes (54) of every datagram.
//
// Layout (little-endian; docs/protocol.md has the byte-by-byte table):
//   0  2  magic "md" (0x6d 0x64)
//   2  1  version (kWireVersion)
//   3  1  type (PacketType)
//   4  1  flags (kFlagsKnown bits only)
//   5  1  hop_limit: max relays, set by the source (1..kHopLimitMax)
//   6  1  hop_count: relays so far — the ONLY field a relay changes
//   7  1  reserved, zero
//   8 16  source NodeId
//  24 16  destination NodeId
//  40  4  session_id: the receiver's session index (an initiation, whose
//         receiver has none yet, carries the sender's index instead)
//  44  8  counter: AEAD nonce of a transport packet; handshake sequence otherwise
//  52  2  payload_length: bytes after the header (ciphertext incl. tag)
// A datagram is exactly header + payload_length bytes.
//
// Authentication: the header is the AEAD associated data with hop_count
// zeroed (header_aad()). Relays increment hop_count, so it cannot be
// authenticated end to end; everything else a relay might be tempted to
// rewrite (ids, type, counter, lengths, hop_limit) is authenticated.
//
// decode_packet() never reads past its input, never allocates, never
// asserts on input: it returns DropReason::none and the parsed header, or
// the first reason the bytes are unacceptable. encode_header() asserts its
// header is valid (a bad header is a programming error on the send side).
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "core/wire/drop_reason.h"
#include "core/wire/node_id.h"

namespace meshd::wire {

constexpr size_t kHeaderBytes = 54;
constexpr uint8_t kMagic0 = 0x6d;  // 'm'
constexpr uint8_t kMagic1 = 0x64;  // 'd'
constexpr uint8_t kWireVersion = 1;
constexpr uint8_t kHopLimitMax = 16;
// Largest UDP/IPv4 payload; transport fragments anything bigger.
constexpr size_t kPacketBytesMax = 65507;
constexpr size_t kPayloadBytesMax = kPacketBytesMax - kHeaderBytes;
constexpr size_t kHopCountOffset = 6;

enum class PacketType : uint8_t {
  handshake_initiation = 1,
  handshake_response = 2,
  cookie_reply = 3,
  transport = 4,
  // The responder's signed answer to an initiation it refused because the
  // initiator's identity is live at another endpoint (a twin);
  // crypto::HandshakeManager, docs/protocol.md "twin_notice".
  twin_notice = 5,
};
constexpr uint8_t kPacketTypeMax = 5;

// Flag bits.
constexpr uint8_t kFlagCookieAttached = 0x01;  // handshake initiation carries a cookie MAC
constexpr uint8_t kFlagsKnown = kFlagCookieAttached;

// Members ordered for alignment (ids first, then by size), not by wire
// offset: the 16-byte ids copy with aligned moves on the hot path.
struct PacketHeader {
  NodeId source;
  NodeId destination;
  uint64_t counter = 0;
  uint32_t session_id = 0;
  uint16_t payload_length = 0;
  uint8_t version = kWireVersion;
  PacketType type = PacketType::transport;
  uint8_t flags = 0;
  uint8_t hop_limit = 1;
  uint8_t hop_count = 0;

  bool operator==(const PacketHeader&) const = default;
};

using HeaderBytes = std::array<uint8_t, kHeaderBytes>;

struct DecodedPacket {
  DropReason drop = DropReason::none;
  PacketHeader header;
  std::span<const uint8_t> header_bytes;  // first kHeaderBytes of the input
  std::span<const uint8_t> payload;       // borrowed from the input
  bool ok() const { return drop == DropReason::none; }
};

// True if `h` may be encoded (version, type, flags, hops, length in range).
bool header_valid(const PacketHeader& h);
void encode_header(const PacketHeader& h, std::span<uint8_t, kHeaderBytes> out);
DecodedPacket decode_packet(std::span<const uint8_t> datagram);
// The AEAD associated data: the header bytes with hop_count zeroed.
void header_aad(std::span<const uint8_t, kHeaderBytes> header, std::span<uint8_t, kHeaderBytes> aad);

}  // namespace meshd::wire
