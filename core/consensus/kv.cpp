#include "core/consensus/kv.h"

#include <array>

#include "core/env/assert.h"
#include "core/wire/byte_io.h"

namespace meshd::consensus {

static_assert(8 + 8 + 1 + 1 + 1 + kKeyBytesMax + 2 + kValueBytesMax + 2 + kValueBytesMax <= kEntryBytesMax);

std::string_view kv_op_name(KvOp op) {
  switch (op) {
    case KvOp::get: return "get";
    case KvOp::put: return "put";
    case KvOp::cas: return "cas";
  }
  return "invalid";
}

std::vector<uint8_t> encode_command(const KvCommand& c) {
  MESHD_ASSERT(c.key.size() <= kKeyBytesMax && c.value.size() <= kValueBytesMax &&
               c.expected.size() <= kValueBytesMax && c.seq >= 1);
  std::array<uint8_t, kEntryBytesMax> buf{};
  wire::Writer w(buf);
  w.write_u64(c.client_id);
  w.write_u64(c.seq);
  w.write_u8(static_cast<uint8_t>(c.op));
  w.write_u8(c.expected_absent ? 1 : 0);
  w.write_u8(static_cast<uint8_t>(c.key.size()));
  w.write_bytes({reinterpret_cast<const uint8_t*>(c.key.data()), c.key.size()});
  w.write_u16(static_cast<uint16_t>(c.value.size()));
  w.write_bytes({reinterpret_cast<const uint8_t*>(c.value.data()), c.value.size()});
  w.write_u16(static_cast<uint16_t>(c.expected.size()));
  w.write_bytes({reinterpret_cast<const uint8_t*>(c.expected.data()), c.expected.size()});
  MESHD_ASSERT(w.ok());
  auto out = w.written();
  return {out.begin(), out.end()};
}

namespace {
bool read_string(wire::Reader& r, size_t len, size_t max, std::string& out) {
  std::span<const uint8_t> s;
  if (len > max || !r.read_span(len, s)) return false;
  out.assign(reinterpret_cast<const char*>(s.data()), s.size());
  return true;
}
}  // namespace

std::optional<KvCommand> decode_command(std::span<const uint8_t> bytes) {
  wire::Reader r(bytes);
  KvCommand c;
  uint8_t op = 0, flags = 0, key_len = 0;
  uint16_t value_len = 0, expected_len = 0;
  if (!r.read_u64(c.client_id) || !r.read_u64(c.seq) || !r.read_u8(op) || !r.read_u8(flags) ||
      !r.read_u8(key_len) || !read_string(r, key_len, kKeyBytesMax, c.key) || !r.read_u16(value_len) ||
      !read_string(r, value_len, kValueBytesMax, c.value) || !r.read_u16(expected_len) ||
      !read_string(r, expected_len, kValueBytesMax, c.expected) || !r.at_end()) {
    return std::nullopt;
  }
  if (c.seq == 0 || op < 1 || op > 3 || flags > 1) return std::nullopt;
  c.op = static_cast<KvOp>(op);
  c.expected_absent = flags == 1;
  if (c.op != KvOp::cas && (c.expected_absent || !c.expected.empty())) return std::nullopt;
  if (c.op == KvOp::get && !c.value.empty()) return std::nullopt;
  if (c.expected_absent && !c.expected.empty()) return std::nullopt;
  return c;
}

KvResult KvStore::execute(const KvCommand& c) {
  KvResult res;
  auto it = data_.find(c.key);
  switch (c.op) {
    case KvOp::get:
      if (it != data_.end()) res.value = it->second;
      break;
    case KvOp::put: data_[c.key] = c.value; break;
    case KvOp::cas: {
      if (it != data_.end()) res.value = it->second;
      const bool match = c.expected_absent ? it == data_.end() : (it != data_.end() && it->second == c.expected);
      res.ok = match;
      if (match) data_[c.key] = c.value;
      break;
    }
  }
  return res;
}

void KvStore::evict_if_full() {
  if (sessions_.size() < kSessionsMax) return;
  auto oldest = sessions_.begin();
  for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
    if (it->second.last_index < oldest->second.last_index) oldest = it;
  }
  sessions_.erase(oldest);
}

KvApplied KvStore::apply(const Entry& e) {
  MESHD_ASSERT_MSG(e.index == applied_ + 1, "entries applied out of order");
  applied_ = e.index;
  KvApplied out;
  if (e.data.empty()) return out;  // the leader's no-op
  std::optional<KvCommand> c = decode_command(e.data);
  if (!c) {
    ++undecodable_;  // proposals are validated first: only a bug gets here
    return out;
  }
  out.command = true;
  out.cmd = std::move(*c);
  auto s = sessions_.find(out.cmd.client_id);
  if (s != sessions_.end() && out.cmd.seq <= s->second.seq) {
    if (out.cmd.seq == s->second.seq) {
      out.duplicate = true;
      out.result = s->second.result;
    } else {
      out.stale = true;
    }
    return out;
  }
  out.result = execute(out.cmd);
  if (s == sessions_.end()) {
    evict_if_full();
    s = sessions_.emplace(out.cmd.client_id, Session{}).first;
  }
  s->second = Session{out.cmd.seq, out.result, e.index};
  MESHD_ASSERT(sessions_.size() <= kSessionsMax);
  return out;
}

}  // namespace meshd::consensus
