// core/wire: byte reader/writer, varints and the packet header codec.
#include <catch2/catch.hpp>

#include <vector>

#include "core/wire/byte_io.h"
#include "core/wire/header.h"

using namespace meshd;
using namespace meshd::wire;

namespace {

PacketHeader sample_header(uint16_t payload_length) {
  PacketHeader h;
  h.type = PacketType::transport;
  h.flags = 0;
  h.hop_limit = 5;
  h.hop_count = 2;
  for (size_t i = 0; i < kNodeIdBytes; ++i) {
    h.source.bytes[i] = static_cast<uint8_t>(i + 1);
    h.destination.bytes[i] = static_cast<uint8_t>(0xf0 - i);
  }
  h.session_id = 0xa1b2c3d4;
  h.counter = 0x0102030405060708ull;
  h.payload_length = payload_length;
  return h;
}

std::vector<uint8_t> packet(const PacketHeader& h) {
  std::vector<uint8_t> bytes(kHeaderBytes + h.payload_length, 0xee);
  encode_header(h, std::span<uint8_t, kHeaderBytes>(bytes.data(), kHeaderBytes));
  return bytes;
}

}  // namespace

TEST_CASE("wire: header encodes to the documented byte layout", "[wire]") {
  const auto bytes = packet(sample_header(3));
  REQUIRE(bytes.size() == kHeaderBytes + 3);
  CHECK(bytes[0] == 0x6d);
  CHECK(bytes[1] == 0x64);
  CHECK(bytes[2] == kWireVersion);
  CHECK(bytes[3] == 4);
  CHECK(bytes[5] == 5);
  CHECK(bytes[6] == 2);
  CHECK(bytes[7] == 0);
  CHECK(bytes[8] == 1);
  CHECK(bytes[24] == 0xf0);
  CHECK(bytes[40] == 0xd4);  // session id little-endian
  CHECK(bytes[43] == 0xa1);
  CHECK(bytes[44] == 0x08);  // counter little-endian
  CHECK(bytes[51] == 0x01);
  CHECK(bytes[52] == 3);
  CHECK(bytes[53] == 0);
}

TEST_CASE("wire: header round trip", "[wire]") {
  const PacketHeader h = sample_header(17);
  const auto bytes = packet(h);
  const DecodedPacket d = decode_packet(bytes);
  REQUIRE(d.ok());
  CHECK(d.header == h);
  CHECK(d.payload.size() == 17);
  CHECK(d.payload.data() == bytes.data() + kHeaderBytes);
}

TEST_CASE("wire: every malformed header maps to its drop reason", "[wire]") {
  const auto good = packet(sample_header(4));
  auto with = [&](size_t offset, uint8_t value) {
    auto b = good;
    b[offset] = value;
    return decode_packet(b).drop;
  };
  CHECK(decode_packet(std::span(good).first(kHeaderBytes - 1)).drop == DropReason::truncated);
  CHECK(decode_packet(std::span(good).first(0)).drop == DropReason::truncated);
  CHECK(decode_packet(std::span(good).first(good.size() - 1)).drop == DropReason::truncated);
  auto longer = good;
  longer.push_back(0);
  CHECK(decode_packet(longer).drop == DropReason::length_mismatch);
  CHECK(with(0, 'x') == DropReason::bad_magic);
  CHECK(with(1, 'x') == DropReason::bad_magic);
  CHECK(with(2, 2) == DropReason::bad_version);
  CHECK(with(2, 0) == DropReason::bad_version);
  CHECK(with(3, 0) == DropReason::unknown_type);
  CHECK(with(3, kPacketTypeMax + 1) == DropReason::unknown_type);
  CHECK(kPacketTypeMax == static_cast<uint8_t>(PacketType::twin_notice));
  for (uint8_t type = 1; type <= kPacketTypeMax; ++type) CHECK(with(3, type) == DropReason::none);
  CHECK(with(4, 0x80) == DropReason::bad_flags);
  CHECK(with(4, kFlagCookieAttached) == DropReason::none);
  CHECK(with(5, 0) == DropReason::bad_hops);                 // hop_limit 0
  CHECK(with(5, kHopLimitMax + 1) == DropReason::bad_hops);  // over the cap
  CHECK(with(6, 6) == DropReason::bad_hops);                 // count > limit
  CHECK(with(6, 5) == DropReason::none);                     // count == limit: the last relay's packet is valid
  CHECK(with(7, 1) == DropReason::bad_reserved);
  std::vector<uint8_t> huge(kPacketBytesMax + 1, 0);
  CHECK(decode_packet(huge).drop == DropReason::too_large);
}

TEST_CASE("wire: AAD covers every header byte except hop_count", "[wire]") {
  const auto a = packet(sample_header(0));
  HeaderBytes aad_a{}, aad_b{};
  header_aad(std::span<const uint8_t, kHeaderBytes>(a.data(), kHeaderBytes), aad_a);
  for (size_t i = 0; i < kHeaderBytes; ++i) {
    auto b = a;
    b[i] ^= 0x01;
    header_aad(std::span<const uint8_t, kHeaderBytes>(b.data(), kHeaderBytes), aad_b);
    if (i == kHopCountOffset) {
      CHECK(aad_a == aad_b);
    } else {
      CHECK(aad_a != aad_b);
    }
  }
}

TEST_CASE("wire: drop reasons have distinct metric names", "[wire]") {
  Metrics metrics;
  DropCounters drops(metrics);
  drops.count(DropReason::replay);
  drops.count(DropReason::replay);
  drops.count(DropReason::bad_magic);
  CHECK(drops.value(DropReason::replay) == 2);
  CHECK(metrics.value(wire::metric::kPacketsDropped, DropReason::replay) == 2);
  CHECK(metrics.value(wire::metric::kPacketsDropped, DropReason::bad_magic) == 1);
  CHECK(metrics.counters().size() == kDropReasonCount - 1);
}

TEST_CASE("wire: reader never reads past the end and stays failed", "[wire]") {
  const std::vector<uint8_t> bytes{1, 2, 3};
  Reader r(bytes);
  uint16_t v16 = 0;
  REQUIRE(r.read_u16(v16));
  CHECK(v16 == 0x0201);
  uint32_t v32 = 0;
  CHECK_FALSE(r.read_u32(v32));
  CHECK_FALSE(r.ok());
  uint8_t v8 = 0;
  CHECK_FALSE(r.read_u8(v8));  // sticky failure even though 1 byte remains
  CHECK(r.remaining() == 1);
}

TEST_CASE("wire: writer refuses to overflow its buffer", "[wire]") {
  std::array<uint8_t, 5> buffer{};
  Writer w(buffer);
  CHECK(w.write_u32(0x04030201));
  CHECK_FALSE(w.write_u16(7));
  CHECK_FALSE(w.ok());
  CHECK(w.size() == 4);
  CHECK(buffer[0] == 1);
  CHECK(buffer[4] == 0);
}

TEST_CASE("wire: varints round trip and reject overlong or oversized encodings", "[wire]") {
  for (uint64_t v : {uint64_t{0}, uint64_t{1}, uint64_t{127}, uint64_t{128}, uint64_t{300},
                     uint64_t{1} << 35, UINT64_MAX - 1, UINT64_MAX}) {
    std::array<uint8_t, kVarintBytesMax> buffer{};
    Writer w(buffer);
    REQUIRE(w.write_varint(v));
    CHECK(w.size() == varint_size(v));
    Reader r(w.written());
    uint64_t out = 0;
    REQUIRE(r.read_varint(out));
    CHECK(out == v);
    CHECK(r.at_end());
  }
  uint64_t out = 0;
  const std::vector<uint8_t> overlong{0x80, 0x00};
  CHECK_FALSE(Reader(overlong).read_varint(out));
  const std::vector<uint8_t> unterminated{0x80, 0x80};
  CHECK_FALSE(Reader(unterminated).read_varint(out));
  const std::vector<uint8_t> too_big{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
  CHECK_FALSE(Reader(too_big).read_varint(out));
  const std::vector<uint8_t> eleven(11, 0x80);
  CHECK_FALSE(Reader(eleven).read_varint(out));
}

TEST_CASE("wire: NodeId hex round trip", "[wire]") {
  NodeId id;
  for (size_t i = 0; i < kNodeIdBytes; ++i) id.bytes[i] = static_cast<uint8_t>(i * 17);
  const auto parsed = NodeId::from_hex(id.to_hex());
  REQUIRE(parsed);
  CHECK(*parsed == id);
  CHECK_FALSE(NodeId::from_hex("zz"));
  CHECK_FALSE(NodeId::from_hex(std::string(32, 'g')));
}
