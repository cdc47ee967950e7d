// SimDisk faults added for storage: misdirected writes, lost fsync errors.
#include <catch2/catch.hpp>

#include "core/env/random.h"
#include "sim/disk_model.h"

using namespace meshd;
using meshd::sim::DiskFaults;
using meshd::sim::SimDisk;

TEST_CASE("sim disk: a misdirected write reports ok but lands elsewhere", "[storage][sim][disk]") {
  SimDisk d(Random::from_seed(1));
  auto f = d.open("a", OpenMode::create);
  REQUIRE(f);
  std::vector<uint8_t> zeros(4096, 0), ones(512, 1);
  REQUIRE((*f)->pwrite(0, zeros));
  d.set_faults(DiskFaults{.misdirected_write = 1.0});
  REQUIRE((*f)->pwrite(2048, ones));
  CHECK(d.counters().at("misdirected_writes") == 1);
  auto bytes = d.current_bytes("a");
  REQUIRE(bytes);
  // The intended range is untouched; the bytes are somewhere else, sector-aligned.
  CHECK(std::all_of(bytes->begin() + 2048, bytes->begin() + 2560, [](uint8_t b) { return b == 0; }));
  size_t ones_found = 0;
  for (uint8_t b : *bytes) ones_found += b == 1;
  CHECK(ones_found == 512);
}

TEST_CASE("sim disk: a lost fsync error says ok but the data does not survive", "[storage][sim][disk]") {
  SimDisk d(Random::from_seed(2));
  d.set_faults(DiskFaults{.torn_writes = false});
  auto f = d.open("a", OpenMode::create);
  REQUIRE(f);
  REQUIRE(d.sync_dir());
  std::vector<uint8_t> data(100, 7);
  uint64_t lost = 0;
  for (int i = 0; i < 20; ++i) {
    REQUIRE((*f)->pwrite(static_cast<uint64_t>(i) * 100, data));
    REQUIRE((*f)->pwrite(static_cast<uint64_t>(i) * 100 + 50, data));
    d.set_faults(DiskFaults{.fsync_lost_error = 1.0, .torn_writes = false});
    CHECK((*f)->fsync().is_ok());
    d.set_faults(DiskFaults{.torn_writes = false});
  }
  lost = d.counters().at("lost_ops");
  CHECK(d.counters().at("fsync_errors_lost") == 20);
  CHECK(lost > 0);  // some of the 40 writes never became durable
  CHECK(d.durable_bytes("a")->size() < d.current_bytes("a")->size() + 1);
}
