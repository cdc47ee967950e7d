// CountingDisk: a Disk decorator that counts failed disk operations in
// meshd_disk_errors_total{op=...} (open, stat, rename, unlink, list,
// sync_dir, read, write, truncate, size, fsync), so an operator can alert
// on a failing disk (docs/prometheus-alerts.yml) before the node stops.
// Expected outcomes are not errors: not_found (a missing file is how
// first starts look) and exists (create_exclusive) are not counted.
// Ownership: borrows the inner Disk and the Metrics (both outlive it);
// files it opens wrap the inner files and share the counters.
#pragma once

#include <array>
#include <memory>

#include "core/env/disk.h"
#include "core/env/metrics.h"

namespace meshd::io {

class CountingDisk final : public Disk {
 public:
  enum class Op : uint8_t { open, stat, rename, unlink, list, sync_dir, read, write, truncate, size, fsync };
  static constexpr size_t kOps = 11;

  CountingDisk(Disk& inner, Metrics& metrics);

  Result<std::unique_ptr<File>> open(std::string_view name, OpenMode mode) override;
  Result<FileInfo> stat(std::string_view name) override;
  Status rename(std::string_view from, std::string_view to) override;
  Status unlink(std::string_view name) override;
  Result<std::vector<std::string>> list() override;
  Status sync_dir() override;

  // Counts `s` against `op` if it is a real failure; returns it unchanged.
  const Status& count(Op op, const Status& s);

 private:
  Disk& inner_;
  std::array<uint64_t*, kOps> errors_{};
};

}  // namespace meshd::io
