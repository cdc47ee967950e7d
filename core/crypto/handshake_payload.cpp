#include "core/crypto/handshake_payload.h"

#include <algorithm>

#include "core/env/assert.h"
#include "core/wire/byte_io.h"
#include "core/wire/header.h"

namespace meshd::crypto {

namespace {
constexpr std::string_view kPrologueTag = "meshd";
}  // namespace

std::vector<uint8_t> encode_handshake_payload(const HandshakePayload& p) {
  std::vector<uint8_t> out(kHandshakePayloadBytes);
  wire::Writer w(out);
  w.write_u32(p.index);
  w.write_u64(p.freshness.boot);
  w.write_u64(p.freshness.timestamp);
  w.write_bytes(p.key);
  MESHD_ASSERT(w.ok() && w.size() == out.size());
  return out;
}

std::optional<HandshakePayload> decode_handshake_payload(std::span<const uint8_t> bytes) {
  if (bytes.size() != kHandshakePayloadBytes) return std::nullopt;
  wire::Reader r(bytes);
  HandshakePayload p;
  r.read_u32(p.index);
  r.read_u64(p.freshness.boot);
  r.read_u64(p.freshness.timestamp);
  r.read_bytes(p.key);
  MESHD_ASSERT(r.ok() && r.at_end());  // the length check above covers every field
  return p;
}

std::vector<uint8_t> handshake_prologue(const NodeId& initiator, const NodeId& responder) {
  std::vector<uint8_t> p(kPrologueTag.begin(), kPrologueTag.end());
  p.push_back(wire::kWireVersion);
  p.insert(p.end(), initiator.bytes.begin(), initiator.bytes.end());
  p.insert(p.end(), responder.bytes.begin(), responder.bytes.end());
  MESHD_ASSERT(p.size() == kHandshakePrologueBytes);
  return p;
}

std::optional<PrologueIds> decode_handshake_prologue(std::span<const uint8_t> bytes) {
  if (bytes.size() != kHandshakePrologueBytes) return std::nullopt;
  if (!std::equal(kPrologueTag.begin(), kPrologueTag.end(), bytes.begin())) return std::nullopt;
  if (bytes[kPrologueTag.size()] != wire::kWireVersion) return std::nullopt;
  PrologueIds ids;
  const auto rest = bytes.subspan(kPrologueTag.size() + 1);
  std::copy_n(rest.begin(), kNodeIdBytes, ids.initiator.bytes.begin());
  std::copy_n(rest.begin() + kNodeIdBytes, kNodeIdBytes, ids.responder.bytes.begin());
  return ids;
}

std::optional<HandshakeStep> parse_handshake_counter(uint64_t counter) {
  if (counter >> 16 != 0) return std::nullopt;
  const auto pattern = static_cast<uint8_t>(counter >> 8);
  const auto message = static_cast<uint8_t>(counter & 0xff);
  if (pattern == static_cast<uint8_t>(MeshPattern::ik) && message <= 1) {
    return HandshakeStep{MeshPattern::ik, message};
  }
  if (pattern == static_cast<uint8_t>(MeshPattern::xx) && message <= 2) {
    return HandshakeStep{MeshPattern::xx, message};
  }
  return std::nullopt;
}

}  // namespace meshd::crypto
