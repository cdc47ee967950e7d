#include "core/crypto/cookie.h"

#include <sodium.h>

#include <cstring>
#include <string_view>

#include "core/env/assert.h"

namespace meshd::crypto {

namespace {

constexpr std::string_view kMac1Label = "meshd-mac1-v1";
constexpr std::string_view kCookieLabel = "meshd-cookie-v1";

Key32 labelled_key(std::string_view label, const Psk& psk) {
  Key32 out{};
  crypto_generichash_blake2b_state st;
  MESHD_ASSERT(crypto_generichash_blake2b_init(&st, nullptr, 0, out.size()) == 0);
  MESHD_ASSERT(crypto_generichash_blake2b_update(&st, reinterpret_cast<const uint8_t*>(label.data()), label.size()) == 0);
  MESHD_ASSERT(crypto_generichash_blake2b_update(&st, psk.data(), psk.size()) == 0);
  MESHD_ASSERT(crypto_generichash_blake2b_final(&st, out.data(), out.size()) == 0);
  return out;
}

Mac keyed_mac(std::span<const uint8_t> key, std::span<const uint8_t> a, std::span<const uint8_t> b) {
  Mac out{};
  crypto_generichash_blake2b_state st;
  MESHD_ASSERT(crypto_generichash_blake2b_init(&st, key.data(), key.size(), out.size()) == 0);
  MESHD_ASSERT(crypto_generichash_blake2b_update(&st, a.data(), a.size()) == 0);
  MESHD_ASSERT(crypto_generichash_blake2b_update(&st, b.data(), b.size()) == 0);
  MESHD_ASSERT(crypto_generichash_blake2b_final(&st, out.data(), out.size()) == 0);
  return out;
}

bool mac_equal(const Mac& a, const Mac& b) { return sodium_memcmp(a.data(), b.data(), a.size()) == 0; }

}  // namespace

Mac compute_mac1(const Psk& psk, std::span<const uint8_t> msg) {
  const Key32 key = labelled_key(kMac1Label, psk);
  return keyed_mac(key, msg, {});
}

Mac compute_mac2(const Cookie& cookie, std::span<const uint8_t> msg, const Mac& mac1) {
  return keyed_mac(cookie, msg, mac1);
}

bool CookieChecker::mac1_valid(std::span<const uint8_t> msg, const Mac& mac1) const {
  return mac_equal(compute_mac1(psk_, msg), mac1);
}

void CookieChecker::rotate_if_due(int64_t now_us) {
  if (has_secret_ && now_us - secret_born_us_ < kCookieSecretRotationUs) return;
  if (has_secret_) {
    previous_secret_ = secret_;
    has_previous_ = now_us - secret_born_us_ < 2 * kCookieSecretRotationUs;
  }
  rng_.fill(secret_);
  has_secret_ = true;
  secret_born_us_ = now_us;
}

Cookie CookieChecker::cookie_for(const Key32& secret, const Address& from) const {
  std::array<uint8_t, 6> addr{};
  for (int i = 0; i < 4; ++i) addr[i] = static_cast<uint8_t>(from.ipv4 >> (8 * i));
  addr[4] = static_cast<uint8_t>(from.port);
  addr[5] = static_cast<uint8_t>(from.port >> 8);
  return keyed_mac(secret, addr, {});
}

bool CookieChecker::mac2_valid(std::span<const uint8_t> msg, const Mac& mac1, const Mac& mac2,
                               const Address& from, int64_t now_us) {
  rotate_if_due(now_us);
  if (mac_equal(compute_mac2(cookie_for(secret_, from), msg, mac1), mac2)) return true;
  return has_previous_ && mac_equal(compute_mac2(cookie_for(previous_secret_, from), msg, mac1), mac2);
}

CookieReply CookieChecker::make_reply(const Address& from, const Mac& mac1, int64_t now_us) {
  rotate_if_due(now_us);
  const Cookie cookie = cookie_for(secret_, from);
  const Key32 key = labelled_key(kCookieLabel, psk_);
  CookieReply reply{};
  rng_.fill(std::span(reply).first(kCookieNonceBytes));
  unsigned long long written = 0;
  MESHD_ASSERT(crypto_aead_xchacha20poly1305_ietf_encrypt(
                   reply.data() + kCookieNonceBytes, &written, cookie.data(), cookie.size(), mac1.data(),
                   mac1.size(), nullptr, reply.data(), key.data()) == 0);
  MESHD_ASSERT(written == kCookieBytes + kAeadTagBytes);
  return reply;
}

CookieJar::Macs CookieJar::macs_for(std::span<const uint8_t> msg, int64_t now_us) {
  Macs m;
  m.mac1 = compute_mac1(psk_, msg);
  last_mac1_ = m.mac1;
  if (has_cookie(now_us)) {
    m.mac2 = compute_mac2(*cookie_, msg, m.mac1);
    m.has_cookie = true;
  }
  return m;
}

Status CookieJar::consume_reply(std::span<const uint8_t> reply, int64_t now_us) {
  if (!last_mac1_) return Status(Errc::invalid, "cookie reply without a handshake in flight");
  if (reply.size() != kCookieReplyBytes) return Status(Errc::invalid, "cookie reply has the wrong size");
  const Key32 key = labelled_key(kCookieLabel, psk_);
  Cookie cookie{};
  unsigned long long written = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(cookie.data(), &written, nullptr,
                                                 reply.data() + kCookieNonceBytes,
                                                 kCookieBytes + kAeadTagBytes, last_mac1_->data(),
                                                 last_mac1_->size(), reply.data(), key.data()) != 0) {
    return Status(Errc::corrupt, "cookie reply does not authenticate");
  }
  cookie_ = cookie;
  cookie_received_us_ = now_us;
  return Status::ok();
}

void HandshakeRateLimiter::refill(int64_t now_us) {
  if (!started_) {
    started_ = true;
    last_us_ = now_us;
    return;
  }
  if (now_us <= last_us_) return;  // monotonic input; ignore non-advancing calls
  credit_us_ += now_us - last_us_;
  last_us_ = now_us;
  if (rate_per_s_ == 0) return;
  const int64_t us_per_token = kMicrosPerSecond / rate_per_s_ > 0 ? kMicrosPerSecond / rate_per_s_ : 1;
  const uint64_t earned = static_cast<uint64_t>(credit_us_ / us_per_token);
  credit_us_ -= static_cast<int64_t>(earned) * us_per_token;
  tokens_ = std::min<uint64_t>(burst_, tokens_ + earned);
  if (tokens_ == burst_) credit_us_ = 0;
}

bool HandshakeRateLimiter::take(int64_t now_us) {
  refill(now_us);
  if (tokens_ == 0) return false;
  --tokens_;
  return true;
}

bool HandshakeRateLimiter::under_load(int64_t now_us) {
  refill(now_us);
  return tokens_ == 0;
}

}  // namespace meshd::crypto
