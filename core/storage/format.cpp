#include "core/storage/format.h"

#include <cstring>

#include "core/env/assert.h"
#include "core/storage/crc32c.h"

namespace meshd::storage {

std::vector<uint8_t> encode_segment_header(const SegmentHeader& header) {
  std::vector<uint8_t> b(kSegmentHeaderBytes, 0);
  std::memcpy(b.data(), kSegmentMagic, 4);
  put_u16(b.data() + 4, kFormatVersion);
  put_u16(b.data() + 6, static_cast<uint16_t>(kSegmentHeaderBytes));
  put_u64(b.data() + 8, header.first_seq);
  put_u64(b.data() + 16, header.created_ms);
  put_u32(b.data() + 28, crc_mask(crc32c(std::span(b.data(), 28))));
  return b;
}

HeaderStatus decode_segment_header(std::span<const uint8_t> b, SegmentHeader& out) {
  if (b.size() < kSegmentHeaderBytes) return HeaderStatus::short_header;
  if (std::memcmp(b.data(), kSegmentMagic, 4) != 0) return HeaderStatus::bad_magic;
  if (crc_unmask(get_u32(b.data() + 28)) != crc32c(b.subspan(0, 28))) return HeaderStatus::bad_checksum;
  if (get_u16(b.data() + 4) != kFormatVersion || get_u16(b.data() + 6) != kSegmentHeaderBytes) {
    return HeaderStatus::bad_version;
  }
  out.first_seq = get_u64(b.data() + 8);
  out.created_ms = get_u64(b.data() + 16);
  return HeaderStatus::ok;
}

std::string_view header_status_name(HeaderStatus s) {
  switch (s) {
    case HeaderStatus::ok: return "ok";
    case HeaderStatus::short_header: return "short segment header";
    case HeaderStatus::bad_magic: return "bad segment magic";
    case HeaderStatus::bad_version: return "unsupported segment format version";
    case HeaderStatus::bad_checksum: return "segment header checksum mismatch";
  }
  return "?";
}

std::string_view frame_status_name(FrameStatus s) {
  switch (s) {
    case FrameStatus::ok: return "ok";
    case FrameStatus::incomplete: return "incomplete record";
    case FrameStatus::bad_length: return "record length over limit";
    case FrameStatus::bad_checksum: return "record checksum mismatch";
  }
  return "?";
}

namespace {
uint32_t frame_crc(const uint8_t* frame, std::span<const uint8_t> payload) {
  uint32_t c = crc32c(std::span(frame + 4, 16));
  c = crc32c_extend(c, payload);
  return crc32c_extend(c, std::span(frame + 20, 4));
}
}  // namespace

FrameStatus decode_frame(std::span<const uint8_t> b, FrameView& out) {
  if (b.size() < kRecordHeaderBytes) return FrameStatus::incomplete;
  const uint32_t len = get_u32(b.data() + 4);
  if (len > kRecordPayloadBytesMax) return FrameStatus::bad_length;
  if (b.size() < kRecordHeaderBytes + len) return FrameStatus::incomplete;
  const auto payload = b.subspan(kRecordHeaderBytes, len);
  if (crc_unmask(get_u32(b.data())) != frame_crc(b.data(), payload)) return FrameStatus::bad_checksum;
  out.seq = get_u64(b.data() + 8);
  out.offset = get_u32(b.data() + 16);
  out.synced_through = get_u32(b.data() + 20);
  out.payload = payload;
  out.frame_bytes = kRecordHeaderBytes + len;
  MESHD_ASSERT(out.frame_bytes <= b.size() && out.payload.size() == len);
  return FrameStatus::ok;
}

uint32_t append_frame(std::vector<uint8_t>& out, uint64_t seq, uint32_t offset, std::span<const uint8_t> payload) {
  MESHD_ASSERT(payload.size() <= kRecordPayloadBytesMax);
  const size_t at = out.size();
  out.resize(at + kRecordHeaderBytes + payload.size());
  uint8_t* f = out.data() + at;
  put_u32(f, 0);
  put_u32(f + 4, static_cast<uint32_t>(payload.size()));
  put_u64(f + 8, seq);
  put_u32(f + 16, offset);
  put_u32(f + 20, 0);
  if (!payload.empty()) std::memcpy(f + kRecordHeaderBytes, payload.data(), payload.size());
  MESHD_ASSERT(out.size() == at + kRecordHeaderBytes + payload.size());
  return crc32c_extend(crc32c(std::span<const uint8_t>(f + 4, 16)), payload);
}

void seal_frame(uint8_t* frame, uint32_t partial_crc, uint32_t synced_through) {
  put_u32(frame + 20, synced_through);
  put_u32(frame, crc_mask(crc32c_extend(partial_crc, std::span<const uint8_t>(frame + 20, 4))));
}

std::vector<uint8_t> encode_frame(uint64_t seq, uint32_t offset, uint32_t synced_through,
                                  std::span<const uint8_t> payload) {
  std::vector<uint8_t> out;
  const uint32_t partial = append_frame(out, seq, offset, payload);
  seal_frame(out.data(), partial, synced_through);
  MESHD_ASSERT(out.size() == kRecordHeaderBytes + payload.size());
  return out;
}

bool valid_segment_prefix(std::string_view prefix) {
  if (prefix.empty() || prefix.size() > kSegmentPrefixBytesMax) return false;
  for (char c : prefix) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return true;
}

std::string segment_name(std::string_view prefix, uint64_t first_seq) {
  char digits[21];
  for (int i = 19; i >= 0; --i) {
    digits[i] = static_cast<char>('0' + first_seq % 10);
    first_seq /= 10;
  }
  digits[20] = 0;
  MESHD_ASSERT(first_seq == 0);  // 20 digits hold every uint64_t
  std::string name = std::string(prefix) + "-" + digits + ".seg";
  MESHD_ASSERT(name.size() == prefix.size() + 1 + 20 + 4);
  return name;
}

std::optional<uint64_t> parse_segment_name(std::string_view prefix, std::string_view name) {
  if (name.size() != prefix.size() + 1 + 20 + 4) return std::nullopt;
  if (name.substr(0, prefix.size()) != prefix || name[prefix.size()] != '-') return std::nullopt;
  if (name.substr(name.size() - 4) != ".seg") return std::nullopt;
  uint64_t v = 0;
  for (char c : name.substr(prefix.size() + 1, 20)) {
    if (c < '0' || c > '9') return std::nullopt;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

}  // namespace meshd::storage
