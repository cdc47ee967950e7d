// AppendLog: appends, reads, rotation, recovery, corruption, failure.
#include <catch2/catch.hpp>

#include "core/storage/crc32c.h"
#include "tests/storage/storage_test_util.h"

using namespace meshd;
using namespace meshd::storage;
using namespace meshd::storage::test;
using meshd::sim::DiskFaults;
using meshd::sim::SimDisk;

namespace {
Random rnd(uint64_t seed) { return Random::from_seed(seed); }

LogOptions small_segments(SyncPolicy sync = SyncPolicy::group) {
  LogOptions o;
  o.segment_bytes = 4096;
  o.sync = sync;
  o.index_stride_records = 4;
  return o;
}

std::vector<std::string> segment_names(SimDisk& d) {
  auto names = d.list();
  REQUIRE(names);
  std::vector<std::string> out;
  for (auto& n : *names) if (parse_segment_name("log", n)) out.push_back(n);
  return out;
}

void flip_bit(SimDisk& d, const std::string& name, uint64_t offset, int bit) {
  auto f = d.open(name, OpenMode::existing);
  REQUIRE(f);
  uint8_t b = 0;
  REQUIRE((*f)->pread(offset, std::span(&b, 1)));
  b ^= static_cast<uint8_t>(1u << bit);
  REQUIRE((*f)->pwrite(offset, std::span(&b, 1)));
  REQUIRE((*f)->fsync());
}
}  // namespace

TEST_CASE("crc32c: known vectors, hardware and portable agree", "[storage][crc]") {
  const std::string s = "123456789";
  const auto b = std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  CHECK(crc32c(b) == 0xe3069283u);
  CHECK(crc32c_extend_portable(0, b) == 0xe3069283u);
  std::vector<uint8_t> zeros(32, 0);
  CHECK(crc32c(zeros) == 0x8a9136aau);  // RFC 3720 B.4
  std::vector<uint8_t> big = payload_for(7, 100'003);
  for (size_t cut : {size_t{0}, size_t{1}, size_t{7}, size_t{8}, size_t{4097}, big.size()}) {
    auto part = std::span(big.data(), cut);
    CHECK(crc32c(part) == crc32c_extend_portable(0, part));
    CHECK(crc32c_extend(crc32c(part), std::span(big).subspan(cut)) == crc32c(big));
  }
  CHECK(crc_unmask(crc_mask(0x12345678u)) == 0x12345678u);
  CHECK(crc_mask(0) != 0);
}

TEST_CASE("storage: append, read back, reopen", "[storage]") {
  SimDisk d(rnd(1));
  {
    auto log = must_open(d, small_segments());
    for (uint64_t i = 0; i < 200; ++i) {
      auto seq = log->append(payload_for(i + 1, (i * 37) % 300));
      REQUIRE(seq);
      CHECK(*seq == i + 1);
    }
    CHECK(log->durable_end() < 201);  // only rotations fsynced so far
    // Reads see buffered records too.
    CHECK(*log->read(200) == payload_for(200, (199 * 37) % 300));
    REQUIRE(log->sync());
    CHECK(log->durable_end() == 201);
    CHECK(log->segment_count() > 5);  // rotated
    CHECK(log->read(0).code() == Errc::not_found);
    CHECK(log->read(201).code() == Errc::not_found);
    for (uint64_t s : {1, 2, 5, 77, 150, 200}) CHECK(*log->read(s) == payload_for(s, ((s - 1) * 37) % 300));
  }
  d.crash();
  auto log = must_open(d, small_segments());
  CHECK(log->next_seq() == 201);
  CHECK(log->durable_end() == 201);
  CHECK(log->recovery().torn_tails == 0);
  auto all = read_all(*log);
  REQUIRE(all.size() == 200);
  for (uint64_t i = 0; i < 200; ++i) CHECK(all[i] == payload_for(i + 1, (i * 37) % 300));
  CHECK(*log->append(payload_for(201, 10)) == 201);
}

TEST_CASE("storage: records over the limit are refused", "[storage]") {
  SimDisk d(rnd(2));
  auto log = must_open(d);
  std::vector<uint8_t> big(kRecordPayloadBytesMax + 1);
  CHECK(log->append(big).code() == Errc::too_large);
  big.pop_back();
  CHECK(log->append(big).is_ok());
  CHECK(log->sync());
  CHECK(log->read(1)->size() == kRecordPayloadBytesMax);
}

TEST_CASE("storage: every policy is durable on return; none is not", "[storage]") {
  SimDisk d(rnd(3));
  d.set_faults(DiskFaults{.torn_writes = false});
  {
    auto log = must_open(d, small_segments(SyncPolicy::every));
    for (uint64_t i = 1; i <= 10; ++i) REQUIRE(log->append(payload_for(i, 50)));
    CHECK(log->durable_end() == 11);
  }
  d.crash();
  {
    LogOptions o = small_segments(SyncPolicy::none);
    o.batch_bytes_max = 100;  // forces writes, never fsyncs
    auto log = must_open(d, o);
    CHECK(log->next_seq() == 11);
    for (uint64_t i = 11; i <= 20; ++i) REQUIRE(log->append(payload_for(i, 50)));
    CHECK(log->durable_end() == 11);
  }
  d.crash();  // no torn writes: every unsynced write is lost
  auto log = must_open(d, small_segments());
  CHECK(log->next_seq() == 11);
  CHECK(read_all(*log).size() == 10);
}

TEST_CASE("storage: a torn tail is cut and counted, a durable prefix kept", "[storage]") {
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    SimDisk d(rnd(seed));
    uint64_t durable = 0;
    {
      auto log = must_open(d, small_segments());
      for (uint64_t i = 1; i <= 30; ++i) {
        REQUIRE(log->append(payload_for(i, 100)));
        if (i % 7 == 0) REQUIRE(log->flush());
        if (i == 15) REQUIRE(log->sync());
      }
      durable = log->durable_end();
      REQUIRE(durable == 16);
    }
    d.crash();
    auto log = must_open(d, small_segments());
    INFO("seed " << seed);
    CHECK(!log->corruption());
    CHECK(log->next_seq() >= durable);
    auto all = read_all(*log);
    for (size_t i = 0; i < all.size(); ++i) CHECK(all[i] == payload_for(i + 1, 100));
  }
}

TEST_CASE("storage: a flipped bit before the tail is reported, never served", "[storage]") {
  SimDisk d(rnd(4));
  LogOptions o = small_segments();
  o.segment_bytes = 1 << 20;  // one segment
  {
    auto log = must_open(d, o);
    for (uint64_t i = 1; i <= 20; ++i) {
      REQUIRE(log->append(payload_for(i, 100)));
      if (i == 10 || i == 20) REQUIRE(log->sync());
    }
  }
  auto names = segment_names(d);
  REQUIRE(names.size() == 1);
  SECTION("damage inside the last batch cannot be told from a torn write") {
    // Record 15 is in the last batch: no later record vouches that it was
    // durable, so it is cut as a torn tail (never served, counted).
    flip_bit(d, names[0], 32 + 14 * 124 + 40, 3);
    auto log = must_open(d, o);
    CHECK(!log->corruption());
    CHECK(log->recovery().torn_tails == 1);
    CHECK(log->recovery().torn_tail_bytes == 6 * 124);
    CHECK(log->next_seq() == 15);
    CHECK(read_all(*log).size() == 14);
    return;
  }
  // Record 5 starts at 32 + 4 * 124; flip a payload bit.
  flip_bit(d, names[0], 32 + 4 * 124 + 40, 3);
  auto log = must_open(d, o);
  REQUIRE(log->corruption());
  CHECK(log->corruption()->segment == names[0]);
  CHECK(log->corruption()->offset == 32 + 4 * 124);
  CHECK(log->corruption()->seq == 5);
  CHECK(log->health() == LogHealth::corrupt);
  CHECK(*log->read(4) == payload_for(4, 100));
  CHECK(log->read(5).code() == Errc::corrupt);
  CHECK(log->read(6).code() != Errc::ok);
  CHECK(log->append(payload_for(21, 1)).code() == Errc::corrupt);
}

TEST_CASE("storage: corruption in a sealed segment is found on read", "[storage]") {
  SimDisk d(rnd(5));
  {
    auto log = must_open(d, small_segments());
    for (uint64_t i = 1; i <= 100; ++i) REQUIRE(log->append(payload_for(i, 100)));
    REQUIRE(log->sync());
  }
  auto names = segment_names(d);
  REQUIRE(names.size() >= 3);
  flip_bit(d, names[1], 32 + 2 * 124 + 30, 0);
  const uint64_t first1 = *parse_segment_name("log", names[1]);
  auto log = must_open(d, small_segments());
  CHECK(!log->corruption());  // open reads only the last segment
  CHECK(*log->read(first1 + 1) == payload_for(first1 + 1, 100));
  CHECK(log->read(first1 + 2).code() == Errc::corrupt);
  REQUIRE(log->corruption());
  CHECK(log->corruption()->seq == first1 + 2);
  CHECK(log->read(first1 + 5).code() == Errc::corrupt);
  // verify_on_open finds it at open.
  LogOptions o = small_segments();
  o.verify_on_open = true;
  auto log2 = must_open(d, o);
  REQUIRE(log2->corruption());
  CHECK(log2->corruption()->segment == names[1]);
}

TEST_CASE("storage: a failed fsync fails the log for good", "[storage]") {
  SimDisk d(rnd(6));
  auto log = must_open(d, small_segments());
  REQUIRE(log->append(payload_for(1, 10)));
  REQUIRE(log->sync());
  d.set_faults(DiskFaults{.fsync_eio = 1.0});
  REQUIRE(log->append(payload_for(2, 10)));
  CHECK(log->sync().code() == Errc::io_error);
  CHECK(log->health() == LogHealth::failed);
  d.set_faults(DiskFaults{});
  // Never retried into a false success.
  CHECK(log->sync().code() == Errc::io_error);
  CHECK(log->wait_durable(2).code() == Errc::io_error);
  CHECK(log->wait_durable(1).is_ok());  // durable before the failure
  CHECK(log->append(payload_for(3, 10)).code() == Errc::io_error);
  CHECK(log->durable_end() == 2);
  CHECK(*log->read(1) == payload_for(1, 10));
}

TEST_CASE("storage: prefix truncation and retention delete whole old segments", "[storage]") {
  SimDisk d(rnd(7));
  LogOptions o = small_segments();
  o.now_ms = 1000;
  auto log = must_open(d, o);
  for (uint64_t i = 1; i <= 200; ++i) REQUIRE(log->append(payload_for(i, 100)));
  REQUIRE(log->sync());
  const size_t before = log->segment_count();
  REQUIRE(log->truncate_prefix(50));
  CHECK(log->first_seq() <= 50);
  CHECK(log->first_seq() > 1);
  CHECK(log->segment_count() < before);
  CHECK(*log->read(50) == payload_for(50, 100));
  CHECK(log->read(1).code() == Errc::not_found);
  // Retention never deletes past what a snapshot replaced.
  REQUIRE(log->retain(Retention{.max_bytes = 0}, 100, 0));
  CHECK(log->first_seq() <= 100);
  CHECK(*log->read(100) == payload_for(100, 100));
  REQUIRE(log->retain(Retention{.max_bytes = 0}, UINT64_MAX, 0));
  CHECK(log->segment_count() == 1);
  d.crash();
  auto again = must_open(d, o);
  CHECK(again->first_seq() == log->first_seq());
  CHECK(again->next_seq() == 201);
}

TEST_CASE("storage: a new segment whose header never became durable is removed", "[storage]") {
  SimDisk d(rnd(8));
  {
    auto log = must_open(d, small_segments());
    for (uint64_t i = 1; i <= 100; ++i) REQUIRE(log->append(payload_for(i, 100)));
    REQUIRE(log->sync());
  }
  auto names = segment_names(d);
  REQUIRE(names.size() >= 2);
  {
    auto f = d.open(names.back(), OpenMode::existing);
    REQUIRE(f);
    REQUIRE((*f)->truncate(0));  // as if the crash came before the header write
    REQUIRE((*f)->fsync());
  }
  const uint64_t last_first = *parse_segment_name("log", names.back());
  auto log = must_open(d, small_segments());
  CHECK(log->recovery().empty_segments_removed == 1);
  CHECK(!log->corruption());
  CHECK(log->next_seq() == last_first);
  for (uint64_t i = last_first; i < last_first + 50; ++i) REQUIRE(log->append(payload_for(i, 100)));
  REQUIRE(log->sync());
  CHECK(read_all(*log).size() == last_first + 49);
}
