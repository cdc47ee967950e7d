// SimDisk: the durability contract of core/env/disk.h and fault injection.
#include <catch2/catch.hpp>

#include "sim/disk_model.h"
#include "sim/world.h"
#include "tests/sim/test_services.h"

using namespace meshd;
using namespace meshd::sim;

namespace {
std::vector<uint8_t> filled(size_t n, uint8_t v) { return std::vector<uint8_t>(n, v); }

std::unique_ptr<File> must_open(SimDisk& d, std::string_view name, OpenMode mode = OpenMode::create) {
  auto f = d.open(name, mode);
  REQUIRE(f);
  return std::move(*f);
}

std::vector<uint8_t> contents(SimDisk& d, std::string_view name) {
  auto r = read_file(d, name, 1 << 20);
  REQUIRE(r);
  return *r;
}

Random rnd(uint64_t seed) { return Random::from_seed(seed); }
}  // namespace

TEST_CASE("fsynced data survives a crash; unsynced data is lost", "[sim][disk]") {
  SimDisk d(rnd(1));
  d.set_faults(DiskFaults{.torn_writes = false});
  auto f = must_open(d, "a");
  REQUIRE(f->pwrite(0, filled(1000, 1)));
  REQUIRE(f->fsync());
  REQUIRE(d.sync_dir());
  REQUIRE(f->pwrite(1000, filled(500, 2)));  // never synced
  REQUIRE(f->pwrite(0, filled(10, 3)));      // overwrites synced bytes, unsynced
  CHECK(contents(d, "a").size() == 1500);
  d.crash();
  CHECK(contents(d, "a") == filled(1000, 1));
  CHECK(d.counters().at("lost_ops") == 2);
  // The old handle belongs to the dead process.
  CHECK(f->pwrite(0, filled(1, 9)).code() == Errc::closed);
}

TEST_CASE("an unsynced create is lost; sync_dir keeps it", "[sim][disk]") {
  SimDisk d(rnd(2));
  {
    auto f = must_open(d, "kept");
    REQUIRE(f->pwrite(0, filled(10, 7)));
    REQUIRE(f->fsync());
  }
  REQUIRE(d.sync_dir());
  {
    auto f = must_open(d, "lost");
    REQUIRE(f->pwrite(0, filled(10, 7)));
    REQUIRE(f->fsync());  // file data synced, but not its directory entry
  }
  d.crash();
  auto names = d.list();
  REQUIRE(names);
  CHECK(*names == std::vector<std::string>{"kept"});
}

TEST_CASE("an unsynced rename or unlink is undone by a crash", "[sim][disk]") {
  SimDisk d(rnd(3));
  REQUIRE(write_file_atomic(d, "state", filled(100, 1)));
  {
    auto tmp = must_open(d, "next");
    REQUIRE(tmp->pwrite(0, filled(100, 2)));
    REQUIRE(tmp->fsync());
  }
  REQUIRE(d.rename("next", "state"));
  REQUIRE(d.unlink("state.tmp").code() == Errc::not_found);
  CHECK(contents(d, "state") == filled(100, 2));
  d.crash();
  CHECK(contents(d, "state") == filled(100, 1));  // the rename never reached the disk
  CHECK(d.stat("next").code() == Errc::not_found);

  REQUIRE(d.unlink("state"));
  d.crash();
  CHECK(contents(d, "state") == filled(100, 1));  // unlink undone too
  REQUIRE(d.unlink("state"));
  REQUIRE(d.sync_dir());
  d.crash();
  CHECK(d.stat("state").code() == Errc::not_found);
}

TEST_CASE("write_file_atomic replaces durably", "[sim][disk]") {
  SimDisk d(rnd(4));
  REQUIRE(write_file_atomic(d, "cfg", filled(50, 1)));
  REQUIRE(write_file_atomic(d, "cfg", filled(70, 2)));
  d.crash();
  CHECK(contents(d, "cfg") == filled(70, 2));
}

TEST_CASE("torn writes land at sector granularity", "[sim][disk]") {
  // A 16-sector unsynced overwrite of synced data: after a crash every
  // sector is entirely old or entirely new, and over many seeds both
  // outcomes (and mixtures) happen.
  constexpr size_t kSectors = 16;
  bool saw_mixed = false;
  bool saw_all_old = false;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    SimDisk d(rnd(100 + seed));
    auto f = must_open(d, "log");
    REQUIRE(f->pwrite(0, filled(kSectors * kDiskSectorBytes, 0xAA)));
    REQUIRE(f->fsync());
    REQUIRE(d.sync_dir());
    REQUIRE(f->pwrite(0, filled(kSectors * kDiskSectorBytes, 0xBB)));
    d.crash();
    auto got = contents(d, "log");
    REQUIRE(got.size() == kSectors * kDiskSectorBytes);
    size_t new_sectors = 0;
    for (size_t s = 0; s < kSectors; ++s) {
      const uint8_t first = got[s * kDiskSectorBytes];
      REQUIRE((first == 0xAA || first == 0xBB));
      for (size_t i = 0; i < kDiskSectorBytes; ++i) REQUIRE(got[s * kDiskSectorBytes + i] == first);
      if (first == 0xBB) ++new_sectors;
    }
    if (new_sectors > 0 && new_sectors < kSectors) saw_mixed = true;
    if (new_sectors == 0) saw_all_old = true;
  }
  CHECK(saw_mixed);
  CHECK(saw_all_old);
}

TEST_CASE("torn appends never invent bytes", "[sim][disk]") {
  for (uint64_t seed = 0; seed < 30; ++seed) {
    SimDisk d(rnd(200 + seed));
    auto f = must_open(d, "wal");
    REQUIRE(d.sync_dir());
    REQUIRE(f->pwrite(0, filled(700, 1)));
    REQUIRE(f->fsync());
    REQUIRE(f->pwrite(700, filled(1500, 2)));
    REQUIRE(f->pwrite(2200, filled(300, 3)));
    d.crash();
    auto got = contents(d, "wal");
    REQUIRE(got.size() >= 700);
    for (size_t i = 0; i < 700; ++i) REQUIRE(got[i] == 1);
    for (size_t i = 700; i < got.size(); ++i) {
      const uint8_t want = i < 2200 ? 2 : 3;
      REQUIRE((got[i] == want || got[i] == 0));
    }
  }
}

TEST_CASE("EIO and ENOSPC are injected and write nothing", "[sim][disk]") {
  SimDisk d(rnd(5));
  auto f = must_open(d, "x");
  d.set_faults(DiskFaults{.write_eio = 1.0});
  CHECK(f->pwrite(0, filled(10, 1)).code() == Errc::io_error);
  CHECK(*f->size() == 0);
  d.set_faults(DiskFaults{.capacity_bytes = 100});
  REQUIRE(f->pwrite(0, filled(100, 1)));
  CHECK(f->pwrite(100, filled(1, 1)).code() == Errc::no_space);
  REQUIRE(f->pwrite(50, filled(50, 2)));  // overwrite needs no space
  CHECK(*f->size() == 100);
  d.set_faults(DiskFaults{.fsync_eio = 1.0});
  CHECK(f->fsync().code() == Errc::io_error);
  CHECK(d.sync_dir().code() == Errc::io_error);
  CHECK(d.counters().at("write_eio") == 1);
  CHECK(d.counters().at("no_space") == 1);
  CHECK(d.counters().at("fsync_eio") == 2);
}

TEST_CASE("data behind a failed fsync is not saved by a later fsync", "[sim][disk]") {
  size_t lost = 0;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    SimDisk d(rnd(300 + seed));
    auto f = must_open(d, "x");
    REQUIRE(d.sync_dir());
    REQUIRE(f->pwrite(0, filled(10, 1)));
    d.set_faults(DiskFaults{.fsync_eio = 1.0});
    CHECK(f->fsync().code() == Errc::io_error);
    d.set_faults(DiskFaults{});
    REQUIRE(f->fsync());  // "succeeds", as on Linux
    CHECK(contents(d, "x") == filled(10, 1));
    d.crash();
    if (contents(d, "x").empty()) ++lost;
  }
  CHECK(lost > 0);
}

TEST_CASE("bitrot corrupts returned bytes, never stored ones", "[sim][disk]") {
  SimDisk d(rnd(6));
  auto f = must_open(d, "b");
  REQUIRE(f->pwrite(0, filled(64, 0x55)));
  d.set_faults(DiskFaults{.read_bitrot = 1.0});
  std::vector<uint8_t> out(64);
  REQUIRE(*f->pread(0, out) == 64);
  int flipped = 0;
  for (uint8_t b : out) flipped += std::popcount(static_cast<uint8_t>(b ^ 0x55));
  CHECK(flipped == 1);
  d.set_faults(DiskFaults{});
  REQUIRE(*f->pread(0, out) == 64);
  CHECK(out == filled(64, 0x55));
}

TEST_CASE("namespace errors and names", "[sim][disk]") {
  SimDisk d(rnd(7));
  CHECK(d.open("../etc", OpenMode::create).code() == Errc::invalid);
  CHECK(d.open("missing", OpenMode::existing).code() == Errc::not_found);
  must_open(d, "b");
  must_open(d, "a");
  CHECK(d.open("a", OpenMode::create_exclusive).code() == Errc::exists);
  CHECK(d.rename("zz", "a").code() == Errc::not_found);
  CHECK(*d.list() == std::vector<std::string>{"a", "b"});
  CHECK(d.stat("a")->private_to_owner);
  d.wipe();
  CHECK(d.list()->empty());
}

TEST_CASE("disk latency sleeps the calling fiber; the disk survives restarts", "[sim][disk]") {
  World w(8);
  int64_t done_at_us = -1;
  int boots = 0;
  w.add_node(test::lambda_factory([&](Env& env, size_t) {
    ++boots;
    if (boots > 1) {
      // After the restart the synced file is still there.
      auto r = read_file(env.disk, "f", 100);
      REQUIRE(r);
      CHECK(r->size() == 3);
      return;
    }
    (void)env.runtime.spawn("io", [&] {
      // CHECK, not REQUIRE: a REQUIRE's exception cannot leave a fiber.
      auto f = env.disk.open("f", OpenMode::create);
      CHECK(f);
      if (!f) return;
      const bool ok = (*f)->pwrite(0, std::vector<uint8_t>{1, 2, 3}) && (*f)->fsync() && env.disk.sync_dir();
      CHECK(ok);
      if (!ok) return;
      done_at_us = w.now_us();
    });
  }));
  w.set_disk_faults(0, DiskFaults{.latency_us = 100, .fsync_latency_us = 2'000});
  w.start(0);
  w.run_until(100'000);
  // open + pwrite at 100 us each, fsync and sync_dir at 2 ms each.
  CHECK(done_at_us == 4'200);
  w.restart(0);
  CHECK(boots == 2);
}
