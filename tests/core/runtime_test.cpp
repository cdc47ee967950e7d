#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "core/env/runtime.h"
#include "tests/core/manual_clock.h"

using namespace meshd;
using meshd::test::ManualClock;

TEST_CASE("runtime: spawned fibers run FIFO and sleeps wake in deadline order", "[runtime]") {
  ManualClock clock;
  Runtime rt(clock);
  std::vector<std::string> log;
  auto sleeper = [&](std::string name, int64_t delay_us) {
    return [&, name, delay_us] {
      log.push_back(name + ":start");
      // Inside a fiber: CHECK (a REQUIRE's exception cannot leave a fiber).
      CHECK(rt.sleep_for(delay_us).is_ok());
      log.push_back(name + ":woke@" + std::to_string(clock.now_us));
    };
  };
  REQUIRE(rt.spawn("a", sleeper("a", 300)).is_ok());
  REQUIRE(rt.spawn("b", sleeper("b", 100)).is_ok());
  REQUIRE(rt.spawn("c", sleeper("c", 100)).is_ok());  // same deadline as b: creation order
  clock.run_until(rt, clock.now_us + 1000);
  CHECK(log == std::vector<std::string>{"a:start", "b:start", "c:start", "b:woke@1000100",
                                        "c:woke@1000100", "a:woke@1000300"});
  CHECK(rt.fiber_count() == 0);
}

TEST_CASE("runtime: a sleep does not end before its deadline", "[runtime]") {
  ManualClock clock;
  Runtime rt(clock);
  bool woke = false;
  // Inside a fiber CHECK, never REQUIRE: a REQUIRE throws, and an exception
  // leaving a fiber body terminates the run instead of failing the test.
  REQUIRE(rt.spawn("s", [&] { CHECK(rt.sleep_for(500).is_ok()); woke = true; }).is_ok());
  rt.run_due();
  clock.now_us += 499;
  rt.run_due();
  CHECK_FALSE(woke);
  REQUIRE(rt.next_deadline_us() == std::optional<int64_t>(clock.now_us + 1));
  clock.now_us += 1;
  rt.run_due();
  CHECK(woke);
}

TEST_CASE("runtime: event wait times out, or wakes on set", "[runtime]") {
  ManualClock clock;
  Runtime rt(clock);
  Event ev(rt);
  Status first, second;
  REQUIRE(rt.spawn("w1", [&] { first = ev.wait(clock.now_us + 100); }).is_ok());
  clock.run_until(rt, clock.now_us + 200);
  CHECK(first.code() == Errc::timeout);
  REQUIRE(rt.spawn("w2", [&] { second = ev.wait(clock.now_us + 1000); }).is_ok());
  rt.run_due();
  rt.post([&] { ev.set(); });
  rt.run_due();
  CHECK(second.is_ok());
}

TEST_CASE("runtime: cancellation wakes a blocked fiber with cancelled", "[runtime]") {
  ManualClock clock;
  Runtime rt(clock);
  Status got;
  bool after = false;
  auto id = rt.spawn("blocked", [&] {
    got = rt.sleep_for(1'000'000);
    after = true;
    // Further blocking calls fail at once once cancelled.
    CHECK(rt.sleep_for(10).code() == Errc::cancelled);
  });
  REQUIRE(id.is_ok());
  rt.run_due();
  rt.cancel(*id);
  rt.run_due();
  CHECK(got.code() == Errc::cancelled);
  CHECK(after);
  CHECK_FALSE(rt.alive(*id));
}

TEST_CASE("runtime: channel is bounded, FIFO, and closes", "[runtime]") {
  ManualClock clock;
  Runtime rt(clock);
  Channel<int> ch(rt, 2);
  CHECK(ch.try_send(1));
  CHECK(ch.try_send(2));
  CHECK_FALSE(ch.try_send(3));  // full: the caller counts the drop
  std::vector<int> got;
  Status end;
  REQUIRE(rt.spawn("rx", [&] {
    while (true) {
      auto v = ch.recv(clock.now_us + 10'000);
      if (!v) { end = v.status(); return; }
      got.push_back(*v);
    }
  }).is_ok());
  rt.run_due();
  CHECK(got == std::vector<int>{1, 2});
  CHECK(ch.try_send(7));
  rt.run_due();
  ch.close();
  rt.run_due();
  CHECK(got == std::vector<int>{1, 2, 7});
  CHECK(end.code() == Errc::closed);
}

TEST_CASE("runtime: blocking send waits for room", "[runtime]") {
  ManualClock clock;
  Runtime rt(clock);
  Channel<int> ch(rt, 1);
  std::vector<std::string> log;
  REQUIRE(rt.spawn("tx", [&] {
    for (int i = 0; i < 3; ++i) {
      const bool sent = ch.send(i).is_ok();
      CHECK(sent);
      if (!sent) return;
      log.push_back("sent" + std::to_string(i));
    }
  }).is_ok());
  REQUIRE(rt.spawn("rx", [&] {
    for (int i = 0; i < 3; ++i) {
      auto v = ch.recv();
      CHECK(v.is_ok());
      if (!v.is_ok()) return;
      log.push_back("got" + std::to_string(*v));
    }
  }).is_ok());
  rt.run_due();
  CHECK(log.size() == 6);
  CHECK(log.front() == "sent0");
  CHECK(log.back() == "got2");
}

namespace {
struct Tracker {
  int* destroyed;
  ~Tracker() { ++*destroyed; }
};
}  // namespace

TEST_CASE("runtime: kill_all destroys fibers without running their code", "[runtime]") {
  ManualClock clock;
  Runtime rt(clock);
  int destroyed = 0;
  bool ran_past_sleep = false;
  for (int i = 0; i < 5; ++i) {
    REQUIRE(rt.spawn("victim", [&] {
      Tracker t{&destroyed};
      (void)rt.sleep_for(1000);
      ran_past_sleep = true;
    }).is_ok());
  }
  bool timer_fired = false;
  rt.call_at(clock.now_us + 10, [&] { timer_fired = true; });
  rt.run_due();
  REQUIRE(rt.fiber_count() == 5);
  rt.kill_all();
  CHECK(rt.fiber_count() == 0);
  CHECK(destroyed == 5);  // stacks unwound: RAII ran
  clock.run_until(rt, clock.now_us + 5000);
  CHECK_FALSE(ran_past_sleep);
  CHECK_FALSE(timer_fired);
  CHECK_FALSE(rt.next_deadline_us().has_value());
}

TEST_CASE("runtime: fibers_max is enforced", "[runtime]") {
  ManualClock clock;
  Runtime::Limits limits;
  limits.fibers_max = 3;
  limits.stack_bytes = 64 * 1024;
  Runtime rt(clock, limits);
  for (int i = 0; i < 3; ++i) REQUIRE(rt.spawn("f", [] {}).is_ok());
  auto extra = rt.spawn("f", [] {});
  CHECK(extra.code() == Errc::unavailable);
  rt.run_due();
  CHECK(rt.spawn("f", [] {}).is_ok());  // room again after they finished
}

TEST_CASE("runtime: cancelled timers never fire and posted work runs in order", "[runtime]") {
  ManualClock clock;
  Runtime rt(clock);
  std::vector<int> order;
  auto t1 = rt.call_at(clock.now_us + 5, [&] { order.push_back(1); });
  rt.call_at(clock.now_us + 5, [&] { order.push_back(2); });
  rt.post([&] { order.push_back(0); });
  rt.cancel_timer(t1);
  clock.run_until(rt, clock.now_us + 10);
  CHECK(order == std::vector<int>{0, 2});
}

TEST_CASE("runtime: run_due is bounded by run_steps_max under a livelock", "[runtime]") {
  ManualClock clock;
  Runtime::Limits limits;
  limits.run_steps_max = 100;
  Runtime rt(clock, limits);
  bool stop = false;
  REQUIRE(rt.spawn("spinner", [&] {
    while (!stop) {
      if (!rt.yield()) return;
    }
  }).is_ok());
  CHECK(rt.run_due() == 100);
  CHECK(rt.next_deadline_us() == std::optional<int64_t>(clock.now_us));  // still ready
  stop = true;
  rt.run_due();
  CHECK(rt.fiber_count() == 0);
}

TEST_CASE("runtime: post and call_at are bounded, their high-water marks kept", "[runtime]") {
  ManualClock clock;
  Runtime::Limits limits;
  limits.posted_max = 8;
  limits.timers_max = 4;
  Runtime rt(clock, limits);
  CHECK(rt.limits().posted_max == 8);
  int ran = 0;
  for (int i = 0; i < 5; ++i) rt.post([&] { ++ran; });
  CHECK(rt.stats().posted_high_water == 5);
  rt.run_due();
  CHECK(ran == 5);
  // Drained: the bound counts waiting callbacks, not callbacks ever posted.
  for (int i = 0; i < 8; ++i) rt.post([&] { ++ran; });
  CHECK(rt.stats().posted_high_water == 8);
  rt.run_due();
  CHECK(ran == 13);

  std::vector<Runtime::TimerId> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(rt.call_at(clock.now_us + 100 + i, [&] { ++ran; }));
  CHECK(rt.stats().timers_high_water == 4);
  rt.cancel_timer(ids[0]);
  // The cancelled one no longer counts: another fits under timers_max.
  rt.call_at(clock.now_us + 50, [&] { ++ran; });
  clock.run_until(rt, clock.now_us + 1000);
  CHECK(ran == 13 + 4);
  CHECK(rt.stats().timers_high_water == 4);
}
