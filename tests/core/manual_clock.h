// ManualClock: a test clock moved by hand (no real time anywhere).
#pragma once

#include "core/env/clock.h"

namespace meshd::test {

class ManualClock final : public Clock {
 public:
  int64_t monotonic_us() const override { return now_us; }
  int64_t wall_us() const override { return wall_base_us + now_us; }
  // Advances to `t_us` and runs the runtime's due work at each timer on the
  // way, as a driver would.
  template <class Rt>
  void run_until(Rt& rt, int64_t t_us) {
    rt.run_due();
    while (true) {
      auto next = rt.next_deadline_us();
      if (!next || *next > t_us) break;
      if (*next > now_us) now_us = *next;
      rt.run_due();
    }
    now_us = t_us;
    rt.run_due();
  }
  int64_t now_us = 1'000'000;
  int64_t wall_base_us = 1'700'000'000'000'000;
};

}  // namespace meshd::test
