// bench_fiber: cost of the fiber Runtime's primitives.
//
// Prints ns per fiber switch (two fibers yielding to each other: each
// yield is one switch out and one in), ns per spawn+run+destroy of a
// trivial fiber, and ns per park/wake round trip through an Event.
#include <fmt/format.h>

#include <chrono>

#include "core/env/runtime.h"

using namespace meshd;

namespace {
class FixedClock final : public Clock {
 public:
  int64_t monotonic_us() const override { return 0; }
  int64_t wall_us() const override { return 0; }
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void bench_yield() {
  FixedClock clock;
  Runtime::Limits limits;
  limits.run_steps_max = SIZE_MAX;
  Runtime rt(clock, limits);
  constexpr int kYields = 2'000'000;
  for (int f = 0; f < 2; ++f) {
    (void)rt.spawn("yielder", [&rt] {
      for (int i = 0; i < kYields; ++i) (void)rt.yield();
    });
  }
  auto t0 = std::chrono::steady_clock::now();
  rt.run_due();
  const double s = seconds_since(t0);
  // Every resume is a switch into a fiber and back out.
  fmt::print("fiber_switch     {:>8.1f} ns per resume+suspend ({} resumes)\n",
             s * 1e9 / static_cast<double>(rt.switches()), rt.switches());
}

void bench_spawn() {
  FixedClock clock;
  Runtime rt(clock);
  constexpr int kFibers = 200'000;
  int ran = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kFibers; ++i) {
    (void)rt.spawn("trivial", [&ran] { ++ran; });
    rt.run_due();
  }
  const double s = seconds_since(t0);
  fmt::print("fiber_spawn      {:>8.1f} ns per spawn+run+destroy (128 KiB protected stack)\n",
             s * 1e9 / kFibers);
}

void bench_event() {
  FixedClock clock;
  Runtime::Limits limits;
  limits.run_steps_max = SIZE_MAX;
  Runtime rt(clock, limits);
  constexpr int kRounds = 1'000'000;
  Event ping(rt);
  Event pong(rt);
  (void)rt.spawn("a", [&] {
    for (int i = 0; i < kRounds; ++i) {
      pong.reset();
      ping.set();
      (void)pong.wait();
    }
  });
  (void)rt.spawn("b", [&] {
    for (int i = 0; i < kRounds; ++i) {
      (void)ping.wait();
      ping.reset();
      pong.set();
    }
  });
  auto t0 = std::chrono::steady_clock::now();
  rt.run_due();
  const double s = seconds_since(t0);
  fmt::print("event_roundtrip  {:>8.1f} ns per set->wait->set->wait ({} rounds)\n",
             s * 1e9 / kRounds, kRounds);
}
}  // namespace

int main() {
  bench_yield();
  bench_spawn();
  bench_event();
  return 0;
}
