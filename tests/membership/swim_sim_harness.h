// Shared harness of the SWIM simulator tests (swim_sim_test.cpp,
// swim_scale_test.cpp): a Cluster of n SwimTestService nodes in one
// sim::World, a latency/percentile helper and the default LAN link.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <set>
#include <vector>

#include "core/membership/suspicion.h"
#include "tests/membership/swim_test_service.h"

namespace meshd::membership::test {

struct Cluster {
  sim::World world;
  SwimRecorder recorder;
  size_t n;

  Cluster(uint64_t seed, size_t nodes, const SwimConfig& config, const sim::LinkConfig& link)
      : world(seed), n(nodes) {
    recorder.sent_by_node.resize(nodes);
    world.network().set_default_link(link);
    Runtime::Limits limits;
    limits.fibers_max = 8;
    limits.stack_bytes = 64 * 1024;
    world.set_runtime_limits(limits);
    for (size_t i = 0; i < nodes; ++i) world.add_node(swim_factory(world, config, &recorder));
    world.start_all();
  }

  const SwimMember& swim(size_t i) { return swim_service(world, i)->swim(); }

  // Every up node sees every other up node alive (and `gone` not alive).
  // One pass over each table: O(n^2) map entries, no per-pair lookups, so
  // it stays cheap enough to poll at n = 1000.
  bool converged(const std::set<size_t>& gone = {}) {
    std::vector<bool> should(n, false);
    size_t should_count = 0;
    for (size_t j = 0; j < n; ++j) {
      should[j] = world.is_up(j) && !gone.count(j);
      should_count += should[j] ? 1 : 0;
    }
    for (size_t i = 0; i < n; ++i) {
      if (!world.is_up(i)) continue;
      size_t alive = 0;
      for (const auto& [id, m] : swim(i).table().members()) {
        const size_t j = node_index_of(id);
        if (j == i) continue;
        if (!(m.has_identity && m.status == MemberStatus::alive)) continue;
        if (j >= n || !should[j]) return false;
        ++alive;
      }
      if (alive != should_count - (should[i] ? 1 : 0)) return false;
    }
    return true;
  }

  // Runs in poll_us steps until pred() or the deadline; returns the time.
  template <class Pred>
  std::optional<int64_t> run_until(Pred pred, int64_t deadline_us, int64_t poll_us = 100'000) {
    while (world.now_us() < deadline_us) {
      world.run_until(std::min(deadline_us, world.now_us() + poll_us));
      if (pred()) return world.now_us();
    }
    return std::nullopt;
  }
};

struct Distribution {
  std::vector<int64_t> v;
  void add(int64_t x) { v.push_back(x); }
  int64_t pct(int p) {
    std::sort(v.begin(), v.end());
    if (v.empty()) return 0;
    return v[std::min(v.size() - 1, v.size() * static_cast<size_t>(p) / 100)];
  }
  int64_t max() { return v.empty() ? 0 : *std::max_element(v.begin(), v.end()); }
};

inline sim::LinkConfig lan() {
  sim::LinkConfig l;
  l.latency_us_min = 500;
  l.latency_us_mean = 1'000;  // exponential jitter, capped at 64x
  return l;
}

// Completeness bound for a crash, derived for the given config with no
// loss (health stays 0): a live member probes every other member once per
// shuffled round of n-1 periods, so some member probes the dead node within
// 2(n-1)-1 periods; the probe fails one period later; a suspicion lasts at
// most suspicion max; the failed update then spreads by gossip (allow 10 s,
// i.e. 50 gossip rounds at the default 200 ms).
inline int64_t completeness_bound_us(const SwimConfig& c, size_t n) {
  const auto b = suspicion_bounds(c.suspicion_mult, c.suspicion_max_timeout_mult,
                                  c.protocol_period_us, n);
  return static_cast<int64_t>(2 * (n - 1) - 1) * c.protocol_period_us + c.protocol_period_us +
         b.max_us + 10'000'000;
}

}  // namespace meshd::membership::test
