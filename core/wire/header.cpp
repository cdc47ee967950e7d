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
  p[0] = kMagic0;
  p[1] = kMagic1;
  p[2] = h.version;
  p[3] = static_cast<uint8_t>(h.type);
  p[4] = h.flags;
  p[5] = h.hop_limit;
  p[6] = h.hop_count;
  p[7] = 0;
  std::memcpy(p + 8, h.source.bytes.data(), kNodeIdBytes);
  std::memcpy(p + 24, h.destination.bytes.data(), kNodeIdBytes);
  put_u32(p + 40, h.session_id);
  put_u64(p + 44, h.counter);
  put_u16(p + 52, h.payload_length);
}

DecodedPacket decode_packet(std::span<const uint8_t> datagram) {
  DecodedPacket d;
  if (datagram.size() > kPacketBytesMax) {
    d.drop = DropReason::too_large;
    return d;
  }
  if (datagram.size() < kHeaderBytes) {
    d.drop = DropReason::truncated;
    return d;
  }
  const uint8_t* p = datagram.data();
  if (p[0] != kMagic0 || p[1] != kMagic1) {
    d.drop = DropReason::bad_magic;
    return d;
  }
  if (p[2] != kWireVersion) {
    d.drop = DropReason::bad_version;
    return d;
  }
  if (p[3] < 1 || p[3] > kPacketTypeMax) {
    d.drop = DropReason::unknown_type;
    return d;
  }
  if ((p[4] & ~kFlagsKnown) != 0) {
    d.drop = DropReason::bad_flags;
    return d;
  }
  if (!hops_valid(p[5], p[6])) {
    d.drop = DropReason::bad_hops;
    return d;
  }
  if (p[7] != 0) {
    d.drop = DropReason::bad_reserved;
    return d;
  }
  const uint16_t payload_length = get_u16(p + 52);
  const size_t available = datagram.size() - kHeaderBytes;
  if (payload_length > available) {
    d.drop = DropReason::truncated;
    return d;
  }
  if (payload_length < available) {
    d.drop = DropReason::length_mismatch;
    return d;
  }
  // payload_length <= kPayloadBytesMax follows from datagram.size() <= kPacketBytesMax.
  PacketHeader& h = d.header;
  h.version = p[2];
  h.type = static_cast<PacketType>(p[3]);
  h.flags = p[4];
  h.hop_limit = p[5];
  h.hop_count = p[6];
  std::memcpy(h.source.bytes.data(), p + 8, kNodeIdBytes);
  std::memcpy(h.destination.bytes.data(), p + 24, kNodeIdBytes);
  h.session_id = get_u32(p + 40);
  h.counter = get_u64(p + 44);
  h.payload_length = payload_length;
  d.header_bytes = datagram.first(kHeaderBytes);
  d.payload = datagram.subspan(kHeaderBytes);
  return d;
}

void header_aad(std::span<const uint8_t, kHeaderBytes> header, std::span<uint8_t, kHeaderBytes> aad) {
  std::memcpy(aad.data(), header.data(), kHeaderBytes);
  aad[kHopCountOffset] = 0;
}

}  // namespace meshd::wire
