// The KV client protocol (one datagram each way, little-endian):
//   magic u16 = 0x564B ("KV"), version u8 = 1, type u8, then
//   request  (type 1): a KvCommand (kv.h encoding)
//   response (type 2): client_id u64, seq u64, status u8 (0 done,
//                      1 not_leader), leader_hint u8 (a voter id,
//                      kNoVote: unknown), ok u8, has_value u8,
//                      value_len u16 (<= kValueBytesMax), value
// Strict decoding: exact lengths, booleans 0/1, a value only when
// has_value, known status only. A client resends a request with the same
// seq until it gets `done` (kv.h: exactly once).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <variant>
#include <vector>

#include "core/consensus/kv.h"

namespace meshd::consensus {

constexpr uint16_t kKvMagic = 0x564B;

enum class KvStatus : uint8_t { done = 0, not_leader = 1 };

struct KvResponse {
  uint64_t client_id = 0;
  uint64_t seq = 0;
  KvStatus status = KvStatus::done;
  VoterId leader_hint = kNoVote;
  KvResult result;
};

bool is_kv_datagram(std::span<const uint8_t> bytes);
std::vector<uint8_t> encode_request(const KvCommand& c);
std::vector<uint8_t> encode_response(const KvResponse& r);
// A request (KvCommand) or a response; nullopt when malformed.
using KvMessage = std::variant<KvCommand, KvResponse>;
std::optional<KvMessage> decode_kv(std::span<const uint8_t> bytes);

}  // namespace meshd::consensus
