#include "core/consensus/kv_wire.h"

#include <array>

#include "core/env/assert.h"
#include "core/env/network.h"
#include "core/wire/byte_io.h"

namespace meshd::consensus {

namespace {
constexpr uint8_t kVersion = 1;
constexpr uint8_t kRequest = 1, kResponse = 2;

std::vector<uint8_t> framed(uint8_t type, std::span<const uint8_t> body) {
  std::vector<uint8_t> out(4 + body.size());
  out[0] = static_cast<uint8_t>(kKvMagic & 0xff);
  out[1] = static_cast<uint8_t>(kKvMagic >> 8);
  out[2] = kVersion;
  out[3] = type;
  for (size_t i = 0; i < body.size(); ++i) out[4 + i] = body[i];
  MESHD_ASSERT(out.size() <= kDatagramBytesMax);
  return out;
}
}  // namespace

bool is_kv_datagram(std::span<const uint8_t> bytes) {
  return bytes.size() >= 2 && (bytes[0] | (uint16_t{bytes[1]} << 8)) == kKvMagic;
}

std::vector<uint8_t> encode_request(const KvCommand& c) { return framed(kRequest, encode_command(c)); }

std::vector<uint8_t> encode_response(const KvResponse& r) {
  MESHD_ASSERT(!r.result.value || r.result.value->size() <= kValueBytesMax);
  std::array<uint8_t, 32 + kValueBytesMax> buf{};
  wire::Writer w(buf);
  w.write_u64(r.client_id);
  w.write_u64(r.seq);
  w.write_u8(static_cast<uint8_t>(r.status));
  w.write_u8(r.leader_hint);
  w.write_u8(r.result.ok ? 1 : 0);
  w.write_u8(r.result.value ? 1 : 0);
  const std::string empty;
  const std::string& v = r.result.value ? *r.result.value : empty;
  w.write_u16(static_cast<uint16_t>(v.size()));
  w.write_bytes({reinterpret_cast<const uint8_t*>(v.data()), v.size()});
  MESHD_ASSERT(w.ok());
  return framed(kResponse, w.written());
}

std::optional<KvMessage> decode_kv(std::span<const uint8_t> bytes) {
  wire::Reader r(bytes);
  uint16_t magic = 0;
  uint8_t version = 0, type = 0;
  if (!r.read_u16(magic) || magic != kKvMagic || !r.read_u8(version) || version != kVersion || !r.read_u8(type)) {
    return std::nullopt;
  }
  if (type == kRequest) {
    std::optional<KvCommand> c = decode_command(r.rest());
    if (!c) return std::nullopt;
    return KvMessage{std::move(*c)};
  }
  if (type != kResponse) return std::nullopt;
  KvResponse resp;
  uint8_t status = 0, ok = 0, has_value = 0;
  uint16_t len = 0;
  std::span<const uint8_t> value;
  if (!r.read_u64(resp.client_id) || !r.read_u64(resp.seq) || !r.read_u8(status) || !r.read_u8(resp.leader_hint) ||
      !r.read_u8(ok) || !r.read_u8(has_value) || !r.read_u16(len) || len > kValueBytesMax ||
      !r.read_span(len, value) || !r.at_end()) {
    return std::nullopt;
  }
  if (status > 1 || ok > 1 || has_value > 1 || (has_value == 0 && len != 0)) return std::nullopt;
  if (resp.leader_hint != kNoVote && resp.leader_hint >= kVotersMax) return std::nullopt;
  resp.status = static_cast<KvStatus>(status);
  resp.result.ok = ok == 1;
  if (has_value) resp.result.value = std::string(reinterpret_cast<const char*>(value.data()), value.size());
  return KvMessage{std::move(resp)};
}

}  // namespace meshd::consensus
