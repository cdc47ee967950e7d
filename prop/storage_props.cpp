// Properties of the storage log (core/storage):
//  * frame encode/decode round trip for any seq, offset, synced point and
//    payload;
//  * any truncation of a single-segment log recovers to a prefix of what
//    was appended (never a wrong record, never corruption);
//  * any single bit flip in a segment is detected: the log never serves a
//    record whose bytes differ from what was appended.
#include <catch2/catch.hpp>
#include <rapidcheck.h>
#include <rapidcheck/catch.h>

#include <vector>

#include "core/storage/append_log.h"
#include "core/storage/format.h"
#include "sim/disk_model.h"

using namespace meshd;
using namespace meshd::storage;

namespace {

// A one-segment log of `payloads`, synced after each batch boundary in
// `sync_at` (indices), and its segment's name.
std::string write_log(sim::SimDisk& d, const std::vector<std::vector<uint8_t>>& payloads, size_t sync_every) {
  LogOptions o;
  o.segment_bytes = 1 << 20;
  auto log = AppendLog::open(d, nullptr, nullptr, o);
  RC_ASSERT(log.is_ok());
  for (size_t i = 0; i < payloads.size(); ++i) {
    RC_ASSERT((*log)->append(payloads[i]).is_ok());
    if ((i + 1) % sync_every == 0) RC_ASSERT((*log)->sync().is_ok());
  }
  RC_ASSERT((*log)->sync().is_ok());
  return segment_name("log", kFirstSeq);
}

// Every record the log serves equals what was appended at that seq.
void check_served(sim::SimDisk& d, const std::vector<std::vector<uint8_t>>& payloads, bool allow_corruption) {
  auto log = AppendLog::open(d, nullptr, nullptr, LogOptions{});
  RC_ASSERT(log.is_ok());
  RC_ASSERT((*log)->next_seq() <= payloads.size() + 1);
  uint64_t expect = kFirstSeq;
  Status s = (*log)->scan(kFirstSeq, (*log)->next_seq(), [&](uint64_t seq, std::span<const uint8_t> p) {
    RC_ASSERT(seq == expect);
    ++expect;
    RC_ASSERT(std::vector<uint8_t>(p.begin(), p.end()) == payloads[seq - 1]);
    return true;
  });
  if (!allow_corruption) {
    RC_ASSERT(s.is_ok());
    RC_ASSERT(!(*log)->corruption());
  }
}

std::vector<std::vector<uint8_t>> gen_payloads() {
  return *rc::gen::container<std::vector<std::vector<uint8_t>>>(
      *rc::gen::inRange<size_t>(1, 30), rc::gen::container<std::vector<uint8_t>>(*rc::gen::inRange<size_t>(0, 200),
                                                                                 rc::gen::arbitrary<uint8_t>()));
}

}  // namespace

TEST_CASE("storage props", "[storage][prop]") {
  rc::prop("frame encode/decode round trip", [] {
    const auto seq = *rc::gen::arbitrary<uint64_t>();
    const auto offset = *rc::gen::arbitrary<uint32_t>();
    const auto synced = *rc::gen::arbitrary<uint32_t>();
    const auto payload = *rc::gen::container<std::vector<uint8_t>>(*rc::gen::inRange<size_t>(0, 3000),
                                                                   rc::gen::arbitrary<uint8_t>());
    auto bytes = encode_frame(seq, offset, synced, payload);
    const auto trailing = *rc::gen::container<std::vector<uint8_t>>(rc::gen::arbitrary<uint8_t>());
    bytes.insert(bytes.end(), trailing.begin(), trailing.end());
    FrameView f;
    RC_ASSERT(decode_frame(bytes, f) == FrameStatus::ok);
    RC_ASSERT(f.seq == seq);
    RC_ASSERT(f.offset == offset);
    RC_ASSERT(f.synced_through == synced);
    RC_ASSERT(std::vector<uint8_t>(f.payload.begin(), f.payload.end()) == payload);
    RC_ASSERT(f.frame_bytes == kRecordHeaderBytes + payload.size());
  });

  rc::prop("any truncation of a segment recovers to a prefix", [] {
    const auto payloads = gen_payloads();
    sim::SimDisk d(Random::from_seed(*rc::gen::arbitrary<uint64_t>()));
    const std::string name = write_log(d, payloads, *rc::gen::inRange<size_t>(1, 8));
    auto bytes = d.current_bytes(name);
    RC_ASSERT(bytes.is_ok());
    const auto keep = *rc::gen::inRange<size_t>(0, bytes->size() + 1);
    {
      auto f = d.open(name, OpenMode::existing);
      RC_ASSERT(f.is_ok());
      RC_ASSERT((*f)->truncate(keep).is_ok());
      RC_ASSERT((*f)->fsync().is_ok());
    }
    // A cut inside the header leaves an unreadable header: reported, not served.
    check_served(d, payloads, keep < kSegmentHeaderBytes);
  });

  rc::prop("any single bit flip is detected, never served", [] {
    const auto payloads = gen_payloads();
    sim::SimDisk d(Random::from_seed(*rc::gen::arbitrary<uint64_t>()));
    const std::string name = write_log(d, payloads, *rc::gen::inRange<size_t>(1, 8));
    auto bytes = d.current_bytes(name);
    RC_ASSERT(bytes.is_ok());
    const auto bit = *rc::gen::inRange<uint64_t>(0, bytes->size() * 8);
    {
      auto f = d.open(name, OpenMode::existing);
      RC_ASSERT(f.is_ok());
      uint8_t b = (*bytes)[bit / 8] ^ static_cast<uint8_t>(1u << (bit % 8));
      RC_ASSERT((*f)->pwrite(bit / 8, std::span(&b, 1)).is_ok());
      RC_ASSERT((*f)->fsync().is_ok());
    }
    check_served(d, payloads, true);
  });
}
