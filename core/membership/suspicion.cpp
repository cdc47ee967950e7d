#include "core/membership/suspicion.h"

#include <algorithm>
#include <bit>

#include "core/env/assert.h"

namespace meshd::membership {

uint64_t log2_q16(uint64_t x) {
  MESHD_ASSERT(x >= 1);
  const int integer_part = 63 - std::countl_zero(x);
  // y = x / 2^integer_part in Q30, i.e. in [2^30, 2^31): y·y fits 62 bits.
  constexpr int kQ = 30;
  uint64_t y = integer_part <= kQ ? x << (kQ - integer_part) : x >> (integer_part - kQ);
  uint64_t fraction = 0;
  for (int bit = 15; bit >= 0; --bit) {
    y = (y * y) >> kQ;  // squaring doubles the logarithm
    if (y >= (uint64_t{2} << kQ)) {
      y >>= 1;
      fraction |= uint64_t{1} << bit;
    }
  }
  return (static_cast<uint64_t>(integer_part) << 16) | fraction;
}

SuspicionBounds suspicion_bounds(uint32_t suspicion_mult, uint32_t suspicion_max_timeout_mult,
                                 int64_t protocol_period_us, size_t n) {
  MESHD_ASSERT(suspicion_mult >= 1 && suspicion_max_timeout_mult >= 1 && protocol_period_us > 0);
  SuspicionBounds b;
  // max(1, log10(n)) in Q16: log2(n) / log2(10).
  const uint64_t log10_q16 = n <= 1 ? 0 : log2_q16(n) * 65536 / log2_q16(10);
  const uint64_t scale_q16 = std::max<uint64_t>(65536, log10_q16);
  b.min_us = static_cast<int64_t>(static_cast<uint64_t>(suspicion_mult) *
                                  static_cast<uint64_t>(protocol_period_us) * scale_q16 / 65536);
  b.max_us = b.min_us * suspicion_max_timeout_mult;
  const uint32_t k = suspicion_mult >= 2 ? suspicion_mult - 2 : 0;
  b.expected_confirmations = (n < 2 || n - 2 < k) ? 0 : k;
  return b;
}

int64_t suspicion_timeout_us(const SuspicionBounds& b, uint32_t confirmations) {
  if (b.expected_confirmations == 0) return b.min_us;
  const uint64_t num = log2_q16(uint64_t{confirmations} + 1);
  const uint64_t den = log2_q16(uint64_t{b.expected_confirmations} + 1);
  if (num >= den) return b.min_us;
  const int64_t span_us = b.max_us - b.min_us;
  const int64_t shrink_us = static_cast<int64_t>(static_cast<uint64_t>(span_us) * num / den);
  return std::max(b.min_us, b.max_us - shrink_us);
}

uint32_t retransmit_limit(uint32_t retransmit_mult, size_t n) {
  // ceil(log10(n + 1)): the number of decimal digits of n (n >= 1).
  uint32_t digits = 0;
  for (uint64_t power = 1; power < n + 1; power *= 10) ++digits;
  return retransmit_mult * digits;
}

uint32_t push_pull_scale(size_t n) {
  constexpr size_t kThreshold = 32;
  if (n <= kThreshold) return 1;
  // ceil(log2(n) - 5) in Q16, then + 1.
  const uint64_t excess_q16 = log2_q16(n) - 5 * 65536;
  return static_cast<uint32_t>((excess_q16 + 65535) / 65536) + 1;
}

}  // namespace meshd::membership
