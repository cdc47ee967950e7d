#include "core/env/disk.h"

#include <string>

namespace meshd {

bool valid_file_name(std::string_view name) {
  if (name.empty() || name.size() > kFileNameBytesMax) return false;
  if (name == "." || name == "..") return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Result<std::vector<uint8_t>> read_file(Disk& disk, std::string_view name, size_t max_bytes) {
  auto file = disk.open(name, OpenMode::existing);
  if (!file) return file.status();
  auto size = (*file)->size();
  if (!size) return size.status();
  if (*size > max_bytes) return Status(Errc::too_large, std::string(name));
  std::vector<uint8_t> data(static_cast<size_t>(*size));
  auto n = (*file)->pread(0, data);
  if (!n) return n.status();
  if (*n != data.size()) return Status(Errc::short_read, std::string(name));
  return data;
}

Status write_file_atomic(Disk& disk, std::string_view name, std::span<const uint8_t> data) {
  std::string tmp = std::string(name) + ".tmp";
  if (!valid_file_name(tmp)) return Status(Errc::invalid, "file name too long: " + std::string(name));
  {
    auto file = disk.open(tmp, OpenMode::create);
    if (!file) return file.status();
    if (Status s = (*file)->truncate(0); !s) return s;
    if (Status s = (*file)->pwrite(0, data); !s) return s;
    if (Status s = (*file)->fsync(); !s) return s;
  }
  if (Status s = disk.rename(tmp, name); !s) return s;
  return disk.sync_dir();
}

}  // namespace meshd
