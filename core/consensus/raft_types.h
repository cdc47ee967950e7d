// Raft's plain data: log entries, hard state, roles, and every limit the
// consensus code enforces (raft.h is the protocol spec). Indices start at
// 1; index 0 / term 0 is the empty log's sentinel.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace meshd::consensus {

// A voter is named by its position in RaftConfig::voters.
using VoterId = uint8_t;
constexpr VoterId kNoVote = 0xff;
constexpr size_t kVotersMax = 7;

// One log entry's command; entries ride in one datagram, so a command is
// small (the KV's keys and values are bounded below it, kv.h).
constexpr size_t kEntryBytesMax = 1024;
// Entries one AppendEntries carries at most (batching); the byte budget
// (kAppendBytesMax) usually ends a batch first.
constexpr size_t kEntriesPerAppendMax = 64;
// An AppendEntries datagram's payload stays under the network's 1400.
constexpr size_t kAppendBytesMax = 1300;
// AppendEntries a leader has in flight to one follower (pipelining).
constexpr size_t kInflightAppendsMax = 32;
// Proposed but uncommitted entries a leader accepts before refusing more
// (a leader that cannot commit must push back, not grow without bound).
constexpr size_t kUncommittedEntriesMax = 4096;
// The log without snapshots (not built yet) is bounded: past this many
// entries proposals are refused (raft.h, "Missing").
constexpr uint64_t kLogEntriesMax = 4'000'000;

struct Entry {
  uint64_t index = 0;
  uint64_t term = 0;
  std::vector<uint8_t> data{};  // empty: the leader's no-op of its term
  bool operator==(const Entry&) const = default;
};

// Persistent state besides the log: made durable before any message that
// depends on it is sent (raft.h, "Durability").
struct HardState {
  uint64_t term = 0;
  VoterId vote = kNoVote;  // voted for in `term`
  bool operator==(const HardState&) const = default;
};

enum class Role : uint8_t { follower, pre_candidate, candidate, leader };
std::string_view role_name(Role role);

}  // namespace meshd::consensus
