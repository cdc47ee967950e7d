// AppendLog under fibers: group commit shares fsyncs; a failed fsync fails
// every waiter and is never retried into a success.
#include <catch2/catch.hpp>

#include "core/env/runtime.h"
#include "tests/core/manual_clock.h"
#include "tests/storage/storage_test_util.h"

using namespace meshd;
using namespace meshd::storage;
using namespace meshd::storage::test;
using meshd::sim::DiskFaults;
using meshd::sim::SimDisk;

namespace {
struct Rig {
  meshd::test::ManualClock clock;
  Runtime rt{clock};
  SimDisk disk{Random::from_seed(11)};
  std::unique_ptr<AppendLog> log;
  explicit Rig(SyncPolicy policy, int64_t max_delay_us = 0) {
    disk.attach_runtime(&rt);
    disk.set_faults(DiskFaults{.latency_us = 10, .fsync_latency_us = 1000});
    LogOptions o;
    o.sync = policy;
    o.group_max_delay_us = max_delay_us;
    auto l = AppendLog::open(disk, &rt, nullptr, o);  // outside a fiber: inline
    REQUIRE(l);
    log = std::move(*l);
  }
};
}  // namespace

TEST_CASE("group commit: appends arriving during an fsync share the next one", "[storage][group]") {
  Rig rig(SyncPolicy::group);
  const uint64_t fsyncs_before = rig.log->counters().fsyncs;
  int done = 0;
  // 20 fibers each append and wait; 20 more arrive while the first fsync runs.
  for (int wave = 0; wave < 2; ++wave) {
    for (int i = 0; i < 20; ++i) {
      REQUIRE(rig.rt.spawn("w", [&, wave, i] {
        if (wave == 1) REQUIRE(rig.rt.sleep_for(300));  // inside the first fsync (1000 us)
        auto seq = rig.log->append(payload_for(static_cast<uint64_t>(wave * 20 + i), 100));
        REQUIRE(seq);
        REQUIRE(rig.log->wait_durable(*seq));
        CHECK(rig.log->durable_end() > *seq);
        ++done;
      }));
    }
  }
  rig.clock.run_until(rig.rt, rig.clock.now_us + 100'000);
  CHECK(done == 40);
  // One fsync for the first wave, one for everything that arrived meanwhile.
  CHECK(rig.log->counters().fsyncs - fsyncs_before == 2);
  CHECK(rig.log->durable_end() == 41);
}

TEST_CASE("group commit: max delay gathers a batch", "[storage][group]") {
  Rig rig(SyncPolicy::group, 500);
  const uint64_t fsyncs_before = rig.log->counters().fsyncs;
  int done = 0;
  for (int i = 0; i < 10; ++i) {
    REQUIRE(rig.rt.spawn("w", [&, i] {
      REQUIRE(rig.rt.sleep_for(40 * i));  // spread over 360 us < the 500 us delay
      auto seq = rig.log->append(payload_for(static_cast<uint64_t>(i), 10));
      REQUIRE(seq);
      REQUIRE(rig.log->wait_durable(*seq));
      ++done;
    }));
  }
  rig.clock.run_until(rig.rt, rig.clock.now_us + 100'000);
  CHECK(done == 10);
  CHECK(rig.log->counters().fsyncs - fsyncs_before == 1);
}

TEST_CASE("group commit: a failed fsync fails every waiter, no later fsync pretends", "[storage][group]") {
  Rig rig(SyncPolicy::group);
  rig.disk.set_faults(DiskFaults{.fsync_eio = 1.0, .latency_us = 10, .fsync_latency_us = 1000});
  int failed = 0;
  for (int i = 0; i < 5; ++i) {
    REQUIRE(rig.rt.spawn("w", [&, i] {
      REQUIRE(rig.rt.sleep_for(300 * i));  // some wait behind the failing fsync
      auto seq = rig.log->append(payload_for(static_cast<uint64_t>(i), 10));
      if (!seq) {
        CHECK(seq.code() == Errc::io_error);
        ++failed;
        return;
      }
      Status s = rig.log->wait_durable(*seq);
      CHECK(s.code() == Errc::io_error);
      failed += !s;
    }));
  }
  rig.clock.run_until(rig.rt, rig.clock.now_us + 1100);  // the first fsync has failed
  CHECK(rig.disk.counters().at("fsync_eio") == 1);
  // From now on an fsync would succeed — and would be a lie about the
  // pages the failed one dropped. The log must not issue one.
  rig.disk.set_faults(DiskFaults{.latency_us = 10, .fsync_latency_us = 1000});
  rig.clock.run_until(rig.rt, rig.clock.now_us + 100'000);
  CHECK(failed == 5);
  CHECK(rig.log->health() == LogHealth::failed);
  CHECK(rig.log->durable_end() == 1);
  CHECK(rig.disk.counters().at("fsync_eio") == 1);
  CHECK(rig.disk.counters().at("fsyncs") == 1);  // only open's; none after the failure
}
