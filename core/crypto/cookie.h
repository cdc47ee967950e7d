// Handshake DoS defence: MAC1/MAC2 and stateless cookies (WireGuard §5.4.4,
// adapted to a mesh whose members share an admission PSK).
//
//  * mac1 = BLAKE2b-128(key = BLAKE2b-256("meshd-mac1-v1" || psk), msg).
//    Every handshake initiation/response carries it; a responder checks it
//    before any DH, so a flood by non-members costs one hash per packet.
//  * Under load (HandshakeRateLimiter says the configured handshake rate is
//    exceeded) a responder demands mac2 = BLAKE2b-128(key = cookie,
//    msg || mac1), where cookie = BLAKE2b-128(key = secret, initiator
//    address) and `secret` rotates every kCookieSecretRotationUs from a
//    RandomStream. No per-initiator state: a spoofed source address never
//    sees its cookie, so spoofed floods cost no DH at all.
//  * The cookie travels in a cookie_reply payload: 24-byte nonce ||
//    XChaCha20-Poly1305(key = BLAKE2b-256("meshd-cookie-v1" || psk),
//    ad = the mac1 it answers, cookie) — only the initiator that sent that
//    mac1 can use it, and a relay cannot read it.
// `msg` is always the header AAD bytes followed by the Noise message, so
// mac1 also binds source/destination NodeIds and the wire version.
// Pure state: time is passed in; all randomness from the given stream.
#pragma once

#include <array>
#include <optional>
#include <span>

#include "core/crypto/handshake_state.h"
#include "core/env/address.h"
#include "core/env/clock.h"
#include "core/env/random.h"

namespace meshd::crypto {

constexpr size_t kMacBytes = 16;
constexpr size_t kCookieBytes = 16;
constexpr size_t kCookieNonceBytes = 24;
constexpr size_t kCookieReplyBytes = kCookieNonceBytes + kCookieBytes + kAeadTagBytes;  // 56
constexpr int64_t kCookieSecretRotationUs = 120 * kMicrosPerSecond;
// An initiator stops using a cookie a little before the responder's secret
// can have rotated twice (WireGuard: 120 s minus latency margin).
constexpr int64_t kCookieLifetimeUs = 110 * kMicrosPerSecond;

using Mac = std::array<uint8_t, kMacBytes>;
using Cookie = std::array<uint8_t, kCookieBytes>;
using CookieReply = std::array<uint8_t, kCookieReplyBytes>;

Mac compute_mac1(const Psk& psk, std::span<const uint8_t> msg);
Mac compute_mac2(const Cookie& cookie, std::span<const uint8_t> msg, const Mac& mac1);

// Responder side: validates macs and issues cookies. Not copyable state
// worth sharing: one per node.
class CookieChecker {
 public:
  CookieChecker(const Psk& psk, RandomStream& rng) : psk_(psk), rng_(rng) {}

  bool mac1_valid(std::span<const uint8_t> msg, const Mac& mac1) const;
  // True if mac2 was made with the cookie for `from` under the current or
  // the previous secret.
  bool mac2_valid(std::span<const uint8_t> msg, const Mac& mac1, const Mac& mac2, const Address& from,
                  int64_t now_us);
  CookieReply make_reply(const Address& from, const Mac& mac1, int64_t now_us);

 private:
  void rotate_if_due(int64_t now_us);
  Cookie cookie_for(const Key32& secret, const Address& from) const;

  Psk psk_;
  RandomStream& rng_;
  Key32 secret_{};
  Key32 previous_secret_{};
  bool has_secret_ = false;
  bool has_previous_ = false;
  int64_t secret_born_us_ = 0;
};

// Initiator side: remembers the last cookie per responder (one instance per
// peer) and computes both macs for outgoing handshakes.
class CookieJar {
 public:
  explicit CookieJar(const Psk& psk) : psk_(psk) {}
  // mac2 is zero (and has_cookie false) without a fresh cookie.
  struct Macs {
    Mac mac1{};
    Mac mac2{};
    bool has_cookie = false;
  };
  Macs macs_for(std::span<const uint8_t> msg, int64_t now_us);
  bool has_cookie(int64_t now_us) const { return cookie_ && now_us - cookie_received_us_ < kCookieLifetimeUs; }
  // Accepts a cookie reply to the handshake whose mac1 we sent last;
  // Errc::corrupt if it does not authenticate, Errc::invalid if we sent nothing.
  Status consume_reply(std::span<const uint8_t> reply, int64_t now_us);

 private:
  Psk psk_;
  std::optional<Mac> last_mac1_;
  std::optional<Cookie> cookie_;
  int64_t cookie_received_us_ = 0;
};

// Token bucket for "under load": `rate_per_s` handshakes per second with a
// burst of `burst`. take() returns false when the bucket is empty — the
// responder is then under load and demands cookies.
class HandshakeRateLimiter {
 public:
  HandshakeRateLimiter(uint32_t rate_per_s, uint32_t burst) : rate_per_s_(rate_per_s), burst_(burst), tokens_(burst) {}
  bool take(int64_t now_us);
  bool under_load(int64_t now_us);

 private:
  void refill(int64_t now_us);
  uint32_t rate_per_s_;
  uint32_t burst_;
  uint64_t tokens_;            // whole tokens
  int64_t credit_us_ = 0;      // elapsed time not yet converted to tokens
  int64_t last_us_ = 0;
  bool started_ = false;
};

}  // namespace meshd::crypto
