// MemDisk: a minimal in-memory Disk for crypto tests (no crash model).
// Files are byte vectors; `exposed` marks a file as group/other readable so
// tests can check the permission refusal; `fail_renames` injects EIO.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/env/disk.h"

namespace meshd::test {

class MemDisk final : public Disk {
 public:
  std::map<std::string, std::vector<uint8_t>, std::less<>> files;
  std::set<std::string, std::less<>> exposed;
  bool fail_renames = false;

  class MemFile final : public File {
   public:
    MemFile(MemDisk& disk, std::string name) : disk_(disk), name_(std::move(name)) {}
    Result<size_t> pread(uint64_t offset, std::span<uint8_t> out) override {
      auto& data = disk_.files[name_];
      if (offset >= data.size()) return size_t{0};
      const size_t n = std::min(out.size(), data.size() - static_cast<size_t>(offset));
      std::copy_n(data.begin() + static_cast<long>(offset), n, out.begin());
      return n;
    }
    Status pwrite(uint64_t offset, std::span<const uint8_t> in) override {
      auto& data = disk_.files[name_];
      if (data.size() < offset + in.size()) data.resize(offset + in.size());
      std::copy(in.begin(), in.end(), data.begin() + static_cast<long>(offset));
      return Status::ok();
    }
    Status truncate(uint64_t size_bytes) override {
      disk_.files[name_].resize(size_bytes);
      return Status::ok();
    }
    Result<uint64_t> size() override { return uint64_t{disk_.files[name_].size()}; }
    Status fsync() override { return Status::ok(); }

   private:
    MemDisk& disk_;
    std::string name_;
  };

  Result<std::unique_ptr<File>> open(std::string_view name, OpenMode mode) override {
    if (!valid_file_name(name)) return Status(Errc::invalid, "bad name");
    const bool exists = files.count(name) > 0;
    if (mode == OpenMode::existing && !exists) return Status(Errc::not_found, std::string(name));
    if (mode == OpenMode::create_exclusive && exists) return Status(Errc::exists, std::string(name));
    if (!exists) files[std::string(name)] = {};
    return std::unique_ptr<File>(new MemFile(*this, std::string(name)));
  }
  Result<FileInfo> stat(std::string_view name) override {
    auto it = files.find(name);
    if (it == files.end()) return Status(Errc::not_found, std::string(name));
    return FileInfo{it->second.size(), exposed.count(name) == 0};
  }
  Status rename(std::string_view from, std::string_view to) override {
    if (fail_renames) return Status(Errc::io_error, "injected");
    auto it = files.find(from);
    if (it == files.end()) return Status(Errc::not_found, std::string(from));
    auto data = std::move(it->second);
    files.erase(it);
    files[std::string(to)] = std::move(data);
    return Status::ok();
  }
  Status unlink(std::string_view name) override {
    auto it = files.find(name);
    if (it == files.end()) return Status(Errc::not_found, std::string(name));
    files.erase(it);
    return Status::ok();
  }
  Result<std::vector<std::string>> list() override {
    std::vector<std::string> out;
    for (const auto& [name, data] : files) out.push_back(name);
    return out;
  }
  Status sync_dir() override { return Status::ok(); }
};

// Captures log events for assertions.
class RecordingLog final : public Log {
 public:
  std::vector<std::string> events;
  bool enabled(LogLevel) const override { return true; }
  void write(LogLevel, std::string_view event, const nlohmann::json&) override {
    events.emplace_back(event);
  }
  bool saw(std::string_view event) const {
    for (const auto& e : events) {
      if (e == event) return true;
    }
    return false;
  }
};

}  // namespace meshd::test
