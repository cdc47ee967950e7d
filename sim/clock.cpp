#include "sim/clock.h"

#include "core/env/assert.h"

namespace meshd::sim {

void GlobalTime::advance_to(int64_t t_us) {
  MESHD_ASSERT_MSG(t_us >= now_us_, "virtual time must not go backwards");
  now_us_ = t_us;
}

SimClock::SimClock(const GlobalTime& global, int64_t offset_us, int64_t drift_ppm)
    : global_(global), base_global_us_(global.now_us()), base_local_us_(offset_us),
      drift_ppm_(drift_ppm) {
  MESHD_ASSERT(drift_ppm > -kDriftPpmMax && drift_ppm < kDriftPpmMax);
}

int64_t SimClock::monotonic_us() const {
  const int64_t elapsed = global_.now_us() - base_global_us_;
  // elapsed * drift fits in int64 for runs shorter than ~200 days.
  return base_local_us_ + elapsed + (elapsed * drift_ppm_) / 1'000'000;
}

int64_t SimClock::to_global(int64_t local_us) const {
  const int64_t want = local_us - base_local_us_;
  if (want <= 0) return base_global_us_;
  // Solve elapsed + elapsed*drift/1e6 >= want; start from the real-valued
  // answer and correct for integer rounding.
  int64_t elapsed = (want * 1'000'000) / (1'000'000 + drift_ppm_);
  auto local_at = [&](int64_t e) { return e + (e * drift_ppm_) / 1'000'000; };
  while (local_at(elapsed) < want) ++elapsed;
  while (elapsed > 0 && local_at(elapsed - 1) >= want) --elapsed;
  return base_global_us_ + elapsed;
}

void SimClock::set_drift_ppm(int64_t drift_ppm) {
  MESHD_ASSERT(drift_ppm > -kDriftPpmMax && drift_ppm < kDriftPpmMax);
  base_local_us_ = monotonic_us();
  base_global_us_ = global_.now_us();
  drift_ppm_ = drift_ppm;
}

}  // namespace meshd::sim
