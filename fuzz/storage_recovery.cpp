// Fuzz target: the whole recovery path on arbitrary segment bytes.
// The input is split at the first "\n--\n" into up to two segment files
// (first seqs 1 and 1 + the input's first byte), put in a SimDisk, then:
// AppendLog::open, read everything back, verify_log (read-only) and
// repair_truncate_after_corruption. Invariants: no crash, no UB; the log
// serves a dense run of seqs whose every frame is valid; verify after
// repair is clean; the repaired log opens without corruption and appends.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "core/env/random.h"
#include "core/storage/append_log.h"
#include "core/storage/inspect.h"
#include "sim/disk_model.h"

namespace {
void put(meshd::sim::SimDisk& d, const std::string& name, std::span<const uint8_t> bytes) {
  auto f = d.open(name, meshd::OpenMode::create);
  if (!f) std::abort();
  if (!bytes.empty() && !(*f)->pwrite(0, bytes)) std::abort();
  if (!(*f)->fsync()) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace meshd;
  using namespace meshd::storage;
  if (size > (1u << 20)) return 0;
  sim::SimDisk disk(Random::from_seed(1));
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const size_t cut = text.find("\n--\n");
  put(disk, segment_name("log", 1), std::span(data, cut == std::string_view::npos ? size : cut));
  if (cut != std::string_view::npos && size > 0) {
    put(disk, segment_name("log", 1 + data[0]), std::span(data + cut + 4, size - cut - 4));
  }
  if (!disk.sync_dir()) std::abort();
  LogOptions o;
  o.segment_bytes = kSegmentBytesMin;
  {
    auto log = AppendLog::open(disk, nullptr, nullptr, o);
    if (log) {
      uint64_t expect = (*log)->first_seq();
      Status s = (*log)->scan((*log)->first_seq(), (*log)->next_seq(), [&](uint64_t seq, std::span<const uint8_t>) {
        if (seq != expect++) std::abort();
        return true;
      });
      if (!s && s.code() != Errc::corrupt) std::abort();
    }
  }
  auto rep = verify_log(disk, "log");
  if (!rep) return 0;
  auto fixed = repair_truncate_after_corruption(disk, "log");
  if (!fixed) std::abort();
  auto again = verify_log(disk, "log");
  if (!again || !again->clean() || again->torn_tail) std::abort();
  auto log = AppendLog::open(disk, nullptr, nullptr, o);
  if (!log || (*log)->corruption()) std::abort();
  const uint8_t one = 1;
  if (!(*log)->append(std::span(&one, 1))) std::abort();
  if (!(*log)->sync()) std::abort();
  return 0;
}
