// The World driving each node's fiber Runtime: sleeps, timeouts,
// cancellation, crash and restart, pause and resume.
#include <catch2/catch.hpp>

#include "sim/world.h"
#include "tests/sim/test_services.h"

using namespace meshd;
using namespace meshd::sim;
using meshd::sim::test::lambda_factory;

TEST_CASE("a fiber's sleep wakes at the right virtual time", "[sim][world]") {
  World w(7);
  int64_t woke_global_us = -1;
  int64_t woke_local_us = -1;
  w.add_node(lambda_factory([&](Env& env, size_t) {
    (void)env.runtime.spawn("sleeper", [&] {
      CHECK(env.runtime.sleep_for(5'000));  // CHECK: a REQUIRE cannot leave a fiber
      woke_global_us = w.now_us();
      woke_local_us = env.clock.monotonic_us();
    });
  }));
  w.start_all();
  w.run_until(4'999);
  CHECK(woke_global_us == -1);
  w.run_until(100'000);
  CHECK(woke_global_us == 5'000);
  CHECK(woke_local_us == 5'000);
}

TEST_CASE("drifting clocks wake at the global time matching their local deadline",
          "[sim][world]") {
  World w(7);
  int64_t woke_global_us = -1;
  int64_t woke_local_us = -1;
  // +10% drift: local time runs fast, so 100 ms local pass in ~90.9 ms global.
  w.add_node(lambda_factory([&](Env& env, size_t) {
               (void)env.runtime.spawn("sleeper", [&] {
                 const int64_t deadline = env.clock.monotonic_us() + 100'000;
                 CHECK(env.runtime.sleep_until(deadline));
                 woke_global_us = w.now_us();
                 woke_local_us = env.clock.monotonic_us();
                 CHECK(woke_local_us >= deadline);
               });
             }),
             NodeOptions{1'000'000, 100'000});
  w.start_all();
  w.run_until(1'000'000);
  CHECK(woke_global_us == 90'910);  // smallest g with g + g/10 >= 100000
  CHECK(woke_local_us == 1'100'001);
}

TEST_CASE("timeouts and cancellation reach fibers through the world", "[sim][world]") {
  World w(7);
  Status wait_status;
  Status cancelled_status;
  Runtime::FiberId victim = 0;
  w.add_node(lambda_factory([&](Env& env, size_t) {
    (void)env.runtime.spawn("waiter", [&env, &wait_status] {
      Event never_set(env.runtime);
      wait_status = never_set.wait(env.runtime.now_us() + 3'000);
    });
    victim = *env.runtime.spawn("victim", [&env, &cancelled_status] {
      cancelled_status = env.runtime.sleep_for(1'000'000);
    });
  }));
  w.start_all();
  w.at(2'000, [&] { w.runtime(0)->cancel(victim); });
  w.run_until(10'000);
  CHECK(wait_status.code() == Errc::timeout);
  CHECK(cancelled_status.code() == Errc::cancelled);
  CHECK(w.runtime(0)->fiber_count() == 0);
}

namespace {
struct Guard {
  int* destroyed;
  ~Guard() { ++*destroyed; }
};
}  // namespace

TEST_CASE("crash destroys fibers and the service; restart rebuilds from the factory",
          "[sim][world]") {
  World w(7);
  int boots = 0;
  int destroyed = 0;
  int finished = 0;
  w.add_node(lambda_factory([&](Env& env, size_t) {
    ++boots;
    (void)env.runtime.spawn("long", [&] {
      Guard g{&destroyed};
      (void)env.runtime.sleep_for(50'000);
      ++finished;
    });
  }));
  w.start(0);
  CHECK(w.is_up(0));
  CHECK(w.service(0) != nullptr);
  w.run_until(10'000);
  w.crash(0);
  CHECK(!w.is_up(0));
  CHECK(w.service(0) == nullptr);
  CHECK(w.env(0) == nullptr);
  CHECK(destroyed == 1);  // the fiber's stack was unwound
  w.run_until(100'000);
  CHECK(finished == 0);   // and it never ran again
  w.restart(0);
  CHECK(boots == 2);
  CHECK(w.incarnation(0) == 2);
  w.run_until(200'000);
  CHECK(finished == 1);
  CHECK(destroyed == 2);
}

TEST_CASE("restarted incarnations draw fresh randomness", "[sim][world]") {
  World w(7);
  std::vector<uint64_t> draws;
  w.add_node(lambda_factory([&](Env& env, size_t) {
    draws.push_back(env.random.stream("x", "y").next_u64());
  }));
  w.start(0);
  w.restart(0);
  w.restart(0);
  REQUIRE(draws.size() == 3);
  CHECK(draws[0] != draws[1]);
  CHECK(draws[1] != draws[2]);
  CHECK(draws[0] == w.random().for_node(0).stream("x", "y").next_u64());
}

TEST_CASE("pause holds timers until resume", "[sim][world]") {
  World w(7);
  int64_t woke_us = -1;
  w.add_node(lambda_factory([&](Env& env, size_t) {
    (void)env.runtime.spawn("sleeper", [&] {
      (void)env.runtime.sleep_for(5'000);
      woke_us = w.now_us();
    });
  }));
  w.start(0);
  w.at(1'000, [&] { w.pause(0); });
  w.at(20'000, [&] { w.resume(0); });
  w.run_until(19'999);
  CHECK(w.is_paused(0));
  CHECK(woke_us == -1);
  w.run_until(30'000);
  CHECK(!w.is_paused(0));
  CHECK(woke_us == 20'000);
}

TEST_CASE("a world event that calls into a node gets that node driven", "[sim][world]") {
  World w(7);
  int ran_at_us = -1;
  w.add_node(lambda_factory([](Env&, size_t) {}));
  w.start(0);
  w.at(3'000, [&] {
    Runtime* rt = w.runtime(0);
    rt->call_at(rt->now_us() + 1'000, [&] { ran_at_us = static_cast<int>(w.now_us()); });
  });
  w.run_until(10'000);
  CHECK(ran_at_us == 4'000);
}

TEST_CASE("wipe loses even durable state; logs and the sink reach the trace", "[sim][world]") {
  World w(9);
  std::vector<TraceEvent> seen;
  w.trace().set_sink([&](const TraceEvent& e) { seen.push_back(e); });
  size_t files_at_boot = 99;
  w.add_node(lambda_factory([&](Env& env, size_t) {
    files_at_boot = env.disk.list()->size();
    env.log.info("booted", {{"files", files_at_boot}});
    env.log.debug("hidden");  // below the default level: not traced
    REQUIRE(write_file_atomic(env.disk, "id", std::vector<uint8_t>{1}));
  }));
  w.start(0);
  CHECK(files_at_boot == 0);
  w.restart(0);
  CHECK(files_at_boot == 1);
  w.wipe(0);
  CHECK(!w.is_up(0));
  w.restart(0);
  CHECK(files_at_boot == 0);
  size_t logs = 0;
  size_t starts = 0;
  for (const auto& e : seen) {
    if (e.kind == TraceKind::log) {
      ++logs;
      CHECK(e.detail.find("booted") != std::string::npos);
    }
    if (e.kind == TraceKind::node_start || e.kind == TraceKind::node_restart) ++starts;
  }
  CHECK(logs == 3);
  CHECK(starts == 3);
  CHECK(w.trace().events() == seen.size());
}
