// SimDisk: a simulated node's data directory with crash semantics and
// injected faults. Implements the full contract of core/env/disk.h.
//
// State model (per file = inode):
//  * `data`     what reads see now (every successful pwrite/truncate);
//  * `durable`  what survives a crash;
//  * `pending`  the unsynced ops (pwrite/truncate) since the last fsync, in
//               order. A successful fsync() applies them to `durable`.
// Namespace: `names` (current) and `durable_names` (as of the last
// successful sync_dir()); create/rename/unlink change only `names`.
// Inodes are shared between the two maps and open Files, so an unlinked
// file stays durable until sync_dir() and an open handle keeps working.
//
// crash(): names := durable_names; for each surviving inode, data :=
// durable + a random prefix of its pending ops (torn_writes only), and,
// with probability 1/2, the next pending pwrite lands torn: each 512-byte
// sector it touches (aligned to the file offset) independently new or old.
// With torn_writes = false every pending op is lost. Random prefix models the page
// cache having written back some of the dirty data before the crash. All
// choices come from the disk's own stream ("disk","crash"). Files opened
// before a crash return Errc::closed afterwards.
// fsync() failing (fsync_eio) makes a random prefix of the pending ops
// durable and forgets the rest: they stay readable but are lost on the next
// crash even if a later fsync succeeds (Linux's "clean after EIO" pages).
// Lost fsync errors (fsync_lost_error): the same loss as fsync_eio, but
// fsync() returns ok — the error went to someone else (the 2018 Linux
// behaviour where another fd's fsync consumed it). Nothing can detect this
// at fsync time; storage can only notice later data that vouches for it.
// Misdirected writes (misdirected_write): the pwrite reports success but
// its bytes land at another sector-aligned offset (in [0, offset + 512]),
// leaving the intended range unchanged — a firmware/controller fault.
// pwrite() failing with write_eio writes nothing. ENOSPC (capacity_bytes
// over the sum of file sizes) writes nothing. Bit rot flips one bit of the
// data *returned* by a pread (never the stored bytes).
// Latency: when called inside a fiber of the attached Runtime, operations
// sleep latency_us (fsync and sync_dir: fsync_latency_us) before acting; a
// crash during the sleep means the operation never happened. Outside a
// fiber they complete inline. Limits: file size kFileBytesMax, kFilesMax
// files. Not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/env/disk.h"
#include "core/env/random.h"
#include "core/env/runtime.h"

namespace meshd::sim {

struct DiskFaults {
  double read_bitrot = 0;
  double write_eio = 0;
  double fsync_eio = 0;
  double fsync_lost_error = 0;   // fsync reports ok but drops the unsynced tail
  double misdirected_write = 0;  // a pwrite lands at the wrong offset
  uint64_t capacity_bytes = UINT64_MAX;
  bool torn_writes = true;
  int64_t latency_us = 0;
  int64_t fsync_latency_us = 0;
};

class SimDisk final : public meshd::Disk {
 public:
  static constexpr uint64_t kFileBytesMax = uint64_t{1} << 32;  // 4 GiB per file
  static constexpr size_t kFilesMax = 100'000;
  static constexpr size_t kPendingOpsMax = 1'000'000;  // unsynced ops per file before a forced merge

  // `node_random` is the node's Random; the disk derives its own streams.
  explicit SimDisk(const Random& node_random);
  ~SimDisk() override;
  SimDisk(const SimDisk&) = delete;
  SimDisk& operator=(const SimDisk&) = delete;

  // --- meshd::Disk --------------------------------------------------------
  Result<std::unique_ptr<File>> open(std::string_view name, OpenMode mode) override;
  Result<FileInfo> stat(std::string_view name) override;
  Status rename(std::string_view from, std::string_view to) override;
  Status unlink(std::string_view name) override;
  Result<std::vector<std::string>> list() override;
  Status sync_dir() override;

  // --- simulator controls ---------------------------------------------------
  void crash();                       // apply crash semantics (see above)
  void wipe();                        // every file gone, durable too
  void set_faults(const DiskFaults& faults) { faults_ = faults; }
  const DiskFaults& faults() const { return faults_; }
  // The runtime whose fibers sleep for latency (nullptr: never sleep).
  void attach_runtime(Runtime* runtime) { runtime_ = runtime; }
  // reads, writes, fsyncs, sync_dirs, bitrot, write_eio, fsync_eio, no_space,
  // crashes, torn_writes, lost_ops (pending ops discarded by crashes),
  // fsync_errors_lost, misdirected_writes.
  const std::map<std::string, uint64_t>& counters() const { return counters_; }
  uint64_t used_bytes() const;
  // Test/inspection helpers: the current and durable bytes of a file
  // (nullopt-like empty result via Errc::not_found).
  Result<std::vector<uint8_t>> current_bytes(std::string_view name) const;
  Result<std::vector<uint8_t>> durable_bytes(std::string_view name) const;
  uint64_t epoch() const { return epoch_; }

 private:
  friend class SimFile;
  struct Op {
    bool is_truncate = false;
    uint64_t offset = 0;        // pwrite offset or truncate size
    std::vector<uint8_t> data;  // pwrite bytes
  };
  struct Inode {
    std::vector<uint8_t> data;
    std::vector<uint8_t> durable;
    std::vector<Op> pending;
  };
  using InodePtr = std::shared_ptr<Inode>;

  static void apply(std::vector<uint8_t>& image, const Op& op);
  void apply_torn(std::vector<uint8_t>& image, const Op& op);
  void delay(int64_t latency_us);
  void bump(const char* counter) { ++counters_[counter]; }

  // File-level operations, called by SimFile.
  Result<size_t> file_pread(Inode& inode, uint64_t offset, std::span<uint8_t> out);
  Status file_pwrite(Inode& inode, uint64_t offset, std::span<const uint8_t> data);
  Status file_truncate(Inode& inode, uint64_t size_bytes);
  Status file_fsync(Inode& inode);

  RandomStream fault_rng_;
  RandomStream crash_rng_;
  DiskFaults faults_;
  Runtime* runtime_ = nullptr;
  std::map<std::string, InodePtr, std::less<>> names_;
  std::map<std::string, InodePtr, std::less<>> durable_names_;
  std::map<std::string, uint64_t> counters_;
  uint64_t epoch_ = 0;  // bumped by crash()/wipe(): older File handles are closed
};

}  // namespace meshd::sim
