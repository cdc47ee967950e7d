// The handshake wire codecs alone: payload, prologue, header counter,
// initiation mac trailer and twin notice — round trips and rejections.
#include <catch2/catch.hpp>

#include "core/crypto/handshake_macs.h"
#include "core/crypto/handshake_payload.h"
#include "core/crypto/twin_notice.h"
#include "tests/crypto/test_keys.h"

using namespace meshd;
using namespace meshd::crypto;
using namespace meshd::crypto::testing;

namespace {
// A header for `type` with the given payload length, as encode_header writes it.
std::vector<uint8_t> packet_with(wire::PacketType type, size_t payload_bytes) {
  wire::PacketHeader h;
  h.type = type;
  h.hop_limit = 1;
  h.source = id_of(1);
  h.destination = id_of(2);
  h.session_id = 77;
  h.payload_length = static_cast<uint16_t>(payload_bytes);
  std::vector<uint8_t> bytes(wire::kHeaderBytes + payload_bytes);
  wire::encode_header(h, std::span<uint8_t, wire::kHeaderBytes>(bytes.data(), wire::kHeaderBytes));
  return bytes;
}
}  // namespace

TEST_CASE("handshake codec: payload round trips and rejects every other size", "[crypto][codec]") {
  HandshakePayload p;
  p.index = 0xdeadbeef;
  p.freshness = {3, 1'700'000'000'000'123};
  p.key.fill(0x42);
  const auto bytes = encode_handshake_payload(p);
  REQUIRE(bytes.size() == kHandshakePayloadBytes);
  CHECK(decode_handshake_payload(bytes) == p);
  for (size_t n : {size_t{0}, kHandshakePayloadBytes - 1, kHandshakePayloadBytes + 1}) {
    std::vector<uint8_t> other(n, 0x42);
    CHECK_FALSE(decode_handshake_payload(other).has_value());
  }
  CHECK((HandshakeFreshness{2, 1} < HandshakeFreshness{3, 0}));  // boot first, then timestamp
  CHECK((HandshakeFreshness{3, 0} < HandshakeFreshness{3, 1}));
}

TEST_CASE("handshake codec: prologue binds both ids and the wire version", "[crypto][codec]") {
  const auto p = handshake_prologue(id_of(1), id_of(2));
  REQUIRE(p.size() == kHandshakePrologueBytes);
  const auto ids = decode_handshake_prologue(p);
  REQUIRE(ids);
  CHECK(ids->initiator == id_of(1));
  CHECK(ids->responder == id_of(2));
  CHECK(handshake_prologue(id_of(2), id_of(1)) != p);
  auto bad = p;
  bad[5] ^= 1;  // version
  CHECK_FALSE(decode_handshake_prologue(bad));
  bad = p;
  bad[0] = 'M';
  CHECK_FALSE(decode_handshake_prologue(bad));
  CHECK_FALSE(decode_handshake_prologue(std::span(p).first(p.size() - 1)));
}

TEST_CASE("handshake codec: the header counter names only real pattern steps", "[crypto][codec]") {
  for (const HandshakeStep step : {HandshakeStep{MeshPattern::ik, 0}, HandshakeStep{MeshPattern::ik, 1},
                                   HandshakeStep{MeshPattern::xx, 0}, HandshakeStep{MeshPattern::xx, 1},
                                   HandshakeStep{MeshPattern::xx, 2}}) {
    CHECK(parse_handshake_counter(handshake_counter(step)) == step);
  }
  CHECK(handshake_counter({MeshPattern::xx, 2}) == 0x202);
  CHECK_FALSE(parse_handshake_counter(0x102));    // IK has two messages
  CHECK_FALSE(parse_handshake_counter(0x203));    // XX has three
  CHECK_FALSE(parse_handshake_counter(0x300));    // no pattern 3
  CHECK_FALSE(parse_handshake_counter(0x000));
  CHECK_FALSE(parse_handshake_counter(0x10100));  // bits above the pattern byte
}

TEST_CASE("handshake codec: the initiation trailer splits, and mac1 binds header and message",
          "[crypto][codec]") {
  Psk psk{};
  psk.fill(9);
  RandomStream rng(key_of(3));
  const CookieChecker checker(psk, rng);
  auto packet = packet_with(wire::PacketType::handshake_initiation, 40 + kInitiationTrailerBytes);
  for (size_t i = wire::kHeaderBytes; i < packet.size(); ++i) packet[i] = static_cast<uint8_t>(i);
  const std::span<const uint8_t> header(packet.data(), wire::kHeaderBytes);
  const auto message = std::span<const uint8_t>(packet).subspan(wire::kHeaderBytes, 40);
  Mac mac2{};
  mac2.fill(7);
  write_initiation_macs(packet, compute_mac1(psk, mac_input(header, message)), mac2);
  const auto split = split_initiation(std::span<const uint8_t>(packet).subspan(wire::kHeaderBytes));
  REQUIRE(split);
  CHECK(split->message.size() == 40);
  CHECK(split->mac2 == mac2);
  CHECK(checker.mac1_valid(mac_input(header, split->message), split->mac1));
  // hop_count is not covered (relays change it); every other header byte is.
  auto hopped = packet;
  hopped[wire::kHopCountOffset] = 1;
  CHECK(checker.mac1_valid(mac_input(std::span(hopped).first(wire::kHeaderBytes), split->message), split->mac1));
  auto moved = packet;
  moved[8] ^= 1;  // source NodeId
  CHECK_FALSE(checker.mac1_valid(mac_input(std::span(moved).first(wire::kHeaderBytes), split->message), split->mac1));
  CHECK_FALSE(split_initiation(std::vector<uint8_t>(kInitiationTrailerBytes - 1)));
  CHECK(split_initiation(std::vector<uint8_t>(kInitiationTrailerBytes))->message.empty());
}

TEST_CASE("handshake codec: a twin notice round trips, verifies, and rejects tampering and wrong sizes",
          "[crypto][codec][twins]") {
  Psk psk{};
  psk.fill(9);
  RandomStream rng(key_of(3));
  const CookieChecker checker(psk, rng);
  RandomStream id_rng(key_of(4));
  const Identity signer = Identity::generate(id_rng);
  const Identity other = Identity::generate(id_rng);
  TwinNoticeFields fields;
  fields.holder = Address{0x0a000001, 5000};
  fields.holder_boot = 12;
  fields.binding.fill(0x33);
  auto packet = packet_with(wire::PacketType::twin_notice, kTwinNoticeBytes);
  const auto body = encode_twin_notice(fields);
  REQUIRE(body.size() == kTwinNoticeBytes);
  std::copy(body.begin(), body.end(), packet.begin() + wire::kHeaderBytes);
  seal_twin_notice(packet, signer, psk);
  const std::span<const uint8_t> header(packet.data(), wire::kHeaderBytes);
  const auto payload = std::span<const uint8_t>(packet).subspan(wire::kHeaderBytes);
  const auto decoded = decode_twin_notice(payload);
  REQUIRE(decoded);
  CHECK(decoded->fields == fields);
  CHECK(twin_notice_mac_valid(checker, header, payload, decoded->mac));
  CHECK(twin_notice_signature_valid(signer.public_key(), header, payload, decoded->signature));
  CHECK_FALSE(twin_notice_signature_valid(other.public_key(), header, payload, decoded->signature));
  // Any changed field, or a changed header (it binds both NodeIds and the index), breaks both checks.
  for (size_t offset : {size_t{9}, size_t{41}, wire::kHeaderBytes + 1, wire::kHeaderBytes + 20}) {
    auto bent = packet;
    bent[offset] ^= 1;
    const std::span<const uint8_t> h(bent.data(), wire::kHeaderBytes);
    const auto p = std::span<const uint8_t>(bent).subspan(wire::kHeaderBytes);
    CHECK_FALSE(twin_notice_mac_valid(checker, h, p, decoded->mac));
    CHECK_FALSE(twin_notice_signature_valid(signer.public_key(), h, p, decoded->signature));
  }
  CHECK(twin_notice_size_check(kTwinNoticeBytes - 1) == wire::DropReason::truncated);
  CHECK(twin_notice_size_check(kTwinNoticeBytes + 1) == wire::DropReason::too_large);
  CHECK(twin_notice_size_check(kTwinNoticeBytes) == wire::DropReason::none);
  CHECK_FALSE(decode_twin_notice(payload.first(kTwinNoticeBytes - 1)));
}
