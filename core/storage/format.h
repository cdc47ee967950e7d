// The storage log's on-disk format (docs/storage.md, "On-disk format").
//
// A log is a set of segment files "<prefix>-<first seq, 20 digits>.seg" in
// one Disk directory. Each segment starts with a 32-byte header, followed
// by record frames back to back. All integers little-endian.
//
// Segment header (kSegmentHeaderBytes = 32):
//   0  magic "MLOG"        4  u16 format version (1)   6  u16 header bytes (32)
//   8  u64 first seq      16  u64 created_ms (the log's clock, for retention)
//  24  u32 reserved (0)   28  u32 masked CRC32C of bytes 0..28
//
// Record frame (kRecordHeaderBytes = 24, then the payload):
//   0  u32 masked CRC32C   4  u32 payload length (<= kRecordPayloadBytesMax)
//   8  u64 seq            16  u32 offset of this frame in its segment
//  20  u32 synced_through: the segment offset known durable (fsynced) when
//      this frame was written. It lets recovery tell a torn tail (damage
//      after the durable point) from lost durable data (damage before it).
// The CRC covers bytes 4..20, then the payload, then bytes 20..24 (so the
// writer can fill synced_through at write time without re-reading the
// payload: crc32c_extend of 4 bytes).
//
// The stored offset makes a misdirected write detectable: a whole, valid
// frame found at the wrong offset is corruption, never data.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace meshd::storage {

constexpr uint8_t kSegmentMagic[4] = {'M', 'L', 'O', 'G'};
constexpr uint16_t kFormatVersion = 1;
constexpr size_t kSegmentHeaderBytes = 32;
constexpr size_t kRecordHeaderBytes = 24;
constexpr size_t kRecordPayloadBytesMax = size_t{1} << 20;   // 1 MiB
constexpr uint64_t kSegmentBytesMin = 4096;
// Segment offsets are u32; a segment's target size leaves room for one
// maximal record past the target (the record that crosses it).
constexpr uint64_t kSegmentBytesMax = uint64_t{1} << 30;     // 1 GiB
constexpr uint64_t kSegmentTargetBytesMax = kSegmentBytesMax - kRecordHeaderBytes - kRecordPayloadBytesMax;
constexpr uint64_t kFirstSeq = 1;                            // seqs start at 1; 0 is "none"
constexpr size_t kSegmentPrefixBytesMax = 64;

struct SegmentHeader {
  uint64_t first_seq = kFirstSeq;
  uint64_t created_ms = 0;
};
std::vector<uint8_t> encode_segment_header(const SegmentHeader& header);
enum class HeaderStatus : uint8_t { ok, short_header, bad_magic, bad_version, bad_checksum };
HeaderStatus decode_segment_header(std::span<const uint8_t> bytes, SegmentHeader& out);
std::string_view header_status_name(HeaderStatus status);

struct FrameView {
  uint64_t seq = 0;
  uint32_t offset = 0;           // as stored
  uint32_t synced_through = 0;   // as stored
  std::span<const uint8_t> payload;
  size_t frame_bytes = 0;        // header + payload
};
enum class FrameStatus : uint8_t {
  ok,
  incomplete,    // the bytes end inside the frame (header or payload)
  bad_length,    // length over kRecordPayloadBytesMax
  bad_checksum,  // CRC mismatch
};
std::string_view frame_status_name(FrameStatus status);
// Decodes the frame at the start of `bytes` (which may run past it).
FrameStatus decode_frame(std::span<const uint8_t> bytes, FrameView& out);

// Appends the frame for (seq, offset, payload) to `out` with synced_through
// = 0 and returns the CRC state before the synced_through bytes; finish it
// with seal_frame() once the durable offset at write time is known.
uint32_t append_frame(std::vector<uint8_t>& out, uint64_t seq, uint32_t offset, std::span<const uint8_t> payload);
// Writes synced_through and the final masked CRC into the frame at `frame`.
void seal_frame(uint8_t* frame, uint32_t partial_crc, uint32_t synced_through);
// Convenience: a complete frame (tests, fuzzers, tools).
std::vector<uint8_t> encode_frame(uint64_t seq, uint32_t offset, uint32_t synced_through,
                                  std::span<const uint8_t> payload);

// "<prefix>-<20-digit first seq>.seg"; prefix is 1..kSegmentPrefixBytesMax
// of [A-Za-z0-9_].
bool valid_segment_prefix(std::string_view prefix);
std::string segment_name(std::string_view prefix, uint64_t first_seq);
std::optional<uint64_t> parse_segment_name(std::string_view prefix, std::string_view name);

// Little-endian helpers.
inline void put_u16(uint8_t* p, uint16_t v) { p[0] = uint8_t(v); p[1] = uint8_t(v >> 8); }
inline void put_u32(uint8_t* p, uint32_t v) { for (int i = 0; i < 4; ++i) p[i] = uint8_t(v >> (8 * i)); }
inline void put_u64(uint8_t* p, uint64_t v) { for (int i = 0; i < 8; ++i) p[i] = uint8_t(v >> (8 * i)); }
inline uint16_t get_u16(const uint8_t* p) { return uint16_t(p[0] | (p[1] << 8)); }
inline uint32_t get_u32(const uint8_t* p) {
  return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}
inline uint64_t get_u64(const uint8_t* p) { return uint64_t(get_u32(p)) | (uint64_t(get_u32(p + 4)) << 32); }

}  // namespace meshd::storage
