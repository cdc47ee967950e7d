#include "sim/disk_model.h"

#include <algorithm>
#include <cstring>

#include "core/env/assert.h"

namespace meshd::sim {

// A handle on one inode. Valid until the disk crashes or is wiped (then
// every call returns Errc::closed, as the process that opened it is gone).
class SimFile final : public File {
 public:
  SimFile(SimDisk& disk, std::shared_ptr<SimDisk::Inode> inode)
      : disk_(disk), inode_(std::move(inode)), epoch_(disk.epoch()) {}

  Result<size_t> pread(uint64_t offset, std::span<uint8_t> out) override {
    if (stale()) return Status(Errc::closed);
    disk_.delay(disk_.faults_.latency_us);
    if (stale()) return Status(Errc::closed);
    return disk_.file_pread(*inode_, offset, out);
  }
  Status pwrite(uint64_t offset, std::span<const uint8_t> data) override {
    if (stale()) return Status(Errc::closed);
    disk_.delay(disk_.faults_.latency_us);
    if (stale()) return Status(Errc::closed);
    return disk_.file_pwrite(*inode_, offset, data);
  }
  Status truncate(uint64_t size_bytes) override {
    if (stale()) return Status(Errc::closed);
    disk_.delay(disk_.faults_.latency_us);
    if (stale()) return Status(Errc::closed);
    return disk_.file_truncate(*inode_, size_bytes);
  }
  Result<uint64_t> size() override {
    if (stale()) return Status(Errc::closed);
    return static_cast<uint64_t>(inode_->data.size());
  }
  Status fsync() override {
    if (stale()) return Status(Errc::closed);
    disk_.delay(disk_.faults_.fsync_latency_us);
    if (stale()) return Status(Errc::closed);
    return disk_.file_fsync(*inode_);
  }
  // The model makes contents and size durable either way (core/env/disk.h):
  // same faults, same latency, same random draws as fsync.
  Status datasync() override { return fsync(); }

 private:
  bool stale() const { return epoch_ != disk_.epoch(); }
  SimDisk& disk_;
  std::shared_ptr<SimDisk::Inode> inode_;
  uint64_t epoch_;
};

SimDisk::SimDisk(const Random& node_random)
    : fault_rng_(node_random.stream("disk", "faults")),
      crash_rng_(node_random.stream("disk", "crash")) {}

SimDisk::~SimDisk() = default;

void SimDisk::delay(int64_t latency_us) {
  if (latency_us <= 0 || runtime_ == nullptr || !runtime_->in_fiber()) return;
  // A cancelled fiber still performs its I/O (the syscall was issued); a
  // crash during the sleep unwinds the fiber before the op happens.
  (void)runtime_->sleep_for(latency_us);
}

uint64_t SimDisk::used_bytes() const {
  uint64_t total = 0;
  for (const auto& [name, inode] : names_) total += inode->data.size();
  return total;
}

// --- namespace ----------------------------------------------------------------

Result<std::unique_ptr<File>> SimDisk::open(std::string_view name, OpenMode mode) {
  if (!valid_file_name(name)) return Status(Errc::invalid, std::string(name));
  delay(faults_.latency_us);
  auto it = names_.find(name);
  if (it == names_.end()) {
    if (mode == OpenMode::existing) return Status(Errc::not_found, std::string(name));
    if (names_.size() >= kFilesMax) return Status(Errc::no_space, "kFilesMax");
    it = names_.emplace(std::string(name), std::make_shared<Inode>()).first;
  } else if (mode == OpenMode::create_exclusive) {
    return Status(Errc::exists, std::string(name));
  }
  return std::unique_ptr<File>(std::make_unique<SimFile>(*this, it->second));
}

Result<FileInfo> SimDisk::stat(std::string_view name) {
  if (!valid_file_name(name)) return Status(Errc::invalid, std::string(name));
  auto it = names_.find(name);
  if (it == names_.end()) return Status(Errc::not_found, std::string(name));
  return FileInfo{it->second->data.size(), true};
}

Status SimDisk::rename(std::string_view from, std::string_view to) {
  if (!valid_file_name(from) || !valid_file_name(to)) return Status(Errc::invalid);
  delay(faults_.latency_us);
  auto it = names_.find(from);
  if (it == names_.end()) return Status(Errc::not_found, std::string(from));
  if (from == to) return Status::ok();
  InodePtr inode = it->second;
  names_.erase(it);
  names_[std::string(to)] = std::move(inode);
  return Status::ok();
}

Status SimDisk::unlink(std::string_view name) {
  if (!valid_file_name(name)) return Status(Errc::invalid, std::string(name));
  delay(faults_.latency_us);
  auto it = names_.find(name);
  if (it == names_.end()) return Status(Errc::not_found, std::string(name));
  names_.erase(it);
  return Status::ok();
}

Result<std::vector<std::string>> SimDisk::list() {
  std::vector<std::string> out;
  out.reserve(names_.size());
  for (const auto& [name, inode] : names_) out.push_back(name);
  return out;  // std::map order: bytewise sorted
}

Status SimDisk::sync_dir() {
  delay(faults_.fsync_latency_us);
  if (fault_rng_.chance(faults_.fsync_eio)) {
    bump("fsync_eio");
    return Status(Errc::io_error, "sync_dir");
  }
  bump("sync_dirs");
  durable_names_ = names_;
  return Status::ok();
}

// --- file data ----------------------------------------------------------------

void SimDisk::apply(std::vector<uint8_t>& image, const Op& op) {
  if (op.is_truncate) {
    image.resize(static_cast<size_t>(op.offset), 0);
    return;
  }
  const size_t end = static_cast<size_t>(op.offset) + op.data.size();
  if (image.size() < end) image.resize(end, 0);
  std::memcpy(image.data() + op.offset, op.data.data(), op.data.size());
}

void SimDisk::apply_torn(std::vector<uint8_t>& image, const Op& op) {
  MESHD_ASSERT(!op.is_truncate);
  // Each sector the write touches (aligned to file offsets) independently
  // reached the platter or not.
  const uint64_t begin = op.offset;
  const uint64_t end = op.offset + op.data.size();
  for (uint64_t sector = begin / kDiskSectorBytes * kDiskSectorBytes; sector < end;
       sector += kDiskSectorBytes) {
    if (!crash_rng_.chance(0.5)) continue;
    const uint64_t lo = std::max(sector, begin);
    const uint64_t hi = std::min(sector + kDiskSectorBytes, end);
    if (image.size() < hi) image.resize(static_cast<size_t>(hi), 0);
    std::memcpy(image.data() + lo, op.data.data() + (lo - begin), static_cast<size_t>(hi - lo));
  }
}

Result<size_t> SimDisk::file_pread(Inode& inode, uint64_t offset, std::span<uint8_t> out) {
  bump("reads");
  if (offset >= inode.data.size() || out.empty()) return size_t{0};
  const size_t n = std::min<size_t>(out.size(), inode.data.size() - static_cast<size_t>(offset));
  std::memcpy(out.data(), inode.data.data() + offset, n);
  if (fault_rng_.chance(faults_.read_bitrot)) {
    const uint64_t bit = fault_rng_.below(uint64_t{n} * 8);
    out[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    bump("bitrot");
  }
  return n;
}

Status SimDisk::file_pwrite(Inode& inode, uint64_t offset, std::span<const uint8_t> data) {
  if (offset > kFileBytesMax || data.size() > kFileBytesMax - offset) {
    return Status(Errc::too_large, "kFileBytesMax");
  }
  if (fault_rng_.chance(faults_.write_eio)) {
    bump("write_eio");
    return Status(Errc::io_error, "pwrite");
  }
  const uint64_t end = offset + data.size();
  const uint64_t growth = end > inode.data.size() ? end - inode.data.size() : 0;
  if (growth > 0 && (faults_.capacity_bytes < growth ||
                     used_bytes() > faults_.capacity_bytes - growth)) {
    bump("no_space");
    return Status(Errc::no_space);
  }
  bump("writes");
  if (faults_.misdirected_write > 0 && fault_rng_.chance(faults_.misdirected_write)) {
    uint64_t wrong = fault_rng_.below(offset / kDiskSectorBytes + 2) * kDiskSectorBytes;
    if (wrong == offset) wrong += kDiskSectorBytes;
    offset = wrong;
    bump("misdirected_writes");
  }
  Op op{false, offset, std::vector<uint8_t>(data.begin(), data.end())};
  apply(inode.data, op);
  if (inode.pending.size() >= kPendingOpsMax) {
    // Background writeback of the oldest dirty op: always a legal outcome
    // (it is what a crash with a longer surviving prefix would show).
    apply(inode.durable, inode.pending.front());
    inode.pending.erase(inode.pending.begin());
  }
  inode.pending.push_back(std::move(op));
  return Status::ok();
}

Status SimDisk::file_truncate(Inode& inode, uint64_t size_bytes) {
  if (size_bytes > kFileBytesMax) return Status(Errc::too_large, "kFileBytesMax");
  const uint64_t growth = size_bytes > inode.data.size() ? size_bytes - inode.data.size() : 0;
  if (growth > 0 && (faults_.capacity_bytes < growth ||
                     used_bytes() > faults_.capacity_bytes - growth)) {
    bump("no_space");
    return Status(Errc::no_space);
  }
  bump("truncates");
  Op op{true, size_bytes, {}};
  apply(inode.data, op);
  if (inode.pending.size() >= kPendingOpsMax) {
    apply(inode.durable, inode.pending.front());
    inode.pending.erase(inode.pending.begin());
  }
  inode.pending.push_back(std::move(op));
  return Status::ok();
}

Status SimDisk::file_fsync(Inode& inode) {
  if (fault_rng_.chance(faults_.fsync_eio)) {
    // Some dirty data may have reached the disk; the rest is dropped from
    // the dirty set without being written (Linux marks it clean), so it is
    // lost at the next crash even if a later fsync() succeeds.
    const size_t k = static_cast<size_t>(fault_rng_.below(inode.pending.size() + 1));
    for (size_t i = 0; i < k; ++i) apply(inode.durable, inode.pending[i]);
    counters_["lost_ops"] += inode.pending.size() - k;
    inode.pending.clear();
    bump("fsync_eio");
    return Status(Errc::io_error, "fsync");
  }
  if (faults_.fsync_lost_error > 0 && fault_rng_.chance(faults_.fsync_lost_error)) {
    // As fsync_eio, but the caller is told all is well.
    const size_t k = static_cast<size_t>(fault_rng_.below(inode.pending.size() + 1));
    for (size_t i = 0; i < k; ++i) apply(inode.durable, inode.pending[i]);
    counters_["lost_ops"] += inode.pending.size() - k;
    inode.pending.clear();
    bump("fsync_errors_lost");
    return Status::ok();
  }
  bump("fsyncs");
  for (const Op& op : inode.pending) apply(inode.durable, op);
  inode.pending.clear();
  return Status::ok();
}

// --- crash --------------------------------------------------------------------

void SimDisk::crash() {
  ++epoch_;
  bump("crashes");
  names_ = durable_names_;
  for (auto& [name, inode] : names_) {
    Inode& in = *inode;
    std::vector<uint8_t> image = in.durable;
    const size_t n = in.pending.size();
    size_t survived = 0;
    if (n > 0 && faults_.torn_writes) {
      survived = static_cast<size_t>(crash_rng_.below(n + 1));
      for (size_t i = 0; i < survived; ++i) apply(image, in.pending[i]);
      // The first lost op is torn half of the time (else lost whole).
      if (survived < n && !in.pending[survived].is_truncate && crash_rng_.chance(0.5)) {
        apply_torn(image, in.pending[survived]);
        bump("torn_writes");
      }
    }
    counters_["lost_ops"] += n - survived;
    in.pending.clear();
    in.data = image;
    in.durable = std::move(image);
  }
}

void SimDisk::wipe() {
  ++epoch_;
  bump("wipes");
  names_.clear();
  durable_names_.clear();
}

Result<std::vector<uint8_t>> SimDisk::current_bytes(std::string_view name) const {
  auto it = names_.find(name);
  if (it == names_.end()) return Status(Errc::not_found, std::string(name));
  return it->second->data;
}

Result<std::vector<uint8_t>> SimDisk::durable_bytes(std::string_view name) const {
  auto it = durable_names_.find(name);
  if (it == durable_names_.end()) return Status(Errc::not_found, std::string(name));
  return it->second->durable;
}

}  // namespace meshd::sim
