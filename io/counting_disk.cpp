#include "io/counting_disk.h"

#include "core/env/assert.h"

namespace meshd::io {

namespace {

constexpr std::array<std::string_view, CountingDisk::kOps> kOpNames = {
    "open", "stat", "rename", "unlink", "list", "sync_dir", "read", "write", "truncate", "size", "fsync"};

class CountingFile final : public File {
 public:
  CountingFile(std::unique_ptr<File> inner, CountingDisk& disk) : inner_(std::move(inner)), disk_(disk) {}
  Result<size_t> pread(uint64_t offset, std::span<uint8_t> out) override {
    auto r = inner_->pread(offset, out);
    if (!r) disk_.count(CountingDisk::Op::read, r.status());
    return r;
  }
  Status pwrite(uint64_t offset, std::span<const uint8_t> data) override {
    return disk_.count(CountingDisk::Op::write, inner_->pwrite(offset, data));
  }
  Status truncate(uint64_t size_bytes) override {
    return disk_.count(CountingDisk::Op::truncate, inner_->truncate(size_bytes));
  }
  Result<uint64_t> size() override {
    auto r = inner_->size();
    if (!r) disk_.count(CountingDisk::Op::size, r.status());
    return r;
  }
  Status fsync() override { return disk_.count(CountingDisk::Op::fsync, inner_->fsync()); }

 private:
  std::unique_ptr<File> inner_;
  CountingDisk& disk_;
};

}  // namespace

CountingDisk::CountingDisk(Disk& inner, Metrics& metrics) : inner_(inner) {
  for (size_t i = 0; i < kOps; ++i) {
    errors_[i] = &metrics.counter("meshd_disk_errors_total{op=\"" + std::string(kOpNames[i]) + "\"}",
                                  "failed disk operations (not counting missing or already existing files)");
  }
}

const Status& CountingDisk::count(Op op, const Status& s) {
  const size_t i = static_cast<size_t>(op);
  MESHD_ASSERT(i < kOps);
  if (!s && s.code() != Errc::not_found && s.code() != Errc::exists) ++*errors_[i];
  return s;
}

Result<std::unique_ptr<File>> CountingDisk::open(std::string_view name, OpenMode mode) {
  auto r = inner_.open(name, mode);
  if (!r) {
    count(Op::open, r.status());
    return r.status();
  }
  return std::unique_ptr<File>(new CountingFile(std::move(*r), *this));
}

Result<FileInfo> CountingDisk::stat(std::string_view name) {
  auto r = inner_.stat(name);
  if (!r) count(Op::stat, r.status());
  return r;
}

Status CountingDisk::rename(std::string_view from, std::string_view to) {
  return count(Op::rename, inner_.rename(from, to));
}

Status CountingDisk::unlink(std::string_view name) { return count(Op::unlink, inner_.unlink(name)); }

Result<std::vector<std::string>> CountingDisk::list() {
  auto r = inner_.list();
  if (!r) count(Op::list, r.status());
  return r;
}

Status CountingDisk::sync_dir() { return count(Op::sync_dir, inner_.sync_dir()); }

}  // namespace meshd::io
