// Liveness wire format v1: PING and ACK datagrams (docs/protocol.md).
//
//   offset size field
//   0      2    magic        0x4D 0x4C ("ML"), big-endian
//   2      1    version      1
//   3      1    type         1 = PING, 2 = ACK
//   4      8    incarnation  sender's boot count, big-endian
//   12     8    seq          PING: sender's sequence; ACK: the PING's seq
//   20          (end; any other length is dropped)
//
// This is the plaintext seed protocol of the membership layer; once the
// secure transport exists it travels inside an authenticated session.
// decode() never reads out of bounds and reports why it rejected bytes.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace meshd::membership {

constexpr uint16_t kLivenessMagic = 0x4D4C;
constexpr uint8_t kLivenessVersion = 1;
constexpr size_t kLivenessMessageBytes = 20;

enum class LivenessType : uint8_t { ping = 1, ack = 2 };

struct LivenessMessage {
  LivenessType type = LivenessType::ping;
  uint64_t incarnation = 0;
  uint64_t seq = 0;
  bool operator==(const LivenessMessage&) const = default;
};

enum class LivenessDrop : uint8_t {
  none = 0, truncated, bad_length, bad_magic, bad_version, unknown_type,
  unknown_peer, unexpected_ack,
};
constexpr size_t kLivenessDropReasons = 8;
std::string_view liveness_drop_name(LivenessDrop reason);

std::array<uint8_t, kLivenessMessageBytes> encode(const LivenessMessage& m);
// Returns the message, or nullopt with *reason set.
std::optional<LivenessMessage> decode(std::span<const uint8_t> bytes, LivenessDrop* reason);
// True if `bytes` starts with the liveness magic (for dispatch).
bool is_liveness(std::span<const uint8_t> bytes);

}  // namespace meshd::membership
