// SimClock: drift, to_global() as the inverse, wall jumps, monotonicity.
#include <catch2/catch.hpp>

#include "sim/clock.h"
#include "sim/world.h"

using namespace meshd;
using namespace meshd::sim;

TEST_CASE("offset and drift shape the monotonic clock", "[sim][clock]") {
  GlobalTime g;
  SimClock fast(g, 1'000, 1'000);    // +1000 ppm
  SimClock slow(g, 0, -20'000);      // -2%
  g.advance_to(1'000'000);
  CHECK(fast.monotonic_us() == 1'000 + 1'000'000 + 1'000);
  CHECK(slow.monotonic_us() == 1'000'000 - 20'000);
  CHECK(fast.wall_us() - fast.monotonic_us() == SimClock::kWallEpochUs);
}

TEST_CASE("to_global is the least global time reaching a local time", "[sim][clock]") {
  for (int64_t drift : {-400'000, -12'345, -1, 0, 1, 777, 250'000}) {
    GlobalTime g;
    SimClock c(g, 5'000, drift);
    GlobalTime probe;
    SimClock at_probe(probe, 5'000, drift);
    for (int64_t local = 5'000; local < 5'000 + 3'000'000; local += 99'991) {
      const int64_t t = c.to_global(local);
      probe.advance_to(t);
      CHECK(at_probe.monotonic_us() >= local);
      // One microsecond earlier would not do.
      GlobalTime before;
      if (t > 0) {
        before.advance_to(t - 1);
        SimClock b(before, 5'000, drift);
        CHECK(b.monotonic_us() < local);
      }
    }
  }
}

TEST_CASE("wall clock jumps both ways; monotonic never goes backwards", "[sim][clock]") {
  World w(3);
  SimClock& c = w.clock(w.add_node([](Env&, size_t) -> std::unique_ptr<Service> { return nullptr; }));
  int64_t last_mono = c.monotonic_us();
  const int64_t wall0 = c.wall_us();
  w.run_until(1'000);
  w.jump_wall_us(0, -60 * kMicrosPerSecond);
  CHECK(c.wall_us() == wall0 + 1'000 - 60 * kMicrosPerSecond);
  w.jump_wall_us(0, +3'600 * kMicrosPerSecond);
  CHECK(c.wall_us() == wall0 + 1'000 - 60 * kMicrosPerSecond + 3'600 * kMicrosPerSecond);
  for (int step = 0; step < 100; ++step) {
    w.run_until(w.now_us() + 10'007);
    if (step % 10 == 0) w.set_drift_ppm(0, (step % 20 == 0) ? 300'000 : -300'000);
    const int64_t mono = c.monotonic_us();
    CHECK(mono >= last_mono);
    last_mono = mono;
  }
}
