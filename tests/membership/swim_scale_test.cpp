// SWIM at scale (issue 4: "distributions of detection time and convergence
// time, and message load per node per second at 10, 100 and 1000 nodes"):
// the pure SwimService simulator harness (swim_sim_harness.h: no Node, no
// transport, so no n^2 handshakes), default SwimConfig (1 s period), LAN
// links (0.5 ms + exponential jitter, mean 1 ms), every node seeded from
// node 0. Hidden: run explicitly with
//
//   meshd_tests "[.membership_scale]"     # all sizes (n = 1000 dominates)
//   meshd_tests "[membership_scale_10]"   # or one size: _10, _100, _1000,
//                                         # _1000_heal (n = 1000 with the partition)
//
// Each case prints "[membership figures] scale …" lines (SCALE_REPORT.md /
// docs/membership.md quote them) and asserts bounds derived from the
// formulas in docs/membership.md, not from measured values.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <set>

#include "tests/membership/swim_sim_harness.h"

using namespace meshd;
using namespace meshd::membership;
using namespace meshd::membership::test;

namespace {

struct ScaleSpec {
  size_t n = 0;
  uint64_t seeds = 1;
  size_t victims = 1;           // crashed together, after convergence
  bool partition = false;       // halves cut, then healed (after detection)
  int64_t poll_us = 100'000;    // convergence polling (events carry exact times)
};

struct ScaleFigures {
  Distribution join, first_suspect, detection, last_observer, converge;
  double load_sum = 0;          // msgs/node/s, summed over seeds
  double load_first_sum = 0, load_second_sum = 0;  // the window's halves
  uint64_t load_runs = 0;
  uint64_t false_failed = 0;    // `failed` events about live members outside the cut
  uint64_t undetected = 0;      // (observer, victim) pairs without a `failed` event
  uint64_t cut_fully_detected = 0;
  uint64_t overflow = 0;        // broadcast queue overflows, all nodes, all seeds
};

// Join bound: the harness's mass join contacts node 0 only; node 0 answers
// with its full state and the join announcements spread by gossip and by
// push-pull. Worst case (docs/membership.md, "Load"): announcements that
// overflow node 0's broadcast queue (512) spread only by push-pull, every
// push_pull_interval * push_pull_scale(n); allow two such periods plus
// 60 s of gossip.
int64_t join_bound_us(const SwimConfig& c, size_t n) {
  return 2 * c.push_pull_interval_us * push_pull_scale(n) + 60'000'000;
}

// Probabilistic completeness bound. Each live member's next probe of the
// dead node is (about) uniform over its pass of n - 1 periods, independently
// of the others, so the chance that none of n - 1 members probes it within
// T periods is about (1 - T/(n-1))^(n-1) <= e^-T: with T = 20 it is
// < 3e-9 per crash. Then: that probe fails one period later, the suspicion
// lasts at most suspicion max, and the `failed` update spreads by gossip
// (10 s = 50 gossip rounds). n = 10: 20+1+24+10 = 55 s (the deterministic
// bound, 52 s, is smaller and used instead); n = 100: 20+1+48+10 = 79 s;
// n = 1000: 20+1+72+10 = 103 s.
int64_t likely_completeness_bound_us(const SwimConfig& c, size_t n) {
  const auto b = suspicion_bounds(c.suspicion_mult, c.suspicion_max_timeout_mult, c.protocol_period_us, n);
  return std::min(completeness_bound_us(c, n),
                  21 * c.protocol_period_us + b.max_us + 10'000'000);
}

// Partition-heal bound (as swim_sim_test.cpp, with the push-pull scale):
// the first reconnect push-pull across the cut (<= one scaled interval
// after the heal) tells a side it was declared failed; it refutes; a
// second (<= another interval) carries the refutations; then gossip (10 s).
int64_t heal_bound_us(const SwimConfig& c, size_t n) {
  return 2 * c.push_pull_interval_us * push_pull_scale(n) + 10'000'000;
}

// Load bound (per node per simulated second), from the protocol: one probe
// (ping + ack = 2 datagrams sent, counting the ack its target sends) per
// period; gossip ticks send to gossip_fanout members only while there is
// news; a push-pull exchange of ceil(full state / 1400 B) chunks each way
// every push_pull_interval * push_pull_scale(n). With no faults there is
// no news after convergence, so: 2 + (a generous) 2 for leftover gossip and
// refutations + push-pull chunks. A full state is n alive updates of at
// most kUpdateBytesMax (234 B, wire v2), so at least
// (datagram - 21 B) / 234 = 5 fit one 1400-B datagram (the 64-update count
// limit does not bind here): ceil(n/5) datagrams each way, twice
// (reconnect too), per period: n = 10: 2 * 2 * 2 / 30 s; n = 1000:
// 2 * 2 * 200 / 180 s.
double load_bound(const SwimConfig& c, size_t n) {
  const double periods_per_s = 1e6 / static_cast<double>(c.protocol_period_us);
  const double per_datagram = static_cast<double>(
      (c.datagram_bytes_max - encoded_fixed_bytes(SwimType::push_pull)) / kUpdateBytesMax);
  const double chunks = std::ceil(static_cast<double>(n) / per_datagram);
  const double pp_s = static_cast<double>(c.push_pull_interval_us) * push_pull_scale(n) / 1e6;
  return 2 * periods_per_s + 2 + 2 * 2 * chunks / pp_s;
}

ScaleFigures scale_run(const ScaleSpec& spec) {
  const SwimConfig config;
  const size_t n = spec.n;
  const int64_t detect_bound_us = likely_completeness_bound_us(config, n);
  ScaleFigures f;
  for (uint64_t seed = 1; seed <= spec.seeds; ++seed) {
    INFO("n " << n << " seed " << seed);
    Cluster c(seed, n, config, lan());
    auto joined = c.run_until([&] { return c.converged(); }, join_bound_us(config, n), spec.poll_us);
    REQUIRE(joined.has_value());
    f.join.add(*joined);

    // Steady-state load: 60 s with no faults, also split into halves (the
    // first may still carry the tail of the join's gossip). Splitting the
    // run_until does not change the simulation.
    const int64_t window_us = 60'000'000;
    const std::vector<uint64_t> before = c.recorder.sent_by_node;
    c.world.run_until(c.world.now_us() + window_us / 2);
    const std::vector<uint64_t> middle = c.recorder.sent_by_node;
    c.world.run_until(c.world.now_us() + window_us / 2);
    uint64_t sent = 0, sent_first = 0;
    for (size_t i = 0; i < n; ++i) {
      sent += c.recorder.sent_by_node[i] - before[i];
      sent_first += middle[i] - before[i];
    }
    const double per_node_s = static_cast<double>(n) * (window_us / 1e6);
    f.load_sum += static_cast<double>(sent) / per_node_s;
    f.load_first_sum += 2.0 * static_cast<double>(sent_first) / per_node_s;
    f.load_second_sum += 2.0 * static_cast<double>(sent - sent_first) / per_node_s;
    ++f.load_runs;

    // Detection: crash `victims` distinct non-seed nodes at one instant.
    std::set<size_t> victims;
    for (uint64_t k = 0; victims.size() < spec.victims; ++k) {
      victims.insert(1 + (seed * 7'919 + k * 104'729) % (n - 1));
    }
    const int64_t crash_at = c.world.now_us() + 1'000'000 + static_cast<int64_t>(seed) * 7'919;
    c.world.run_until(crash_at);
    for (size_t v : victims) c.world.crash(v);
    const size_t events_before = c.recorder.events.size();
    auto all_failed = [&] {
      for (size_t i = 0; i < n; ++i) {
        if (victims.count(i)) continue;
        for (size_t v : victims) {
          const Member* m = c.swim(i).table().find(node_id_of(v));
          if (!m || m->status != MemberStatus::failed) return false;
        }
      }
      return true;
    };
    auto done = c.run_until(all_failed, crash_at + detect_bound_us, spec.poll_us);
    CHECK(done.has_value());
    if (done) f.last_observer.add(*done - crash_at);
    std::set<std::pair<size_t, size_t>> suspected, detected;  // (victim, observer)
    std::set<size_t> first_seen;
    for (size_t k = events_before; k < c.recorder.events.size(); ++k) {
      const RecordedEvent& e = c.recorder.events[k];
      if (!victims.count(e.subject)) {
        if (e.event.kind == MemberEventKind::failed) ++f.false_failed;
        continue;
      }
      if (e.event.kind == MemberEventKind::suspect && suspected.insert({e.subject, e.observer}).second &&
          first_seen.insert(e.subject).second) {
        f.first_suspect.add(e.global_us - crash_at);
      }
      if (e.event.kind == MemberEventKind::failed && detected.insert({e.subject, e.observer}).second) {
        f.detection.add(e.global_us - crash_at);
      }
    }
    f.undetected += victims.size() * (n - victims.size()) - detected.size();
    // The cluster (minus the victims) is whole again.
    REQUIRE(c.run_until([&] { return c.converged(victims); }, c.world.now_us() + 60'000'000, spec.poll_us));

    if (spec.partition) {
      // Halves of the live members cut long enough for each side to hold
      // the other failed (probabilistic completeness bound), then healed.
      std::vector<size_t> a, b;
      for (size_t i = 0; i < n; ++i) {
        if (!victims.count(i)) (i % 2 == 0 ? a : b).push_back(i);
      }
      c.world.network().partition(a, b);
      const size_t cut_events = c.recorder.events.size();
      c.world.run_until(c.world.now_us() + detect_bound_us);
      bool all_cut = true;
      for (size_t i : a) {
        for (size_t j : b) {
          const Member* ma = c.swim(i).table().find(node_id_of(j));
          const Member* mb = c.swim(j).table().find(node_id_of(i));
          all_cut = all_cut && ma && ma->status == MemberStatus::failed && mb &&
                    mb->status == MemberStatus::failed;
        }
      }
      f.cut_fully_detected += all_cut ? 1 : 0;
      // Declarations inside one side are false positives (nobody crashed
      // and those links stayed open).
      for (size_t k = cut_events; k < c.recorder.events.size(); ++k) {
        const RecordedEvent& e = c.recorder.events[k];
        if (e.event.kind == MemberEventKind::failed && !victims.count(e.subject) &&
            (e.observer % 2) == (e.subject % 2)) {
          ++f.false_failed;
        }
      }
      const int64_t healed_at = c.world.now_us();
      c.world.network().heal_all();
      auto healed = c.run_until([&] { return c.converged(victims); }, healed_at + heal_bound_us(config, n),
                                spec.poll_us);
      CHECK(healed.has_value());
      if (healed) f.converge.add(*healed - healed_at);
    }
    for (size_t i = 0; i < n; ++i) {
      if (!victims.count(i)) f.overflow += c.swim(i).counters().broadcast_overflow;
    }
  }
  return f;
}

void report_and_check(const ScaleSpec& spec, ScaleFigures& f) {
  const SwimConfig config;
  const size_t n = spec.n;
  const double load = f.load_sum / static_cast<double>(f.load_runs);
  std::printf("[membership figures] scale n=%zu seeds=%llu: join (t=0 -> all alive everywhere) p50=%.1fs "
              "max=%.1fs (bound %.0fs); steady load %.2f msg/node/s over 60 s (first 30 s %.2f, last 30 s %.2f; "
              "bound %.2f); broadcast overflows %llu\n",
              n, static_cast<unsigned long long>(spec.seeds), f.join.pct(50) / 1e6, f.join.max() / 1e6,
              join_bound_us(config, n) / 1e6, load, f.load_first_sum / static_cast<double>(f.load_runs),
              f.load_second_sum / static_cast<double>(f.load_runs), load_bound(config, n),
              static_cast<unsigned long long>(f.overflow));
  std::printf("[membership figures] scale n=%zu seeds=%llu crash %zu at once: first suspicion p50=%.2fs "
              "p99=%.2fs; per-observer detection (%zu samples) p50=%.2fs p99=%.2fs max=%.2fs; last observer "
              "p50=%.2fs max=%.2fs; bound %.1fs (deterministic %.1fs); undetected pairs %llu; false failed %llu\n",
              n, static_cast<unsigned long long>(spec.seeds), spec.victims, f.first_suspect.pct(50) / 1e6,
              f.first_suspect.pct(99) / 1e6, f.detection.v.size(), f.detection.pct(50) / 1e6,
              f.detection.pct(99) / 1e6, f.detection.max() / 1e6, f.last_observer.pct(50) / 1e6,
              f.last_observer.max() / 1e6, likely_completeness_bound_us(config, n) / 1e6,
              completeness_bound_us(config, n) / 1e6, static_cast<unsigned long long>(f.undetected),
              static_cast<unsigned long long>(f.false_failed));
  if (spec.partition) {
    std::printf("[membership figures] scale n=%zu seeds=%llu partition (halves, held %.0fs): other side failed "
                "everywhere in %llu runs; convergence after heal (%zu samples) p50=%.1fs p99=%.1fs max=%.1fs "
                "(bound %.0fs)\n",
                n, static_cast<unsigned long long>(spec.seeds), likely_completeness_bound_us(config, n) / 1e6,
                static_cast<unsigned long long>(f.cut_fully_detected), f.converge.v.size(),
                f.converge.pct(50) / 1e6, f.converge.pct(99) / 1e6, f.converge.max() / 1e6,
                heal_bound_us(config, n) / 1e6);
  }
  std::fflush(stdout);
  CHECK(load <= load_bound(config, n));
  CHECK(f.undetected == 0);
  CHECK(f.detection.max() <= likely_completeness_bound_us(config, n));
  CHECK(f.false_failed == 0);
  if (spec.partition) {
    CHECK(f.converge.v.size() == spec.seeds);
    CHECK(f.converge.max() <= heal_bound_us(config, n));
  }
}

}  // namespace

TEST_CASE("swim scale: n = 10, detection, partition heal and load", "[.membership_scale][membership_scale_10]") {
  ScaleSpec spec;
  spec.n = 10;
  spec.seeds = 50;
  spec.victims = 1;
  spec.partition = true;
  ScaleFigures f = scale_run(spec);
  report_and_check(spec, f);
}

TEST_CASE("swim scale: n = 100, detection, partition heal and load", "[.membership_scale][membership_scale_100]") {
  ScaleSpec spec;
  spec.n = 100;
  spec.seeds = 20;
  spec.victims = 2;
  spec.partition = true;
  ScaleFigures f = scale_run(spec);
  report_and_check(spec, f);
}

TEST_CASE("swim scale: n = 1000, detection and load", "[.membership_scale][membership_scale_1000]") {
  ScaleSpec spec;
  spec.n = 1000;
  spec.seeds = 1;
  spec.victims = 3;
  spec.partition = false;
  spec.poll_us = 1'000'000;  // the convergence check is O(n^2): poll once a simulated second
  ScaleFigures f = scale_run(spec);
  report_and_check(spec, f);
}

// The same run (same seed, so the same join, load and detection figures)
// followed by the partition: halves held 103 s, healed, convergence bound
// 2 * 180 s + 10 s. About twice the simulated time of the case above.
TEST_CASE("swim scale: n = 1000, detection, partition heal and load",
          "[.membership_scale][membership_scale_1000_heal]") {
  ScaleSpec spec;
  spec.n = 1000;
  spec.seeds = 1;
  spec.victims = 3;
  spec.partition = true;
  spec.poll_us = 1'000'000;
  ScaleFigures f = scale_run(spec);
  report_and_check(spec, f);
}
