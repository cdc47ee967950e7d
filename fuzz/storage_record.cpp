// Fuzz target: the storage log's frame and segment-header decoders on
// hostile bytes (core/storage/format.h). Invariants: never crashes or reads
// out of bounds (ASan); an accepted frame lies inside the input and
// re-encodes to exactly its own bytes; an accepted header re-encodes to
// exactly its 32 bytes.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "core/storage/format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace meshd::storage;
  const std::span<const uint8_t> input(data, size);
  FrameView f;
  if (decode_frame(input, f) == FrameStatus::ok) {
    if (f.frame_bytes > size || f.payload.size() + kRecordHeaderBytes != f.frame_bytes) std::abort();
    const auto again = encode_frame(f.seq, f.offset, f.synced_through, f.payload);
    if (again.size() != f.frame_bytes || std::memcmp(again.data(), data, again.size()) != 0) std::abort();
  }
  SegmentHeader h;
  if (decode_segment_header(input, h) == HeaderStatus::ok) {
    const auto again = encode_segment_header(h);
    // Byte 24..28 is reserved and covered by the CRC, so it must be zero to match.
    if (std::memcmp(again.data(), data, 24) != 0) std::abort();
  }
  return 0;
}
