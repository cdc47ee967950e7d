// Fuzz target: wire::decode_packet and the varint reader on hostile bytes.
// Invariants: never crashes or reads out of bounds (ASan); an accepted
// packet re-encodes to exactly its own header bytes (one encoding per
// header); the payload span lies inside the input.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "core/wire/byte_io.h"
#include "core/wire/header.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace meshd::wire;
  const std::span<const uint8_t> input(data, size);
  const DecodedPacket d = decode_packet(input);
  if (d.ok()) {
    HeaderBytes again{};
    encode_header(d.header, again);
    if (std::memcmp(again.data(), data, kHeaderBytes) != 0) std::abort();
    if (d.payload.size() != d.header.payload_length) std::abort();
    if (d.payload.data() + d.payload.size() != data + size) std::abort();
  } else if (d.drop == DropReason::none) {
    std::abort();
  }
  Reader r(input);
  uint64_t v = 0;
  while (r.read_varint(v)) {
    std::array<uint8_t, kVarintBytesMax> buffer{};
    Writer w(buffer);
    if (!w.write_varint(v) || w.size() != varint_size(v)) std::abort();
  }
  return 0;
}
