// The replicated key-value store on top of Raft: the admin state (budgets,
// trust, key-rotation records) later issues keep in it.
//
// Commands are log entries; every voter applies committed entries in log
// order to its KvStore, so every voter holds the same map (state-machine
// safety). Operations: get KEY, put KEY VALUE, cas KEY EXPECTED NEW (swap
// only if the current value is EXPECTED; `expected_absent` swaps only if
// the key is absent). Reads go through the log too (linearizable, one
// round of replication; ReadIndex is not built).
//
// Exactly-once (Raft dissertation §6.3): every command carries (client_id,
// seq); a client has one request outstanding and retries it with the same
// seq until answered. The store keeps, per client, the last seq applied
// and its result; a command with that seq again returns the saved result
// without applying, an older seq is ignored (stale). So a retried request
// that was committed twice (once per leader it reached) changes the state
// once. At most kSessionsMax clients are remembered; the least recently
// active one is forgotten first (a forgotten client's very old retry could
// then apply again — the dissertation's session expiry, same caveat).
//
// Command encoding (also the client request's body, kv_wire.h):
//   client_id u64, seq u64, op u8 (1 get, 2 put, 3 cas), flags u8 (bit 0:
//   expected_absent), key_len u8, key, value_len u16, value,
//   expected_len u16, expected — strict: lengths within the limits, no
//   trailing bytes, seq >= 1, unknown op or flag bits rejected.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/consensus/raft_types.h"

namespace meshd::consensus {

constexpr size_t kKeyBytesMax = 64;
constexpr size_t kValueBytesMax = 400;  // two values + key + header < kEntryBytesMax
constexpr size_t kSessionsMax = 4096;

enum class KvOp : uint8_t { get = 1, put = 2, cas = 3 };
std::string_view kv_op_name(KvOp op);

struct KvCommand {
  uint64_t client_id = 0;
  uint64_t seq = 0;
  KvOp op = KvOp::get;
  std::string key;
  std::string value;     // put: the value; cas: the new value
  std::string expected;  // cas
  bool expected_absent = false;  // cas: swap only if absent
};
std::vector<uint8_t> encode_command(const KvCommand& c);
std::optional<KvCommand> decode_command(std::span<const uint8_t> bytes);

struct KvResult {
  bool ok = true;                     // cas: swapped
  std::optional<std::string> value;   // get: the value; cas: the value found
};

struct KvApplied {
  bool command = false;  // false: a no-op entry (or an undecodable one, counted)
  bool duplicate = false;  // a retry answered from the session
  bool stale = false;      // an older seq than the session's: not applied, not answered
  KvCommand cmd;
  KvResult result;
};

class KvStore {
 public:
  // Applies entry `e` (must be the next index: asserted).
  KvApplied apply(const Entry& e);
  uint64_t applied_index() const { return applied_; }
  const std::map<std::string, std::string>& data() const { return data_; }
  uint64_t undecodable() const { return undecodable_; }
  size_t sessions() const { return sessions_.size(); }

 private:
  struct Session {
    uint64_t seq = 0;
    KvResult result;
    uint64_t last_index = 0;  // for eviction: least recently active first
  };
  KvResult execute(const KvCommand& c);
  void evict_if_full();

  std::map<std::string, std::string> data_;
  std::map<uint64_t, Session> sessions_;
  uint64_t applied_ = 0;
  uint64_t undecodable_ = 0;
};

}  // namespace meshd::consensus
