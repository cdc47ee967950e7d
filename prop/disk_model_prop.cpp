// Property: SimDisk against a simple in-memory reference model.
//
// Random sequences of create / pwrite / truncate / fsync / rename / unlink /
// sync_dir over three names, then a crash. Before the crash the disk must
// read exactly like the reference. After it:
//  * the names present are exactly those of the last synced directory;
//  * every byte no unsynced op touched equals the reference's durable
//    image (fsynced bytes survive);
//  * every other byte is its durable value, a value some unsynced pwrite
//    put at that position, or 0 (a hole) — nothing is invented;
//  * without unsynced truncates the file is no shorter than its durable
//    image, and never longer than the largest size it reached;
//  * the state after the crash is itself durable once synced.
#include <catch2/catch.hpp>
#include <rapidcheck.h>
#include <rapidcheck/catch.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sim/disk_model.h"

using namespace meshd;
using namespace meshd::sim;

namespace {
constexpr size_t kFileBytesMaxProp = 6000;
const char* const kNames[] = {"a", "b", "c"};

struct RefInode {
  std::vector<uint8_t> cur;
  std::vector<uint8_t> durable;
  std::vector<uint16_t> pending_values;  // bit v set: value v written there unsynced
  bool pending_truncate = false;
  size_t size_max_since_sync = 0;
};
using RefPtr = std::shared_ptr<RefInode>;

struct Ref {
  std::map<std::string, RefPtr> names;
  std::map<std::string, RefPtr> durable_names;
};

std::vector<uint8_t> read_all(SimDisk& d, const std::string& name) {
  auto r = read_file(d, name, 1 << 20);
  RC_ASSERT(r.is_ok());
  return *r;
}
}  // namespace

TEST_CASE("SimDisk matches a reference model across crashes", "[prop][sim][disk]") {
  rc::prop("sim disk vs reference", [] {
    SimDisk disk(Random::from_seed(*rc::gen::arbitrary<uint64_t>()));
    Ref ref;
    std::map<std::string, std::unique_ptr<File>> handles;  // name -> open handle
    const int ops = *rc::gen::inRange(1, 80);
    for (int i = 0; i < ops; ++i) {
      const std::string name = kNames[*rc::gen::inRange(0, 3)];
      const int kind = *rc::gen::inRange(0, 10);
      auto handle = [&]() -> File* {
        if (!ref.names.count(name)) return nullptr;
        if (!handles.count(name) || !handles[name]) {
          auto f = disk.open(name, OpenMode::existing);
          RC_ASSERT(f.is_ok());
          handles[name] = std::move(*f);
        }
        return handles[name].get();
      };
      if (kind == 0) {  // create
        auto f = disk.open(name, OpenMode::create);
        RC_ASSERT(f.is_ok());
        if (!ref.names.count(name)) ref.names[name] = std::make_shared<RefInode>();
        handles[name] = std::move(*f);
      } else if (kind <= 4) {  // pwrite
        File* f = handle();
        if (f == nullptr) continue;
        const size_t offset = *rc::gen::inRange<size_t>(0, 4000);
        const size_t len = *rc::gen::inRange<size_t>(1, 2000);
        const uint8_t value = static_cast<uint8_t>(*rc::gen::inRange(1, 16));
        RC_ASSERT(f->pwrite(offset, std::vector<uint8_t>(len, value)).is_ok());
        RefInode& r = *ref.names[name];
        if (r.cur.size() < offset + len) r.cur.resize(offset + len, 0);
        if (r.pending_values.size() < offset + len) r.pending_values.resize(offset + len, 0);
        for (size_t k = offset; k < offset + len; ++k) {
          r.cur[k] = value;
          r.pending_values[k] |= static_cast<uint16_t>(1u << value);
        }
        r.size_max_since_sync = std::max(r.size_max_since_sync, r.cur.size());
      } else if (kind == 5) {  // truncate
        File* f = handle();
        if (f == nullptr) continue;
        const size_t size = *rc::gen::inRange<size_t>(0, kFileBytesMaxProp);
        RC_ASSERT(f->truncate(size).is_ok());
        RefInode& r = *ref.names[name];
        r.cur.resize(size, 0);
        r.pending_truncate = true;
        r.size_max_since_sync = std::max(r.size_max_since_sync, r.cur.size());
      } else if (kind == 6) {  // fsync
        File* f = handle();
        if (f == nullptr) continue;
        RC_ASSERT(f->fsync().is_ok());
        RefInode& r = *ref.names[name];
        r.durable = r.cur;
        r.pending_values.clear();
        r.pending_truncate = false;
        r.size_max_since_sync = r.cur.size();
      } else if (kind == 7) {  // rename
        const std::string to = kNames[*rc::gen::inRange(0, 3)];
        Status s = disk.rename(name, to);
        if (!ref.names.count(name)) {
          RC_ASSERT(s.code() == Errc::not_found);
          continue;
        }
        RC_ASSERT(s.is_ok());
        if (to != name) {
          ref.names[to] = ref.names[name];
          ref.names.erase(name);
          handles[to] = std::move(handles[name]);
          handles.erase(name);
        }
      } else if (kind == 8) {  // unlink
        Status s = disk.unlink(name);
        RC_ASSERT(s.is_ok() == (ref.names.count(name) == 1));
        ref.names.erase(name);
        handles.erase(name);
      } else {  // sync_dir
        RC_ASSERT(disk.sync_dir().is_ok());
        ref.durable_names = ref.names;
      }
    }
    // Before the crash: reads see every write.
    auto listed = disk.list();
    RC_ASSERT(listed.is_ok());
    RC_ASSERT(listed->size() == ref.names.size());
    for (const auto& [name, r] : ref.names) RC_ASSERT(read_all(disk, name) == r->cur);

    handles.clear();
    disk.crash();

    listed = disk.list();
    RC_ASSERT(listed.is_ok());
    std::vector<std::string> want_names;
    for (const auto& [name, r] : ref.durable_names) want_names.push_back(name);
    RC_ASSERT(*listed == want_names);
    std::map<std::string, std::vector<uint8_t>> after;
    for (const auto& [name, rp] : ref.durable_names) {
      const RefInode& r = *rp;
      const std::vector<uint8_t> got = read_all(disk, name);
      if (!r.pending_truncate) RC_ASSERT(got.size() >= r.durable.size());
      RC_ASSERT(got.size() <= std::max(r.size_max_since_sync, r.durable.size()));
      for (size_t k = 0; k < got.size(); ++k) {
        const uint16_t pending = k < r.pending_values.size() ? r.pending_values[k] : 0;
        const bool touched = pending != 0 || r.pending_truncate;
        if (!touched && k < r.durable.size()) {
          RC_ASSERT(got[k] == r.durable[k]);
          continue;
        }
        const bool is_durable = k < r.durable.size() && got[k] == r.durable[k];
        const bool is_written = got[k] < 16 && (pending & (1u << got[k])) != 0;
        RC_ASSERT(is_durable || is_written || got[k] == 0);
      }
      after[name] = got;
    }
    // What survived is now the durable state.
    for (const auto& [name, bytes] : after) {
      auto f = disk.open(name, OpenMode::existing);
      RC_ASSERT(f.is_ok());
      RC_ASSERT((*f)->fsync().is_ok());
    }
    disk.crash();
    for (const auto& [name, bytes] : after) RC_ASSERT(read_all(disk, name) == bytes);
  });
}
