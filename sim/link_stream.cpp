#include "sim/link_stream.h"

#include <sodium.h>

#include <cmath>
#include <cstring>

#include "core/env/assert.h"

namespace meshd::sim {

LinkStream::LinkStream(RandomStream&& seed_stream) { seed_stream.fill(key_); }

void LinkStream::refill() {
  static constexpr std::array<uint8_t, crypto_stream_chacha20_NONCEBYTES> kNonce{};
  std::memset(buffer_.data(), 0, buffer_.size());
  const int rc = crypto_stream_chacha20_xor_ic(buffer_.data(), buffer_.data(), buffer_.size(),
                                               kNonce.data(), block_counter_, key_.data());
  MESHD_ASSERT(rc == 0);
  ++block_counter_;  // one 64-byte ChaCha20 block per refill
  buffer_pos_ = 0;
}

uint64_t LinkStream::next_u64() {
  if (size_t{buffer_pos_} + 8 > buffer_.size()) refill();
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t{buffer_[buffer_pos_ + i]} << (8 * i);
  buffer_pos_ = static_cast<uint8_t>(buffer_pos_ + 8);
  return v;
}

uint64_t LinkStream::below(uint64_t bound) {
  MESHD_ASSERT(bound > 0);
  return unbiased_below(bound, [this] { return next_u64(); });
}

double LinkStream::unit() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

bool LinkStream::chance(double p) {
  if (p <= 0.0) return false;
  if (p >= 1.0) return true;
  return unit() < p;
}

int64_t LinkStream::exponential(int64_t mean) {
  if (mean <= 0) return 0;
  const double x = -std::log1p(-unit()) * static_cast<double>(mean);
  const double cap = 64.0 * static_cast<double>(mean);
  return static_cast<int64_t>(x < cap ? x : cap);
}

}  // namespace meshd::sim
