#include "core/membership/liveness_wire.h"

namespace meshd::membership {

namespace {
void put_u64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (56 - 8 * i));
}
uint64_t get_u64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}
}  // namespace

std::string_view liveness_drop_name(LivenessDrop reason) {
  switch (reason) {
    case LivenessDrop::none: return "none";
    case LivenessDrop::truncated: return "truncated";
    case LivenessDrop::bad_length: return "bad_length";
    case LivenessDrop::bad_magic: return "bad_magic";
    case LivenessDrop::bad_version: return "bad_version";
    case LivenessDrop::unknown_type: return "unknown_type";
    case LivenessDrop::unknown_peer: return "unknown_peer";
    case LivenessDrop::unexpected_ack: return "unexpected_ack";
  }
  return "unknown";
}

std::array<uint8_t, kLivenessMessageBytes> encode(const LivenessMessage& m) {
  std::array<uint8_t, kLivenessMessageBytes> b{};
  b[0] = kLivenessMagic >> 8;
  b[1] = kLivenessMagic & 0xFF;
  b[2] = kLivenessVersion;
  b[3] = static_cast<uint8_t>(m.type);
  put_u64(b.data() + 4, m.incarnation);
  put_u64(b.data() + 12, m.seq);
  return b;
}

bool is_liveness(std::span<const uint8_t> bytes) {
  return bytes.size() >= 2 && bytes[0] == (kLivenessMagic >> 8) && bytes[1] == (kLivenessMagic & 0xFF);
}

std::optional<LivenessMessage> decode(std::span<const uint8_t> bytes, LivenessDrop* reason) {
  auto fail = [&](LivenessDrop r) {
    *reason = r;
    return std::nullopt;
  };
  if (bytes.size() < 4) return fail(LivenessDrop::truncated);
  if (!is_liveness(bytes)) return fail(LivenessDrop::bad_magic);
  if (bytes[2] != kLivenessVersion) return fail(LivenessDrop::bad_version);
  if (bytes[3] != static_cast<uint8_t>(LivenessType::ping) &&
      bytes[3] != static_cast<uint8_t>(LivenessType::ack)) {
    return fail(LivenessDrop::unknown_type);
  }
  if (bytes.size() < kLivenessMessageBytes) return fail(LivenessDrop::truncated);
  if (bytes.size() != kLivenessMessageBytes) return fail(LivenessDrop::bad_length);
  LivenessMessage m;
  m.type = static_cast<LivenessType>(bytes[3]);
  m.incarnation = get_u64(bytes.data() + 4);
  m.seq = get_u64(bytes.data() + 12);
  *reason = LivenessDrop::none;
  return m;
}

}  // namespace meshd::membership
