// NodeJournal (core/node/journal.h) over the simulator's disk: what is
// journaled, recovery counts, corruption refuses to open, and a crash
// check: the writer fiber syncs with simulated fsync latency while the
// process is killed at random times (often inside an fsync); after every
// restart the journal must hold a prefix of what was written that covers
// everything it reported durable, byte for byte (the crash-consistency
// oracle's rules, applied to the journal).
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "core/env/random.h"
#include "core/node/journal.h"
#include "sim/disk_model.h"
#include "tests/core/manual_clock.h"
#include "tests/crypto/mem_disk.h"
#include "tests/storage/storage_test_util.h"

using namespace meshd;
using namespace meshd::storage;

namespace {

// The journaled events' "n" fields, in seq order, read with a plain AppendLog.
// Opening recovers (cuts a torn tail): counted in *torn_tails.
std::vector<int64_t> journal_ns(Disk& disk, uint64_t* torn_tails = nullptr) {
  LogOptions o;
  o.prefix = std::string(kJournalPrefix);
  auto log = storage::test::must_open(disk, o);
  if (torn_tails) *torn_tails += log->recovery().torn_tails;
  std::vector<int64_t> out;
  for (const auto& p : storage::test::read_all(*log)) {
    const auto j = nlohmann::json::parse(p.begin(), p.end(), nullptr, false);
    REQUIRE(j.is_object());
    REQUIRE(j.contains("t_us"));
    REQUIRE(j.contains("level"));
    out.push_back(j["fields"].value("n", int64_t{-1}));
  }
  return out;
}

struct Rig {
  explicit Rig(uint64_t seed) : disk(Random::from_seed(seed)) { disk.attach_runtime(&rt); }
  meshd::test::ManualClock clock;
  Runtime rt{clock};
  sim::SimDisk disk;
  meshd::test::RecordingLog inner;
  std::unique_ptr<NodeJournal> open(JournalOptions o = {}) {
    auto j = NodeJournal::open(disk, rt, clock, inner, o);
    if (!j) FAIL(j.status().to_string());
    return std::move(*j);
  }
};

}  // namespace

TEST_CASE("journal: which events are journaled", "[storage][journal]") {
  CHECK(journaled_event(LogLevel::info, "member_failed"));
  CHECK(journaled_event(LogLevel::info, "peer_down"));
  CHECK(journaled_event(LogLevel::info, "key_rotated"));
  CHECK(journaled_event(LogLevel::info, "node_started"));
  CHECK(journaled_event(LogLevel::warn, "anything_at_warn"));
  CHECK(journaled_event(LogLevel::error, "storage_failed"));
  CHECK_FALSE(journaled_event(LogLevel::info, "meshd_ready"));
  CHECK_FALSE(journaled_event(LogLevel::debug, "member_failed"));
}

TEST_CASE("journal: events are forwarded, queued, appended and synced; reopen counts them", "[storage][journal]") {
  Rig rig(1);
  {
    auto j = rig.open();
    CHECK(rig.inner.saw("journal_opened"));
    j->info("member_joined", {{"n", 0}, {"id", "ab"}});
    j->info("meshd_ready", {{"n", 99}});     // not journaled, still forwarded
    j->debug("member_failed", {{"n", 98}});  // debug: never journaled
    j->warn("incarnation_recovered", {{"n", 1}});
    CHECK(rig.inner.saw("meshd_ready"));
    CHECK(j->status()["queued"] == 2);
    REQUIRE(j->drain());
    CHECK(j->counters().journaled == 2);
    CHECK(j->durable_end() == 3);  // seqs 1, 2 durable
    j->info("node_stopped", {{"n", 2}});
    j->close();                    // flushes and syncs
    j->info("member_left", {{"n", 3}});  // after close: the inner log only
    CHECK(j->counters().dropped_failed == 1);
  }
  rig.disk.crash();  // only synced data survives
  CHECK(journal_ns(rig.disk) == std::vector<int64_t>{0, 1, 2});
  auto j = rig.open();
  CHECK(j->counters().recovered_records == 3);
}

TEST_CASE("journal: a queue over its limit drops and counts, never blocks", "[storage][journal]") {
  Rig rig(2);
  auto j = rig.open();
  for (size_t i = 0; i < kJournalQueueMax + 5; ++i) j->info("peer_up", {{"n", i}});
  CHECK(j->counters().dropped_queue_full == 5);
  REQUIRE(j->drain());
  CHECK(j->counters().journaled == kJournalQueueMax);
}

TEST_CASE("journal: corruption before the tail refuses to open, with the remedy", "[storage][journal]") {
  meshd::test::MemDisk disk;
  meshd::test::ManualClock clock;
  Runtime rt{clock};
  meshd::test::RecordingLog inner;
  {
    auto j = NodeJournal::open(disk, rt, clock, inner, {});
    REQUIRE(j);
    for (int i = 0; i < 3; ++i) {
      (*j)->info("member_suspect", {{"n", i}});
      REQUIRE((*j)->drain());  // three batches: each later one vouches for the earlier
    }
  }
  const std::string seg = segment_name(kJournalPrefix, kFirstSeq);
  auto f = disk.open(seg, OpenMode::existing);
  REQUIRE(f);
  std::vector<uint8_t> byte(1);
  const uint64_t at = kSegmentHeaderBytes + kRecordHeaderBytes + 5;  // inside record 1's payload
  REQUIRE((*f)->pread(at, byte));
  byte[0] ^= 0x10;
  REQUIRE((*f)->pwrite(at, byte));
  auto j = NodeJournal::open(disk, rt, clock, inner, {});
  REQUIRE_FALSE(j);
  CHECK(j.code() == Errc::corrupt);
  CHECK(j.status().message().find(seg) != std::string::npos);
  CHECK(inner.saw("journal_corrupt"));
}

TEST_CASE("journal: survives random crashes, often inside an fsync (200 seeds)", "[storage][journal][sim]") {
  uint64_t crashes = 0, torn_tails = 0, checked_records = 0;
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    Rig rig(seed);
    sim::DiskFaults faults;
    faults.torn_writes = true;
    faults.latency_us = 20;
    faults.fsync_latency_us = 700;
    rig.disk.set_faults(faults);
    RandomStream rng = Random::from_seed(seed).stream("test", "journal-crash");
    std::vector<int64_t> written;  // every n journaled, in order, across lives
    size_t durable = 0;            // how many of `written` were reported durable
    int64_t n = 0;
    for (int life = 0; life < 6; ++life) {
      // Recovery: a prefix of what was written, covering everything durable.
      const std::vector<int64_t> got = journal_ns(rig.disk, &torn_tails);
      INFO("seed " << seed << " life " << life);
      REQUIRE(got.size() >= durable);
      REQUIRE(got.size() <= written.size());
      REQUIRE(std::equal(got.begin(), got.end(), written.begin()));
      checked_records += got.size();
      written.resize(got.size());  // the rest was lost with the crash: never reported durable
      durable = got.size();
      JournalOptions o;
      o.sync = rng.below(4) == 0 ? SyncPolicy::every : SyncPolicy::group;
      o.segment_bytes = 4096;  // rotations inside the run
      auto j = rig.open(o);
      REQUIRE(j->counters().recovered_records == got.size());
      REQUIRE(j->start());
      const uint64_t first_seq_of_life = j->log().next_seq();
      const int64_t crash_at = rig.clock.now_us + 1000 + static_cast<int64_t>(rng.below(40'000));
      while (rig.clock.now_us < crash_at) {
        if (rng.below(3) == 0) {
          j->info("member_alive", {{"n", n}, {"pad", std::string(rng.below(200), 'x')}});
          written.push_back(n++);
        }
        rig.clock.run_until(rig.rt, rig.clock.now_us + static_cast<int64_t>(rng.below(500)));
        REQUIRE(j->log().health() == LogHealth::ok);
        const uint64_t d = j->durable_end() - first_seq_of_life + durable;
        REQUIRE(d <= written.size());
      }
      REQUIRE(j->counters().dropped_queue_full == 0);
      durable += j->durable_end() - first_seq_of_life;
      // The crash: fibers die wherever they are (an fsync in flight), then the disk.
      rig.rt.kill_all();
      j.reset();
      rig.disk.crash();
      ++crashes;
    }
  }
  CHECK(crashes == 200 * 6);
  CHECK(torn_tails > 0);         // the check did exercise torn tails
  CHECK(checked_records > 1000);
}
