// Bounded byte reader and writer for wire codecs.
//
// Reader: a cursor over borrowed bytes. Every read checks the remaining
// length first and returns false (leaving the cursor where it was) rather
// than reading past the end; after any failed read ok() stays false so a
// codec can chain reads and check once. Never allocates, never asserts on
// input. Integers are little-endian (Noise's nonce is little-endian too, so
// the whole protocol uses one byte order).
// Writer: appends to a caller-owned fixed span; writes past its end fail
// the writer (ok() == false) instead of overflowing. No allocation.
// Varints: unsigned LEB128, at most kVarintBytesMax (10) bytes for u64;
// overlong encodings (a trailing 0x00 group) and values over 64 bits are
// rejected so every value has exactly one encoding.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

#include "core/env/assert.h"

namespace meshd::wire {

constexpr size_t kVarintBytesMax = 10;

// The bounds bookkeeping Reader and Writer share: a position in `size`
// bytes and a sticky failure flag.
class Cursor {
 public:
  bool ok() const { return ok_; }
  size_t remaining() const { return size_ - pos_; }

 protected:
  explicit Cursor(size_t size) : size_(size) {}
  // Room for n more bytes? If not the cursor fails for good.
  bool need(size_t n) {
    if (!ok_ || n > remaining()) {
      ok_ = false;
      return false;
    }
    return true;
  }
  void fail() { ok_ = false; }
  // Moves past n bytes need() allowed.
  void advance(size_t n) {
    pos_ += n;
    MESHD_ASSERT(pos_ <= size_);
  }
  size_t pos_ = 0;

 private:
  size_t size_;
  bool ok_ = true;
};

class Reader : public Cursor {
 public:
  explicit Reader(std::span<const uint8_t> bytes) : Cursor(bytes.size()), bytes_(bytes) {}

  size_t position() const { return pos_; }
  bool at_end() const { return pos_ == bytes_.size(); }

  bool read_u8(uint8_t& out) {
    if (!need(1)) return false;
    out = bytes_[pos_];
    advance(1);
    return true;
  }
  bool read_u16(uint16_t& out) { return read_le(out); }
  bool read_u32(uint32_t& out) { return read_le(out); }
  bool read_u64(uint64_t& out) { return read_le(out); }
  bool read_bytes(std::span<uint8_t> out) {
    if (!need(out.size())) return false;
    if (!out.empty()) std::memcpy(out.data(), bytes_.data() + pos_, out.size());
    advance(out.size());
    return true;
  }
  // Borrows the next n bytes without copying.
  bool read_span(size_t n, std::span<const uint8_t>& out) {
    if (!need(n)) return false;
    out = bytes_.subspan(pos_, n);
    advance(n);
    MESHD_ASSERT(out.size() == n);
    return true;
  }
  bool skip(size_t n) {
    if (!need(n)) return false;
    advance(n);
    return true;
  }
  bool read_varint(uint64_t& out);
  // Everything not yet read.
  std::span<const uint8_t> rest() const { return bytes_.subspan(pos_); }

 private:
  template <class T>
  bool read_le(T& out) {
    if (!need(sizeof(T))) return false;
    T v = 0;
    for (size_t i = 0; i < sizeof(T); ++i) v |= static_cast<T>(static_cast<T>(bytes_[pos_ + i]) << (8 * i));
    advance(sizeof(T));
    out = v;
    return true;
  }

  std::span<const uint8_t> bytes_;
};

class Writer : public Cursor {
 public:
  explicit Writer(std::span<uint8_t> out) : Cursor(out.size()), out_(out) {}

  size_t size() const { return pos_; }
  std::span<uint8_t> written() const { return out_.first(pos_); }

  bool write_u8(uint8_t v) {
    if (!need(1)) return false;
    out_[pos_] = v;
    advance(1);
    return true;
  }
  bool write_u16(uint16_t v) { return write_le(v); }
  bool write_u32(uint32_t v) { return write_le(v); }
  bool write_u64(uint64_t v) { return write_le(v); }
  bool write_bytes(std::span<const uint8_t> bytes) {
    if (!need(bytes.size())) return false;
    if (!bytes.empty()) std::memcpy(out_.data() + pos_, bytes.data(), bytes.size());
    advance(bytes.size());
    return true;
  }
  bool write_varint(uint64_t v);

 private:
  template <class T>
  bool write_le(T v) {
    if (!need(sizeof(T))) return false;
    for (size_t i = 0; i < sizeof(T); ++i) out_[pos_ + i] = static_cast<uint8_t>(v >> (8 * i));
    advance(sizeof(T));
    return true;
  }

  std::span<uint8_t> out_;
};

// Number of bytes write_varint(v) produces (1..10).
size_t varint_size(uint64_t v);

// Decodes exactly out.size() * 2 hex digits (either case) into out; false
// (out partly written) on a wrong length or a non-hex character.
bool hex_decode(std::string_view text, std::span<uint8_t> out);

}  // namespace meshd::wire
