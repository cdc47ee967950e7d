#include "core/wire/byte_io.h"

#include "core/env/assert.h"

namespace meshd::wire {

size_t varint_size(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  MESHD_ASSERT(n >= 1 && n <= kVarintBytesMax);
  return n;
}

bool Reader::read_varint(uint64_t& out) {
  if (!ok()) return false;
  uint64_t value = 0;
  // Bounded loop: at most kVarintBytesMax groups, never past the end.
  for (size_t i = 0; i < kVarintBytesMax; ++i) {
    if (pos_ + i >= bytes_.size()) break;
    const uint8_t byte = bytes_[pos_ + i];
    const uint64_t group = byte & 0x7f;
    // The 10th group may only carry the top bit of a u64.
    if (i == kVarintBytesMax - 1 && group > 1) break;
    value |= group << (7 * i);
    if ((byte & 0x80) == 0) {
      // Overlong: a final zero group after the first byte.
      if (i > 0 && group == 0) break;
      advance(i + 1);
      MESHD_ASSERT(varint_size(value) == i + 1);  // canonical: no overlong form
      out = value;
      return true;
    }
  }
  fail();
  return false;
}

bool Writer::write_varint(uint64_t v) {
  const size_t bytes = varint_size(v);
  if (!need(bytes)) return false;
  const size_t start = pos_;
  while (v >= 0x80) {
    out_[pos_++] = static_cast<uint8_t>(v | 0x80);
    v >>= 7;
  }
  out_[pos_++] = static_cast<uint8_t>(v);
  MESHD_ASSERT(pos_ - start == bytes && pos_ <= out_.size());
  return true;
}

namespace {
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

bool hex_decode(std::string_view text, std::span<uint8_t> out) {
  if (text.size() != out.size() * 2) return false;
  for (size_t i = 0; i < out.size(); ++i) {
    const int hi = hex_value(text[2 * i]), lo = hex_value(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    MESHD_ASSERT(hi < 16 && lo < 16);
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

}  // namespace meshd::wire
