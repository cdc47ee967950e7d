// RealClock: CLOCK_MONOTONIC and CLOCK_REALTIME.
#pragma once

#include "core/env/clock.h"

namespace meshd::io {

class RealClock final : public Clock {
 public:
  int64_t monotonic_us() const override;
  int64_t wall_us() const override;
};

}  // namespace meshd::io
