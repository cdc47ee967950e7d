// Raft's wire format (one datagram per message, little-endian):
//
//   magic u16 = 0x4652 ("RF")  version u8 = 1  type u8  term u64
//   pre_vote_req / vote_req : last_index u64, last_term u64
//   pre_vote_resp / vote_resp: granted u8 (0 or 1)
//   append_req : prev_index u64, prev_term u64, commit u64, count u16,
//                count × (term u64, len u16, len bytes)
//                (entry i has index prev_index + 1 + i)
//   append_resp: success u8, index u64, hint u64
//                (success: index = the follower's match; rejected: index =
//                 the prev_index refused, hint = where the leader should
//                 retry from minus one)
//   heartbeat  : commit u64          heartbeat_resp: (nothing)
//
// Decoding is strict: exact lengths (no trailing bytes), booleans 0/1,
// count <= kEntriesPerAppendMax, len <= kEntryBytesMax, entry terms
// non-decreasing, >= prev_term and <= the message term, indices without
// overflow, a pre-vote/vote request's last_term <= its term. Anything else
// is `malformed` and never reaches the state machine.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "core/consensus/raft_types.h"

namespace meshd::consensus {

constexpr uint16_t kRaftMagic = 0x4652;
constexpr uint8_t kRaftWireVersion = 1;
constexpr size_t kRaftHeaderBytes = 12;

enum class MsgType : uint8_t {
  pre_vote_req = 1, pre_vote_resp, vote_req, vote_resp, append_req, append_resp, heartbeat, heartbeat_resp
};
std::string_view msg_type_name(MsgType type);

struct Message {
  MsgType type = MsgType::heartbeat;
  uint64_t term = 0;
  uint64_t last_index = 0, last_term = 0;  // vote requests
  bool granted = false;                    // vote responses
  uint64_t prev_index = 0, prev_term = 0;  // append_req
  uint64_t commit = 0;                     // append_req, heartbeat
  std::vector<Entry> entries{};            // append_req (index filled in)
  bool success = false;                    // append_resp
  uint64_t index = 0, hint = 0;            // append_resp
};

// True when the bytes start with the Raft magic (a node demultiplexes by it).
bool is_raft_datagram(std::span<const uint8_t> bytes);
std::vector<uint8_t> encode(const Message& m);
std::optional<Message> decode(std::span<const uint8_t> bytes);
// The encoded size of one entry inside an append_req.
constexpr size_t entry_wire_bytes(size_t data_bytes) { return 8 + 2 + data_bytes; }

}  // namespace meshd::consensus
