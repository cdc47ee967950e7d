#include "io/clock.h"

#include <time.h>

namespace meshd::io {

namespace {
int64_t read_us(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return static_cast<int64_t>(ts.tv_sec) * kMicrosPerSecond + ts.tv_nsec / 1000;
}
}  // namespace

int64_t RealClock::monotonic_us() const { return read_us(CLOCK_MONOTONIC); }
int64_t RealClock::wall_us() const { return read_us(CLOCK_REALTIME); }

}  // namespace meshd::io
