// SimClock: one simulated node's clocks, derived from global virtual time.
//
//   monotonic = offset_us + (global_us - epoch_us) * (1 + drift_ppm / 1e6)
//   wall      = monotonic + wall_offset_us   (wall_offset_us jumps on faults)
//
// Drift is integer-exact (ppm), so gcc and clang builds agree. The
// monotonic clock never goes backwards: drift is bounded to (-1e6, +1e6)
// ppm and only the wall clock jumps. to_global() inverts the mapping
// (rounding up) so the scheduler can wake a node at its local deadline.
#pragma once

#include <cstdint>

#include "core/env/clock.h"

namespace meshd::sim {

class GlobalTime {
 public:
  int64_t now_us() const { return now_us_; }
  void advance_to(int64_t t_us);  // never backwards (asserted)
 private:
  int64_t now_us_ = 0;
};

class SimClock final : public Clock {
 public:
  static constexpr int64_t kDriftPpmMax = 500'000;
  // Wall time at virtual time 0: 2026-01-01T00:00:00Z.
  static constexpr int64_t kWallEpochUs = 1'767'225'600LL * kMicrosPerSecond;

  SimClock(const GlobalTime& global, int64_t offset_us, int64_t drift_ppm);

  int64_t monotonic_us() const override;
  int64_t wall_us() const override { return monotonic_us() + wall_offset_us_; }

  // Smallest global time at which monotonic_us() >= local_us.
  int64_t to_global(int64_t local_us) const;
  // Changes drift from now on without a jump in monotonic time.
  void set_drift_ppm(int64_t drift_ppm);
  void jump_wall_us(int64_t delta_us) { wall_offset_us_ += delta_us; }
  int64_t drift_ppm() const { return drift_ppm_; }

 private:
  const GlobalTime& global_;
  int64_t base_global_us_ = 0;  // global time at which local == base_local_us_
  int64_t base_local_us_ = 0;
  int64_t drift_ppm_ = 0;
  int64_t wall_offset_us_ = kWallEpochUs;
};

}  // namespace meshd::sim
