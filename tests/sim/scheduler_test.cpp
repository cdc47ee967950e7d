// EventQueue and World scheduling order: (time, insertion order).
#include <catch2/catch.hpp>

#include "sim/event_queue.h"
#include "sim/world.h"

using namespace meshd::sim;

TEST_CASE("EventQueue pops by time, ties in insertion order", "[sim][scheduler]") {
  EventQueue q;
  q.push(30, EventKind::wake, 0, 1);
  q.push(10, EventKind::wake, 0, 2);
  q.push(20, EventKind::wake, 0, 3);
  q.push(10, EventKind::wake, 0, 4);
  q.push(10, EventKind::wake, 0, 5);
  std::vector<uint64_t> order;
  std::vector<int64_t> times;
  while (!q.empty()) {
    SimEvent e = q.pop();
    order.push_back(e.arg);
    times.push_back(e.t_us);
  }
  CHECK(order == std::vector<uint64_t>{2, 4, 5, 3, 1});
  CHECK(times == std::vector<int64_t>{10, 10, 10, 20, 30});
}

TEST_CASE("EventQueue keeps ties stable over many interleaved pushes", "[sim][scheduler]") {
  EventQueue q;
  for (uint64_t i = 0; i < 1000; ++i) q.push(static_cast<int64_t>(i % 7), EventKind::wake, 0, i);
  int64_t last_t = -1;
  uint64_t last_arg = 0;
  while (!q.empty()) {
    SimEvent e = q.pop();
    if (e.t_us == last_t) CHECK(e.arg > last_arg);
    CHECK(e.t_us >= last_t);
    last_t = e.t_us;
    last_arg = e.arg;
  }
}

TEST_CASE("World::at runs events by time then scheduling order", "[sim][scheduler]") {
  World w(1);
  std::vector<int> seen;
  w.at(500, [&] { seen.push_back(3); });
  w.at(100, [&] { seen.push_back(1); });
  w.at(100, [&] {
    seen.push_back(2);
    w.at(100, [&] { seen.push_back(22); });  // same time, scheduled later: runs after
  });
  w.at(900, [&] { seen.push_back(4); });
  w.run_until(500);
  CHECK(seen == std::vector<int>{1, 2, 22, 3});
  CHECK(w.now_us() == 500);
  w.run_until(800);
  CHECK(w.now_us() == 800);
  CHECK(seen.size() == 4);
  w.run_until(1000);
  CHECK(seen.back() == 4);
  CHECK(w.events_processed() == 5);
}

TEST_CASE("run_until advances time even with an empty queue", "[sim][scheduler]") {
  World w(1);
  CHECK(!w.next_event_us());
  w.run_until(12345);
  CHECK(w.now_us() == 12345);
  CHECK(!w.step());
}
