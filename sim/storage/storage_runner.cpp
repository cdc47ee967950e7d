#include "sim/storage/storage_runner.h"

#include <fmt/format.h>

#include "sim/scenario/oracle.h"
#include "sim/storage/storage_oracle.h"
#include "sim/storage/storage_service.h"
#include "sim/world.h"

namespace meshd::sim {

namespace {
// After the run: time for the final restarts' recovery and checks.
constexpr int64_t kFinalCheckUs = 5'000'000;
}  // namespace

RunResult run_storage_scenario(const Scenario& sc, const RunOptions& opt) {
  MESHD_ASSERT(sc.storage.has_value());
  const StorageSpec& spec = *sc.storage;
  World world(opt.seed);
  world.trace().set_recording(opt.record_trace);
  world.set_log_stderr(opt.log_stderr);
  StorageOracle oracle(world, sc.nodes, spec);
  const bool planted = opt.planted_bug == PlantedBug::storage_ack_before_fsync;
  for (size_t i = 0; i < sc.nodes; ++i) {
    world.add_node([&](Env& env, size_t index) -> std::unique_ptr<Service> {
      return std::make_unique<StorageService>(env, index, spec, oracle, planted);
    });
    world.set_disk_faults(i, spec.disk);
  }
  std::vector<Fault> fired;
  auto fire = [&world, &fired](const Fault& f) {
    world.record(TraceKind::fault, static_cast<uint32_t>(f.node),
                 fmt::format("{} at {:.3f}s node {}", fault_kind_name(f.kind), f.at_us / 1e6, f.node));
    const size_t n = static_cast<size_t>(f.node);
    switch (f.kind) {
      case FaultKind::crash: world.crash(n); break;
      case FaultKind::restart:
        if (world.is_up(n)) world.crash(n);
        world.start(n);
        break;
      case FaultKind::wipe: world.wipe(n); world.start(n); break;
      case FaultKind::disk: world.set_disk_faults(n, f.disk); break;
      default: return;  // network faults have nothing to act on here
    }
    fired.push_back(f);
  };
  for (const Fault& f : sc.faults) world.at(f.at_us, [f, &fire] { fire(f); });
  // Random crashes and restarts.
  RandomStream crashes = world.random().stream("storage", "crashes");
  for (int64_t t = 0;;) {
    t += crashes.range(spec.crash_interval_ms_min, spec.crash_interval_ms_max) * 1000;
    if (t >= sc.duration_us) break;
    Fault down;
    down.at_us = t;
    down.kind = FaultKind::crash;
    down.node = static_cast<int64_t>(crashes.below(sc.nodes));
    Fault up = down;
    up.kind = FaultKind::restart;
    up.at_us = std::min(sc.duration_us, t + crashes.range(0, spec.down_ms_max) * 1000);
    world.at(down.at_us, [down, &fire] { fire(down); });
    world.at(up.at_us, [up, &world, &fire] {
      if (!world.is_up(static_cast<size_t>(up.node))) fire(up);
    });
  }
  world.start_all();
  const int64_t end_us = opt.until_us >= 0 ? std::min(opt.until_us, sc.duration_us) : sc.duration_us;
  world.run_until(end_us);
  if (end_us == sc.duration_us) {
    for (size_t i = 0; i < sc.nodes; ++i) {
      Fault f;
      f.at_us = end_us;
      f.kind = FaultKind::restart;
      f.node = static_cast<int64_t>(i);
      fire(f);
    }
    world.run_until(end_us + kFinalCheckUs);
  }

  RunResult r;
  r.nodes = sc.nodes;
  r.violations = oracle.violations();
  r.violation_count = oracle.violation_count();
  r.passed = r.violation_count == 0;
  r.trace_hash = world.trace().hash();
  r.events = world.events_processed();
  r.sim_us = world.now_us();
  r.fired_faults = std::move(fired);
  r.storage = oracle.counters();
  for (size_t i = 0; i < sc.nodes; ++i) {
    for (const auto& [name, v] : world.disk(i).counters()) r.storage["disk." + name] += v;
  }
  if (opt.record_trace) r.trace = world.trace().recorded();
  r.final_state = opt.final_state ? node_snapshots(world, sc.nodes) : nlohmann::json::array();
  return r;
}

}  // namespace meshd::sim
