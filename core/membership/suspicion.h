// Lifeguard's timing formulas as pure integer functions (no libm: the
// gcc/clang determinism matrix must agree to the microsecond).
//
// Suspicion timeout (HashiCorp memberlist, suspicion.go + util.go):
//   min  = suspicion_mult · max(1, log10(n)) · protocol_period
//   max  = suspicion_max_timeout_mult · min
//   K    = suspicion_mult − 2 expected independent confirmations
//          (0 when fewer than K + 2 members exist: nobody could confirm)
//   timeout(C) = max(min, max − (max − min) · log(C + 1) / log(K + 1))
// so an unconfirmed suspicion waits `max` and each independent
// confirmation shrinks the wait towards `min`. Logarithms are computed in
// 16.16 fixed point (log2_q16), exact to about 2^-14; the result is
// monotone non-increasing in C (prop/membership_props.cpp).
// Retransmit limit (memberlist util.go): retransmit_mult · ceil(log10(n + 1)).
// Push-pull scale (memberlist util.go): see push_pull_scale().
#pragma once

#include <cstddef>
#include <cstdint>

namespace meshd::membership {

// floor-ish(log2(x) · 65536) for x >= 1; monotone non-decreasing in x.
uint64_t log2_q16(uint64_t x);

struct SuspicionBounds {
  int64_t min_us = 0;
  int64_t max_us = 0;
  uint32_t expected_confirmations = 0;  // K
};

// n: members believed active (alive or suspect), including ourselves.
SuspicionBounds suspicion_bounds(uint32_t suspicion_mult, uint32_t suspicion_max_timeout_mult,
                                 int64_t protocol_period_us, size_t n);
int64_t suspicion_timeout_us(const SuspicionBounds& bounds, uint32_t confirmations);
uint32_t retransmit_limit(uint32_t retransmit_mult, size_t n);
// Push-pull period multiplier (memberlist util.go pushPullScale): 1 up to
// 32 members, then ceil(log2(n) − log2(32)) + 1, so full-state exchanges
// (whose size grows with n) cost about the same per node at any size.
uint32_t push_pull_scale(size_t n);

}  // namespace meshd::membership
