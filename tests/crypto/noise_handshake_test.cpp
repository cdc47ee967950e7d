// HandshakeState / CipherState behaviour beyond the public vectors:
// generated ephemerals, wrong keys, tampering, turn order, nonce limits.
#include <catch2/catch.hpp>

#include <string>

#include "core/crypto/handshake_state.h"
#include "core/crypto/noise_pattern.h"

using namespace meshd;
using namespace meshd::crypto;

namespace {

Key32 key_of(uint8_t fill) {
  Key32 k{};
  k.fill(fill);
  return k;
}

DhPrivate priv_of(uint8_t fill) {
  DhPrivate k{};
  k.fill(fill);
  return k;
}

struct Pair {
  HandshakeState init;
  HandshakeState resp;
};

struct Setup {
  std::string name;
  Psk init_psk = Psk{};
  Psk resp_psk = Psk{};
  DhPrivate init_s = priv_of(1);
  DhPrivate resp_s = priv_of(2);
  DhPublic init_knows_resp = dh_public_from_private(priv_of(2));
  std::vector<uint8_t> init_prologue{'p'};
  std::vector<uint8_t> resp_prologue{'p'};
};

Pair make(const Setup& s, RandomStream& ri, RandomStream& rr) {
  const auto pattern = parse_protocol_name(s.name);
  REQUIRE(pattern);
  HandshakeConfig ci;
  ci.protocol_name = s.name;
  ci.initiator = true;
  ci.prologue = s.init_prologue;
  ci.local_static = s.init_s;
  if (pattern->pre_responder_count > 0) ci.remote_static = s.init_knows_resp;
  if (pattern->psk_count) ci.psks = {s.init_psk};
  ci.rng = &ri;
  HandshakeConfig cr;
  cr.protocol_name = s.name;
  cr.initiator = false;
  cr.prologue = s.resp_prologue;
  cr.local_static = s.resp_s;
  if (pattern->psk_count) cr.psks = {s.resp_psk};
  cr.rng = &rr;
  auto i = HandshakeState::create(ci);
  auto r = HandshakeState::create(cr);
  REQUIRE(i);
  REQUIRE(r);
  return Pair{std::move(*i), std::move(*r)};
}

// Runs the handshake to completion; returns the first failure, if any.
Status run(Pair& p, int flip_message = -1, size_t flip_byte = 0) {
  // Noise patterns have at most 4 messages: a state machine that never
  // completes fails here instead of hanging the test run.
  constexpr int kMessagesMax = 8;
  int index = 0;
  while (!p.init.is_complete() || !p.resp.is_complete()) {
    if (index >= kMessagesMax) return Status(Errc::invalid, "handshake did not complete within kMessagesMax");
    HandshakeState& sender = p.init.is_my_turn() ? p.init : p.resp;
    HandshakeState& receiver = p.init.is_my_turn() ? p.resp : p.init;
    if (!sender.is_my_turn()) return Status(Errc::invalid, "nobody's turn");
    std::vector<uint8_t> msg, payload;
    const std::vector<uint8_t> body{'h', 'i'};
    if (Status s = sender.write_message(body, msg); !s) return s;
    if (index == flip_message) msg[flip_byte % msg.size()] ^= 0x20;
    if (Status s = receiver.read_message(msg, payload); !s) return s;
    if (payload != body) return Status(Errc::corrupt, "payload differs");
    ++index;
  }
  return Status::ok();
}

}  // namespace

TEST_CASE("noise: IKpsk2 and XXpsk3 complete with generated ephemerals", "[crypto][noise]") {
  for (const char* name : {"Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b", "Noise_XXpsk3_25519_ChaChaPoly_BLAKE2b",
                           "Noise_NN_25519_ChaChaPoly_BLAKE2b", "Noise_NK_25519_ChaChaPoly_BLAKE2b"}) {
    CAPTURE(name);
    RandomStream ri(key_of(7)), rr(key_of(8));
    Setup s;
    s.name = name;
    Pair p = make(s, ri, rr);
    REQUIRE(run(p));
    CHECK(p.init.handshake_hash() == p.resp.handshake_hash());
    auto [is, ir] = p.init.split();
    auto [rs, rr2] = p.resp.split();
    CHECK(is.key() == rr2.key());
    CHECK(ir.key() == rs.key());
    CHECK(is.key() != ir.key());
    if (p.init.pattern().pre_responder_count == 0 && std::string(name).find("XX") != std::string::npos) {
      REQUIRE(p.resp.remote_static());
      CHECK(*p.resp.remote_static() == dh_public_from_private(priv_of(1)));
      REQUIRE(p.init.remote_static());
      CHECK(*p.init.remote_static() == dh_public_from_private(priv_of(2)));
    }
  }
}

TEST_CASE("noise: same seeds give the same handshake (determinism)", "[crypto][noise]") {
  Setup s;
  s.name = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b";
  RandomStream a1(key_of(3)), a2(key_of(4)), b1(key_of(3)), b2(key_of(4));
  Pair a = make(s, a1, a2);
  Pair b = make(s, b1, b2);
  REQUIRE(run(a));
  REQUIRE(run(b));
  CHECK(a.init.handshake_hash() == b.init.handshake_hash());
}

TEST_CASE("noise: wrong PSK, wrong static key or wrong prologue fails authentication", "[crypto][noise]") {
  RandomStream ri(key_of(7)), rr(key_of(8));
  SECTION("psk") {
    for (const char* name : {"Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b", "Noise_XXpsk3_25519_ChaChaPoly_BLAKE2b"}) {
      Setup s;
      s.name = name;
      s.resp_psk[0] = 1;
      Pair p = make(s, ri, rr);
      const Status st = run(p);
      CHECK(st.code() == Errc::corrupt);
    }
  }
  SECTION("static key the initiator expects is not the responder's") {
    Setup s;
    s.name = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b";
    s.init_knows_resp = dh_public_from_private(priv_of(9));
    Pair p = make(s, ri, rr);
    CHECK(run(p).code() == Errc::corrupt);
    CHECK(p.resp.failed());
  }
  SECTION("prologue") {
    Setup s;
    s.name = "Noise_XXpsk3_25519_ChaChaPoly_BLAKE2b";
    s.resp_prologue = {'q'};
    Pair p = make(s, ri, rr);
    CHECK(run(p).code() == Errc::corrupt);
  }
}

TEST_CASE("noise: any flipped bit in any handshake message is rejected", "[crypto][noise]") {
  for (const char* name : {"Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b", "Noise_XXpsk3_25519_ChaChaPoly_BLAKE2b"}) {
    for (int message = 0; message < 3; ++message) {
      for (size_t byte = 0; byte < 120; byte += 7) {
        CAPTURE(name, message, byte);
        RandomStream ri(key_of(7)), rr(key_of(8));
        Setup s;
        s.name = name;
        Pair p = make(s, ri, rr);
        const int messages = p.init.pattern().message_count;
        const Status st = run(p, message, byte);
        if (message < messages) {
          CHECK_FALSE(st);
        } else {
          CHECK(st);
        }
      }
    }
  }
}

TEST_CASE("noise: out-of-turn calls, truncation and failed states are errors, not crashes",
          "[crypto][noise]") {
  RandomStream ri(key_of(7)), rr(key_of(8));
  Setup s;
  s.name = "Noise_XXpsk3_25519_ChaChaPoly_BLAKE2b";
  Pair p = make(s, ri, rr);
  std::vector<uint8_t> out, payload;
  CHECK(p.resp.write_message({}, out).code() == Errc::invalid);  // responder can't start
  CHECK(p.init.read_message(out, payload).code() == Errc::invalid);
  REQUIRE(p.init.write_message({}, out));
  CHECK(p.resp.read_message(std::span(out).first(31), payload).code() == Errc::invalid);
  CHECK(p.resp.failed());
  CHECK(p.resp.read_message(out, payload).code() == Errc::invalid);  // stays failed
  std::vector<uint8_t> big(kNoiseMessageBytesMax + 1);
  Pair q = make(s, ri, rr);
  CHECK(q.init.write_message(big, out).code() == Errc::too_large);
}

TEST_CASE("noise: missing keys and PSK count are rejected at create()", "[crypto][noise]") {
  RandomStream r(key_of(1));
  HandshakeConfig c;
  c.protocol_name = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b";
  c.rng = &r;
  c.local_static = priv_of(1);
  c.psks = {Psk{}};
  CHECK(HandshakeState::create(c).code() == Errc::invalid);  // no remote static for IK
  c.remote_static = dh_public_from_private(priv_of(2));
  CHECK(HandshakeState::create(c));
  c.psks.clear();
  CHECK(HandshakeState::create(c).code() == Errc::invalid);
  c.protocol_name = "Noise_IKpsk2_25519_AESGCM_SHA256";
  CHECK(HandshakeState::create(c).code() == Errc::invalid);
}

TEST_CASE("noise: protocol name parsing", "[crypto][noise]") {
  CHECK(parse_protocol_name("Noise_XXpsk3_25519_ChaChaPoly_BLAKE2b")->psk_count == 1);
  const auto two = parse_protocol_name("Noise_NNpsk0+psk2_25519_ChaChaPoly_BLAKE2b");
  REQUIRE(two);
  CHECK(two->psk_count == 2);
  CHECK(two->messages[0].tokens[0] == Token::psk);
  CHECK(two->messages[1].tokens[two->messages[1].token_count - 1] == Token::psk);
  CHECK_FALSE(parse_protocol_name("Noise_XXpsk9_25519_ChaChaPoly_BLAKE2b"));
  CHECK_FALSE(parse_protocol_name("Noise_XXfallback_25519_ChaChaPoly_BLAKE2b"));
  CHECK_FALSE(parse_protocol_name("Noise_QQ_25519_ChaChaPoly_BLAKE2b"));
  CHECK_FALSE(parse_protocol_name("Noise_XX_25519_ChaChaPoly_BLAKE2s"));
  CHECK_FALSE(parse_protocol_name(""));
  CHECK(find_pattern("N")->one_way);
  CHECK_FALSE(find_pattern("NN")->one_way);
}

TEST_CASE("noise: a low-order remote ephemeral is rejected", "[crypto][noise]") {
  RandomStream ri(key_of(7)), rr(key_of(8));
  Setup s;
  s.name = "Noise_NN_25519_ChaChaPoly_BLAKE2b";
  Pair p = make(s, ri, rr);
  std::vector<uint8_t> msg, payload;
  REQUIRE(p.init.write_message({}, msg));
  REQUIRE(p.resp.read_message(msg, payload));
  msg.clear();
  REQUIRE(p.resp.write_message({}, msg));
  std::fill(msg.begin(), msg.begin() + 32, uint8_t{0});  // the all-zero point
  CHECK(p.init.read_message(msg, payload).code() == Errc::invalid);
}

TEST_CASE("cipher: reserved nonce is never used, rekey agrees on both sides", "[crypto][noise]") {
  CipherState a, b;
  CipherKey k{};
  k[0] = 9;
  a.initialize_key(k);
  b.initialize_key(k);
  std::array<uint8_t, 4> pt{1, 2, 3, 4};
  std::array<uint8_t, 4 + kAeadTagBytes> ct{};
  std::array<uint8_t, 4> out{};
  a.set_nonce(kNonceReserved - 1);
  b.set_nonce(kNonceReserved - 1);
  REQUIRE(a.encrypt_with_ad({}, pt, ct));
  REQUIRE(b.decrypt_with_ad({}, ct, out));
  CHECK(out == pt);
  CHECK(a.nonce() == kNonceReserved);
  CHECK(a.encrypt_with_ad({}, pt, ct).code() == Errc::too_large);
  CHECK(a.nonce() == kNonceReserved);
  a.rekey();
  b.rekey();
  CHECK(a.key() == b.key());
  CHECK(a.key() != k);
  a.set_nonce(0);
  b.set_nonce(0);
  REQUIRE(a.encrypt_with_ad({}, pt, ct));
  ct[0] ^= 1;
  CHECK(b.decrypt_with_ad({}, ct, out).code() == Errc::corrupt);
  CHECK(b.nonce() == 0);  // failed decryption does not advance the nonce
}
