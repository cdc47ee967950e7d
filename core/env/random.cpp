#include "core/env/random.h"

#include <sodium.h>

#include <cmath>
#include <cstring>

#include "core/env/assert.h"

namespace meshd {

namespace {
Key32 derive(const Key32& key, std::span<const uint8_t> info) {
  Key32 out{};
  int rc = crypto_generichash(out.data(), out.size(), info.data(), info.size(), key.data(),
                              key.size());
  MESHD_ASSERT(rc == 0);
  return out;
}
}  // namespace

RandomStream::RandomStream(const Key32& key) : key_(key) {}

void RandomStream::refill() {
  // ChaCha20 (original, 64-bit nonce) keystream; the nonce is fixed at zero
  // because every stream has its own derived key. The 64-bit block counter
  // makes the stream effectively unbounded.
  static constexpr std::array<uint8_t, crypto_stream_chacha20_NONCEBYTES> kNonce{};
  constexpr uint64_t kBlockBytes = 64;
  std::memset(buffer_.data(), 0, buffer_.size());
  int rc = crypto_stream_chacha20_xor_ic(buffer_.data(), buffer_.data(), buffer_.size(),
                                         kNonce.data(), block_counter_, key_.data());
  MESHD_ASSERT(rc == 0);
  block_counter_ += buffer_.size() / kBlockBytes;
  buffer_pos_ = 0;
}

uint64_t RandomStream::next_u64() {
  if (buffer_pos_ + 8 > buffer_.size()) refill();
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t{buffer_[buffer_pos_ + i]} << (8 * i);
  buffer_pos_ += 8;
  ++draws_;
  return v;
}

uint64_t RandomStream::below(uint64_t bound) {
  MESHD_ASSERT(bound > 0);
  return unbiased_below(bound, [this] { return next_u64(); });
}

int64_t RandomStream::range(int64_t lo, int64_t hi) {
  MESHD_ASSERT(lo <= hi);
  const uint64_t span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo);
  if (span == UINT64_MAX) return static_cast<int64_t>(next_u64());
  return static_cast<int64_t>(static_cast<uint64_t>(lo) + below(span + 1));
}

double RandomStream::unit() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

bool RandomStream::chance(double p) {
  if (p <= 0.0) return false;
  if (p >= 1.0) return true;
  return unit() < p;
}

int64_t RandomStream::exponential(int64_t mean) {
  if (mean <= 0) return 0;
  // -ln(1-u) with u in [0,1): finite. std::log is glibc's, identical for
  // gcc and clang builds on the same platform.
  const double x = -std::log1p(-unit()) * static_cast<double>(mean);
  const double cap = 64.0 * static_cast<double>(mean);
  return static_cast<int64_t>(x < cap ? x : cap);
}

void RandomStream::fill(std::span<uint8_t> out) {
  for (size_t i = 0; i < out.size(); ++i) {
    if (buffer_pos_ >= buffer_.size()) refill();
    out[i] = buffer_[buffer_pos_++];
  }
  ++draws_;
}

Random Random::from_seed(uint64_t seed) {
  uint8_t bytes[8 + 11];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<uint8_t>(seed >> (8 * i));
  std::memcpy(bytes + 8, "meshd.seed1", 11);
  Key32 zero{};
  Key32 k{};
  int rc = crypto_generichash(k.data(), k.size(), bytes, sizeof(bytes), zero.data(), zero.size());
  MESHD_ASSERT(rc == 0);
  return Random(k);
}

Random Random::for_node(uint64_t node_index) const {
  uint8_t info[5 + 8];
  std::memcpy(info, "node", 5);
  for (int i = 0; i < 8; ++i) info[5 + i] = static_cast<uint8_t>(node_index >> (8 * i));
  return Random(derive(key_, info));
}

RandomStream Random::stream(std::string_view component, std::string_view purpose) const {
  std::array<uint8_t, 256> info{};
  MESHD_ASSERT(component.size() + purpose.size() + 1 <= info.size());
  std::memcpy(info.data(), component.data(), component.size());
  info[component.size()] = 0;  // separator: ("ab","c") != ("a","bc")
  std::memcpy(info.data() + component.size() + 1, purpose.data(), purpose.size());
  return RandomStream(derive(key_, std::span(info.data(), component.size() + 1 + purpose.size())));
}

}  // namespace meshd
