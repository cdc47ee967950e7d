#include "io/loop.h"

#include <signal.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <vector>

#include "io/clock.h"
#include "tests/io/io_test_util.h"

using meshd::Runtime;
using meshd::io::EventLoop;
using meshd::io::RealClock;
using meshd::io::test::run_until;

TEST_CASE("EventLoop: fiber sleeps fire in deadline order", "[io][loop]") {
  RealClock clock;
  Runtime runtime(clock);
  auto loop = EventLoop::create(runtime);
  REQUIRE(loop);
  std::vector<int> order;
  // Spawned in an order different from their deadlines.
  const int64_t delays_us[] = {3000, 1000, 2000, 500};
  for (int i = 0; i < 4; ++i) {
    REQUIRE(runtime.spawn("sleeper", [&, i] {
      CHECK(runtime.sleep_for(delays_us[i]));
      order.push_back(i);
    }));
  }
  REQUIRE(run_until(**loop, [&] { return order.size() == 4; }));
  CHECK(order == std::vector<int>{3, 1, 2, 0});
  // Every fiber has finished: the runtime is idle again.
  CHECK(runtime.fiber_count() == 0);
  CHECK_FALSE(runtime.next_deadline_us().has_value());
}

TEST_CASE("EventLoop: a timer wakes the loop, not a busy spin", "[io][loop]") {
  RealClock clock;
  Runtime runtime(clock);
  auto loop = EventLoop::create(runtime);
  REQUIRE(loop);
  bool fired = false;
  const int64_t start_us = runtime.now_us();
  runtime.call_at(start_us + 20'000, [&] { fired = true; });
  const uint64_t before = (*loop)->iterations();
  // No max wait: one iteration must block until the timer is due.
  while (!fired) REQUIRE((*loop)->run_once());
  CHECK(runtime.now_us() >= start_us + 20'000);
  // A handful of iterations at most (timerfd wakeups), never thousands.
  CHECK((*loop)->iterations() - before <= 3);
}

TEST_CASE("EventLoop: fd callbacks run in loop context and can deregister", "[io][loop]") {
  RealClock clock;
  Runtime runtime(clock);
  auto loop = EventLoop::create(runtime);
  REQUIRE(loop);
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  int calls = 0;
  bool in_fiber_seen = true;
  REQUIRE((*loop)->add_fd(fds[0], EPOLLIN, [&](uint32_t events) {
    ++calls;
    in_fiber_seen = runtime.in_fiber();
    CHECK((events & EPOLLIN) != 0);
    (*loop)->remove_fd(fds[0]);  // level-triggered: would fire again otherwise
  }));
  CHECK((*loop)->add_fd(fds[0], EPOLLIN, [](uint32_t) {}).code() == meshd::Errc::exists);
  REQUIRE(::write(fds[1], "x", 1) == 1);
  REQUIRE(run_until(**loop, [&] { return calls > 0; }));
  // More iterations: the removed fd is not reported again.
  for (int i = 0; i < 3; ++i) REQUIRE((*loop)->run_once(0));
  CHECK(calls == 1);
  CHECK_FALSE(in_fiber_seen);
  CHECK((*loop)->fd_count() == 0);
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST_CASE("EventLoop: stop() from a fiber ends run()", "[io][loop]") {
  RealClock clock;
  Runtime runtime(clock);
  auto loop = EventLoop::create(runtime);
  REQUIRE(loop);
  int ticks = 0;
  REQUIRE(runtime.spawn("ticker", [&] {
    while (ticks < 5) {
      CHECK(runtime.sleep_for(100));
      ++ticks;
    }
    (*loop)->stop();
  }));
  REQUIRE((*loop)->run());
  CHECK(ticks == 5);
  CHECK((*loop)->stop_requested());
}

TEST_CASE("EventLoop: SIGTERM is delivered through the signalfd", "[io][loop]") {
  RealClock clock;
  Runtime runtime(clock);
  auto loop = EventLoop::create(runtime);
  REQUIRE(loop);
  int got = 0;
  REQUIRE((*loop)->watch_termination_signals([&](int signo) {
    got = signo;
    (*loop)->stop();
  }));
  REQUIRE(::kill(::getpid(), SIGTERM) == 0);  // blocked: queued, not fatal
  REQUIRE(run_until(**loop, [&] { return got != 0; }));
  CHECK(got == SIGTERM);
  // The loop's destructor restores the mask; the signal was consumed.
}

TEST_CASE("EventLoop: an event for a removed fd never reaches its reused number", "[io][loop]") {
  RealClock clock;
  Runtime runtime(clock);
  auto loop = EventLoop::create(runtime);
  REQUIRE(loop);
  int p[2], q[2];
  REQUIRE(::pipe(p) == 0);
  REQUIRE(::pipe(q) == 0);
  REQUIRE(::write(p[1], "x", 1) == 1);
  REQUIRE(::write(q[1], "x", 1) == 1);
  int first_calls = 0;
  int successor_calls = 0;
  int fresh[2] = {-1, -1};
  // Whichever of the two ready fds is reported first closes the other and
  // makes a new (empty) pipe, which takes over the closed number.
  auto swap_other = [&](int self, int other) {
    ++first_calls;
    (*loop)->remove_fd(self);
    if (fresh[0] != -1) return;
    (*loop)->remove_fd(other);
    ::close(other);
    REQUIRE(::pipe(fresh) == 0);
    REQUIRE(fresh[0] == other);  // POSIX: the lowest free number
    REQUIRE((*loop)->add_fd(fresh[0], EPOLLIN, [&](uint32_t) { ++successor_calls; }));
  };
  REQUIRE((*loop)->add_fd(p[0], EPOLLIN, [&](uint32_t) { swap_other(p[0], q[0]); }));
  REQUIRE((*loop)->add_fd(q[0], EPOLLIN, [&](uint32_t) { swap_other(q[0], p[0]); }));
  REQUIRE((*loop)->run_once(0));
  CHECK(first_calls == 1);
  CHECK(successor_calls == 0);  // the stale event for the old number was dropped
  REQUIRE(::write(fresh[1], "y", 1) == 1);
  REQUIRE(run_until(**loop, [&] { return successor_calls > 0; }));
  (*loop)->remove_fd(fresh[0]);
  // One of p[0]/q[0] was closed by the swap and its number is fresh[0] now.
  const int survivor = p[0] == fresh[0] ? q[0] : p[0];
  for (int fd : {survivor, p[1], q[1], fresh[0], fresh[1]}) ::close(fd);
}
