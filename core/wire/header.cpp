#include "core/wire/header.h"

#include <bit>
#include <cstring>

#include "core/env/assert.h"

namespace meshd::wire {

namespace {

// Little-endian loads/stores. On little-endian hosts these are single
// unaligned moves (the hot path: bench_crypto "header encode+decode").
template <class T>
inline void put_le(uint8_t* p, T v) {
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(p, &v, sizeof(T));
  } else {
    for (size_t i = 0; i < sizeof(T); ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
  }
}
template <class T>
inline T get_le(const uint8_t* p) {
  T v = 0;
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(&v, p, sizeof(T));
  } else {
    for (size_t i = 0; i < sizeof(T); ++i) v = static_cast<T>(v | static_cast<T>(p[i]) << (8 * i));
  }
  return v;
}
inline void put_u16(uint8_t* p, uint16_t v) { put_le(p, v); }
inline void put_u32(uint8_t* p, uint32_t v) { put_le(p, v); }
inline void put_u64(uint8_t* p, uint64_t v) { put_le(p, v); }
inline uint16_t get_u16(const uint8_t* p) { return get_le<uint16_t>(p); }
inline uint32_t get_u32(const uint8_t* p) { return get_le<uint32_t>(p); }
inline uint64_t get_u64(const uint8_t* p) { return get_le<uint64_t>(p); }

bool hops_valid(uint8_t hop_limit, uint8_t hop_count) {
  return hop_limit >= 1 && hop_limit <= kHopLimitMax && hop_count <= hop_limit;
}

}  // namespace

bool header_valid(const PacketHeader& h) {
  const auto type = static_cast<uint8_t>(h.type);
  return h.version == kWireVersion && type >= 1 && type <= kPacketTypeMax &&
         (h.flags & ~kFlagsKnown) == 0 && hops_valid(h.hop_limit, h.hop_count) &&
         h.payload_length <= kPayloadBytesMax;
}

void encode_header(const PacketHeader& h, std::span<uint8_t, kHeaderBytes> out) {
  MESHD_ASSERT(header_valid(h));
  uint8_t* p = out.data();
  // Bytes 0..7 as one store (the hot path: bench_crypto "header encode+decode").
  put_u64(p, uint64_t{kMagic0} | uint64_t{kMagic1} << 8 | uint64_t{h.version} << 16 |
                 uint64_t{static_cast<uint8_t>(h.type)} << 24 | uint64_t{h.flags} << 32 |
                 uint64_t{h.hop_limit} << 40 | uint64_t{h.hop_count} << 48);
  std::memcpy(p + 8, h.source.bytes.data(), kNodeIdBytes);
  std::memcpy(p + 24, h.destination.bytes.data(), kNodeIdBytes);
  put_u32(p + 40, h.session_id);
  put_u64(p + 44, h.counter);
  put_u16(p + 52, h.payload_length);
  MESHD_ASSERT(p[0] == kMagic0 && p[1] == kMagic1 && p[7] == 0);  // reserved byte stays zero
}

namespace {

inline NodeId node_id_at(const uint8_t* p) {
  NodeId id;
  std::memcpy(id.bytes.data(), p, kNodeIdBytes);
  return id;
}

// Why `datagram` is not a well-formed packet (none if it is); w0 = bytes 0..7.
inline DropReason check_packet(std::span<const uint8_t> datagram, uint64_t w0) {
  const auto byte = [w0](unsigned i) { return static_cast<uint8_t>(w0 >> (8 * i)); };
  if (byte(0) != kMagic0 || byte(1) != kMagic1) return DropReason::bad_magic;
  if (byte(2) != kWireVersion) return DropReason::bad_version;
  if (byte(3) < 1 || byte(3) > kPacketTypeMax) return DropReason::unknown_type;
  if ((byte(4) & ~kFlagsKnown) != 0) return DropReason::bad_flags;
  if (!hops_valid(byte(5), byte(6))) return DropReason::bad_hops;
  if (byte(7) != 0) return DropReason::bad_reserved;
  const uint16_t payload_length = get_u16(datagram.data() + 52);
  const size_t available = datagram.size() - kHeaderBytes;
  if (payload_length > available) return DropReason::truncated;
  if (payload_length < available) return DropReason::length_mismatch;
  // payload_length <= kPayloadBytesMax follows from datagram.size() <= kPacketBytesMax.
  MESHD_ASSERT(payload_length <= kPayloadBytesMax);
  return DropReason::none;
}

}  // namespace

DecodedPacket decode_packet(std::span<const uint8_t> datagram) {
  DropReason drop = DropReason::none;
  if (datagram.size() > kPacketBytesMax) {
    drop = DropReason::too_large;
  } else if (datagram.size() < kHeaderBytes) {
    drop = DropReason::truncated;
  } else {
    const uint8_t* p = datagram.data();
    // Bytes 0..7 in one load; the checks then read a register. The result
    // is built once, field by field (the hot path: bench_crypto "header
    // encode+decode"; default-initialising it first and overwriting it
    // cost a third of the time).
    const uint64_t w0 = get_u64(p);
    drop = check_packet(datagram, w0);
    if (drop == DropReason::none) {
      const auto byte = [w0](unsigned i) { return static_cast<uint8_t>(w0 >> (8 * i)); };
      return DecodedPacket{DropReason::none,
                           PacketHeader{.source = node_id_at(p + 8),
                                        .destination = node_id_at(p + 24),
                                        .counter = get_u64(p + 44),
                                        .session_id = get_u32(p + 40),
                                        .payload_length = get_u16(p + 52),
                                        .version = byte(2),
                                        .type = static_cast<PacketType>(byte(3)),
                                        .flags = byte(4),
                                        .hop_limit = byte(5),
                                        .hop_count = byte(6)},
                           datagram.first(kHeaderBytes), datagram.subspan(kHeaderBytes)};
    }
  }
  MESHD_ASSERT(drop != DropReason::none);
  DecodedPacket d;
  d.drop = drop;
  return d;
}

void header_aad(std::span<const uint8_t, kHeaderBytes> header, std::span<uint8_t, kHeaderBytes> aad) {
  std::memcpy(aad.data(), header.data(), kHeaderBytes);
  aad[kHopCountOffset] = 0;  // relays change it: never authenticated
  MESHD_ASSERT(aad[0] == header[0] && aad[kHeaderBytes - 1] == header[kHeaderBytes - 1]);
}

}  // namespace meshd::wire
