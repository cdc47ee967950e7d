#include "core/consensus/raft_wire.h"

#include <array>

#include "core/env/assert.h"
#include "core/env/network.h"
#include "core/wire/byte_io.h"

namespace meshd::consensus {

std::string_view role_name(Role role) {
  switch (role) {
    case Role::follower: return "follower";
    case Role::pre_candidate: return "pre_candidate";
    case Role::candidate: return "candidate";
    case Role::leader: return "leader";
  }
  return "invalid";
}

std::string_view msg_type_name(MsgType type) {
  switch (type) {
    case MsgType::pre_vote_req: return "pre_vote_req";
    case MsgType::pre_vote_resp: return "pre_vote_resp";
    case MsgType::vote_req: return "vote_req";
    case MsgType::vote_resp: return "vote_resp";
    case MsgType::append_req: return "append_req";
    case MsgType::append_resp: return "append_resp";
    case MsgType::heartbeat: return "heartbeat";
    case MsgType::heartbeat_resp: return "heartbeat_resp";
  }
  return "invalid";
}

bool is_raft_datagram(std::span<const uint8_t> bytes) {
  return bytes.size() >= 2 && (bytes[0] | (uint16_t{bytes[1]} << 8)) == kRaftMagic;
}

std::vector<uint8_t> encode(const Message& m) {
  std::array<uint8_t, kDatagramBytesMax> buf{};
  wire::Writer w(buf);
  w.write_u16(kRaftMagic);
  w.write_u8(kRaftWireVersion);
  w.write_u8(static_cast<uint8_t>(m.type));
  w.write_u64(m.term);
  switch (m.type) {
    case MsgType::pre_vote_req:
    case MsgType::vote_req:
      w.write_u64(m.last_index);
      w.write_u64(m.last_term);
      break;
    case MsgType::pre_vote_resp:
    case MsgType::vote_resp: w.write_u8(m.granted ? 1 : 0); break;
    case MsgType::append_req:
      MESHD_ASSERT(m.entries.size() <= kEntriesPerAppendMax);
      w.write_u64(m.prev_index);
      w.write_u64(m.prev_term);
      w.write_u64(m.commit);
      w.write_u16(static_cast<uint16_t>(m.entries.size()));
      for (const Entry& e : m.entries) {
        MESHD_ASSERT(e.data.size() <= kEntryBytesMax);
        w.write_u64(e.term);
        w.write_u16(static_cast<uint16_t>(e.data.size()));
        w.write_bytes(e.data);
      }
      break;
    case MsgType::append_resp:
      w.write_u8(m.success ? 1 : 0);
      w.write_u64(m.index);
      w.write_u64(m.hint);
      break;
    case MsgType::heartbeat: w.write_u64(m.commit); break;
    case MsgType::heartbeat_resp: break;
  }
  MESHD_ASSERT_MSG(w.ok(), "a Raft message outgrew a datagram");  // the batcher keeps under kAppendBytesMax
  auto out = w.written();
  return {out.begin(), out.end()};
}

namespace {

bool read_bool(wire::Reader& r, bool& out) {
  uint8_t v = 0;
  if (!r.read_u8(v) || v > 1) return false;
  out = v == 1;
  return true;
}

bool decode_entries(wire::Reader& r, Message& m) {
  uint16_t count = 0;
  if (!r.read_u16(count) || count > kEntriesPerAppendMax) return false;
  if (m.prev_index > UINT64_MAX - count) return false;
  uint64_t prior_term = m.prev_term;
  m.entries.reserve(count);
  for (uint16_t i = 0; i < count; ++i) {
    Entry e;
    uint16_t len = 0;
    if (!r.read_u64(e.term) || !r.read_u16(len) || len > kEntryBytesMax) return false;
    if (e.term < prior_term || e.term > m.term || e.term == 0) return false;
    std::span<const uint8_t> data;
    if (!r.read_span(len, data)) return false;
    e.data.assign(data.begin(), data.end());
    e.index = m.prev_index + 1 + i;
    prior_term = e.term;
    m.entries.push_back(std::move(e));
  }
  return true;
}

}  // namespace

std::optional<Message> decode(std::span<const uint8_t> bytes) {
  wire::Reader r(bytes);
  uint16_t magic = 0;
  uint8_t version = 0, type = 0;
  Message m;
  if (!r.read_u16(magic) || magic != kRaftMagic || !r.read_u8(version) || version != kRaftWireVersion ||
      !r.read_u8(type) || !r.read_u64(m.term)) {
    return std::nullopt;
  }
  if (type < static_cast<uint8_t>(MsgType::pre_vote_req) || type > static_cast<uint8_t>(MsgType::heartbeat_resp)) {
    return std::nullopt;
  }
  m.type = static_cast<MsgType>(type);
  if (m.term == 0) return std::nullopt;  // every message is sent in a real term
  bool ok = true;
  switch (m.type) {
    case MsgType::pre_vote_req:
    case MsgType::vote_req:
      ok = r.read_u64(m.last_index) && r.read_u64(m.last_term) && m.last_term <= m.term &&
           (m.last_index == 0) == (m.last_term == 0);
      break;
    case MsgType::pre_vote_resp:
    case MsgType::vote_resp: ok = read_bool(r, m.granted); break;
    case MsgType::append_req:
      ok = r.read_u64(m.prev_index) && r.read_u64(m.prev_term) && r.read_u64(m.commit) &&
           m.prev_term <= m.term && (m.prev_index == 0) == (m.prev_term == 0) && decode_entries(r, m);
      break;
    case MsgType::append_resp:
      ok = read_bool(r, m.success) && r.read_u64(m.index) && r.read_u64(m.hint) && (m.success || m.hint < m.index);
      break;
    case MsgType::heartbeat: ok = r.read_u64(m.commit); break;
    case MsgType::heartbeat_resp: break;
  }
  if (!ok || !r.ok() || !r.at_end()) return std::nullopt;
  return m;
}

}  // namespace meshd::consensus
