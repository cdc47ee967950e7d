// bench_scheduler: throughput of the simulator's scheduler.
//
// Prints events/s for: the bare EventQueue; World::at events; node wakes
// driving each node's Runtime (a self-rearming callback timer per node);
// datagram ping-pong between nodes (send + deliver + fiber wake); and the
// resident memory of a 1000-node world running a few fibers per node.
// Real time here is for measuring only (tools/ is not under the
// determinism lint).
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include "sim/event_queue.h"
#include "sim/world.h"

using namespace meshd;
using namespace meshd::sim;

namespace {
double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

long rss_kib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

class FnService final : public Service {
 public:
  using Fn = std::function<void(Env&, size_t)>;
  FnService(Env& env, size_t i, Fn fn) : env_(env), i_(i), fn_(std::move(fn)) {}
  void start() override { fn_(env_, i_); }
  nlohmann::json snapshot() const override { return {}; }
 private:
  Env& env_;
  size_t i_;
  Fn fn_;
};

ServiceFactory factory(FnService::Fn fn) {
  return [fn](Env& env, size_t i) -> std::unique_ptr<Service> {
    return std::make_unique<FnService>(env, i, fn);
  };
}

void bench_queue() {
  EventQueue q;
  constexpr int kResident = 10'000;
  constexpr int kOps = 10'000'000;
  uint64_t x = 1;
  for (int i = 0; i < kResident; ++i) q.push(i, EventKind::wake, 0, 0);
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kOps; ++i) {
    SimEvent e = q.pop();
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    q.push(e.t_us + 1 + static_cast<int64_t>((x >> 33) % 1000), EventKind::wake, 0, e.arg);
  }
  const double s = seconds_since(t0);
  fmt::print("event_queue      {:>12.0f} pop+push/s  ({} resident)\n", kOps / s, kResident);
}

void bench_world_at() {
  World w(1);
  constexpr int kEvents = 2'000'000;
  int64_t t = 0;
  std::function<void()> tick = [&] {
    t += 10;
    w.at(t, tick);
  };
  w.at(0, tick);
  auto t0 = std::chrono::steady_clock::now();
  const uint64_t before = w.events_processed();
  while (w.events_processed() - before < kEvents) w.step();
  const double s = seconds_since(t0);
  fmt::print("world_at         {:>12.0f} events/s\n", kEvents / s);
}

void bench_wakes(size_t nodes) {
  World w(1);
  for (size_t i = 0; i < nodes; ++i) {
    w.add_node(factory([](Env& env, size_t i) {
      // A self-rearming callback timer: one wake event per period.
      auto rearm = std::make_shared<std::function<void()>>();
      *rearm = [&env, rearm, i] {
        env.runtime.call_at(env.runtime.now_us() + 1'000 + static_cast<int64_t>(i % 7), *rearm);
      };
      env.runtime.post(*rearm);
    }));
  }
  w.start_all();
  auto t0 = std::chrono::steady_clock::now();
  const uint64_t before = w.events_processed();
  w.run_until(2'000'000);  // 2 s virtual
  const double s = seconds_since(t0);
  const uint64_t n = w.events_processed() - before;
  fmt::print("node_wakes       {:>12.0f} events/s  ({} nodes, {} events, trace {} events)\n",
             n / s, nodes, n, w.trace().events());
}

void bench_pingpong(size_t nodes) {
  World w(1);
  LinkConfig cfg;
  cfg.latency_us_mean = 100;
  w.network().set_default_link(cfg);
  for (size_t i = 0; i < nodes; ++i) {
    w.add_node(factory([nodes](Env& env, size_t i) {
      // Forward every datagram to the next node: a ring of 1 token per node.
      env.network.set_receive_handler([&env, nodes, i](const Address&, std::span<const uint8_t> b) {
        const Address next{0x0A000000u | static_cast<uint32_t>((i + 1) % nodes), World::kNodePort};
        (void)env.network.send(next, b);
      });
      const std::vector<uint8_t> token(200, static_cast<uint8_t>(i));
      const Address next{0x0A000000u | static_cast<uint32_t>((i + 1) % nodes), World::kNodePort};
      (void)env.network.send(next, token);
    }));
  }
  w.start_all();
  auto t0 = std::chrono::steady_clock::now();
  const uint64_t before = w.events_processed();
  w.run_until(2'000'000);
  const double s = seconds_since(t0);
  const uint64_t n = w.events_processed() - before;
  fmt::print("datagram_ring    {:>12.0f} deliveries/s ({} nodes, 200 B, {} delivered)\n", n / s,
             nodes, w.network().counter(NetCounter::delivered));
}

void bench_memory(size_t nodes, size_t fibers_per_node) {
  const long before = rss_kib();
  World w(1);
  Runtime::Limits limits;
  limits.stack_bytes = 64 * 1024;
  w.set_runtime_limits(limits);
  for (size_t i = 0; i < nodes; ++i) {
    w.add_node(factory([fibers_per_node](Env& env, size_t) {
      for (size_t f = 0; f < fibers_per_node; ++f) {
        (void)env.runtime.spawn("sleeper", [&env, f] {
          while (env.runtime.sleep_for(10'000 + static_cast<int64_t>(f) * 100)) {
          }
        });
      }
    }));
  }
  w.start_all();
  auto t0 = std::chrono::steady_clock::now();
  w.run_until(1'000'000);
  const double s = seconds_since(t0);
  const long after = rss_kib();
  fmt::print("memory           {} nodes x {} fibers (64 KiB stacks): RSS +{} MiB, {} events in {:.2f} s\n",
             nodes, fibers_per_node, (after - before) / 1024, w.events_processed(), s);
}
}  // namespace

int main() {
  bench_queue();
  bench_world_at();
  bench_wakes(1);
  bench_wakes(100);
  bench_wakes(1000);
  bench_pingpong(10);
  bench_pingpong(1000);
  bench_memory(1000, 8);
  return 0;
}
