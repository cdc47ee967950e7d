// rapidcheck properties for the wire header, the replay window and
// transport sessions (issue 3, "Fuzz and properties").
#include <catch2/catch.hpp>
#include <rapidcheck.h>
#include <rapidcheck/catch.h>

#include <set>
#include <vector>

#include "core/crypto/replay_window.h"
#include "core/crypto/session.h"
#include "core/wire/header.h"

using namespace meshd;
using namespace meshd::crypto;
using wire::DropReason;

namespace {

rc::Gen<wire::PacketHeader> gen_header() {
  return rc::gen::exec([] {
    wire::PacketHeader h;
    h.type = static_cast<wire::PacketType>(*rc::gen::inRange<int>(1, wire::kPacketTypeMax + 1));
    h.flags = *rc::gen::element<uint8_t>(0, wire::kFlagCookieAttached);
    h.hop_limit = *rc::gen::inRange<uint8_t>(1, wire::kHopLimitMax + 1);
    h.hop_count = *rc::gen::inRange<uint8_t>(0, static_cast<uint8_t>(h.hop_limit + 1));
    for (auto& b : h.source.bytes) b = *rc::gen::arbitrary<uint8_t>();
    for (auto& b : h.destination.bytes) b = *rc::gen::arbitrary<uint8_t>();
    h.session_id = *rc::gen::arbitrary<uint32_t>();
    h.counter = *rc::gen::arbitrary<uint64_t>();
    h.payload_length = *rc::gen::inRange<uint16_t>(0, 2048);
    return h;
  });
}

// Counters that exercise the interesting regions: small, near a sliding
// top, far jumps, and the reserved maximum.
rc::Gen<uint64_t> gen_counter() {
  return rc::gen::oneOf(rc::gen::inRange<uint64_t>(0, 300), rc::gen::inRange<uint64_t>(3900, 4400),
                        rc::gen::inRange<uint64_t>(8000, 20000),
                        rc::gen::element<uint64_t>(UINT64_MAX, UINT64_MAX - 1, UINT64_MAX - 4033));
}

// The reference model of ReplayWindow's documented contract.
struct ReferenceWindow {
  std::set<uint64_t> seen;
  bool any = false;
  uint64_t highest = 0;
  bool accept(uint64_t c) const {
    if (c == UINT64_MAX || seen.count(c)) return false;
    // "c >= highest - window", written so it cannot wrap near 2^64.
    return !any || c >= highest || highest - c <= kReplayWindowPackets;
  }
  void commit(uint64_t c) {
    seen.insert(c);
    if (!any || c > highest) highest = c;
    any = true;
  }
};

}  // namespace

TEST_CASE("prop: header encode/decode round trip", "[prop][wire]") {
  rc::prop("decode(encode(h)) == h", [] {
    const wire::PacketHeader h = *gen_header();
    std::vector<uint8_t> bytes(wire::kHeaderBytes + h.payload_length, 0x5a);
    wire::encode_header(h, std::span<uint8_t, wire::kHeaderBytes>(bytes.data(), wire::kHeaderBytes));
    const auto d = wire::decode_packet(bytes);
    RC_ASSERT(d.ok());
    RC_ASSERT(d.header == h);
    RC_ASSERT(d.payload.size() == h.payload_length);
  });
  rc::prop("decode never accepts a wrong length", [] {
    const wire::PacketHeader h = *gen_header();
    const int delta = *rc::gen::inRange(-3, 4);
    RC_PRE(delta != 0);
    std::vector<uint8_t> bytes(wire::kHeaderBytes + h.payload_length, 0);
    wire::encode_header(h, std::span<uint8_t, wire::kHeaderBytes>(bytes.data(), wire::kHeaderBytes));
    bytes.resize(static_cast<size_t>(static_cast<long>(bytes.size()) + delta));
    RC_ASSERT(!wire::decode_packet(bytes).ok());
  });
}

TEST_CASE("prop: replay window matches a std::set reference model", "[prop][crypto]") {
  rc::prop("check/commit == reference", [] {
    const auto counters = *rc::gen::container<std::vector<uint64_t>>(gen_counter());
    // Some packets fail AEAD: checked but never committed.
    const auto forged = *rc::gen::container<std::vector<bool>>(counters.size(), rc::gen::arbitrary<bool>());
    ReplayWindow window;
    ReferenceWindow model;
    for (size_t i = 0; i < counters.size(); ++i) {
      const uint64_t c = counters[i];
      const bool expected = model.accept(c);
      RC_ASSERT(window.check(c) == expected);
      if (expected && !forged[i]) {
        window.commit(c);
        model.commit(c);
      }
    }
  });
}

TEST_CASE("prop: seal/open round trip; any single bit flip fails to open", "[prop][crypto]") {
  rc::prop("round trip and bit flips", [] {
    SessionKeys ka, kb;
    for (auto& b : ka.send) b = *rc::gen::arbitrary<uint8_t>();
    for (auto& b : ka.receive) b = *rc::gen::arbitrary<uint8_t>();
    kb.send = ka.receive;
    kb.receive = ka.send;
    const SessionConfig config;
    Session alice(ka, 1, 2, true, 0, config);
    Session bob(kb, 2, 1, false, 0, config);
    const auto plaintext = *rc::gen::container<std::vector<uint8_t>>(rc::gen::arbitrary<uint8_t>());
    RC_PRE(plaintext.size() <= 4096);
    wire::PacketHeader h;
    h.hop_limit = *rc::gen::inRange<uint8_t>(1, wire::kHopLimitMax + 1);
    for (auto& b : h.source.bytes) b = *rc::gen::arbitrary<uint8_t>();
    std::vector<uint8_t> datagram(plaintext.size() + kSealOverheadBytes);
    const auto n = alice.seal(h, plaintext, datagram, 0);
    RC_ASSERT(n.is_ok());
    RC_ASSERT(*n == datagram.size());

    const size_t bit = *rc::gen::inRange<size_t>(0, datagram.size() * 8);
    auto flipped = datagram;
    flipped[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    std::vector<uint8_t> out(datagram.size());
    size_t got = 0;
    const auto bad = wire::decode_packet(flipped);
    const bool hop_count_bit = bit / 8 == wire::kHopCountOffset;
    if (bad.ok()) {
      const DropReason r = bob.open(bad, out, got, 0);
      // hop_count is the one unauthenticated byte (relays increment it).
      if (!hop_count_bit) RC_ASSERT(r != DropReason::none);
      if (hop_count_bit && r == DropReason::none) {
        RC_ASSERT(std::equal(plaintext.begin(), plaintext.end(), out.begin()));
        return;  // counter consumed; the genuine copy is now a replay
      }
    }
    const auto good = wire::decode_packet(datagram);
    RC_ASSERT(good.ok());
    RC_ASSERT(bob.open(good, out, got, 0) == DropReason::none);
    RC_ASSERT(got == plaintext.size());
    RC_ASSERT(std::equal(plaintext.begin(), plaintext.end(), out.begin()));
  });
}
