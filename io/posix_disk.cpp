#include "io/posix_disk.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "core/env/assert.h"
#include "io/errno_status.h"

namespace meshd::io {

namespace {

constexpr mode_t kFileMode = 0600;
constexpr mode_t kDirMode = 0700;

Status invalid_name(std::string_view name) {
  return Status(Errc::invalid, "invalid file name: '" + std::string(name) + "'");
}

class PosixFile final : public File {
 public:
  PosixFile(UniqueFd fd, std::string name) : fd_(std::move(fd)), name_(std::move(name)) {}

  Result<size_t> pread(uint64_t offset, std::span<uint8_t> out) override {
    size_t done = 0;
    while (done < out.size()) {
      const ssize_t n = ::pread(fd_.get(), out.data() + done, out.size() - done,
                                static_cast<off_t>(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return status_from_errno(errno, "pread " + name_);
      }
      if (n == 0) break;  // end of file
      done += static_cast<size_t>(n);
    }
    MESHD_ASSERT(done <= out.size());
    return done;
  }

  Status pwrite(uint64_t offset, std::span<const uint8_t> data) override {
    size_t done = 0;
    while (done < data.size()) {
      const ssize_t n = ::pwrite(fd_.get(), data.data() + done, data.size() - done,
                                 static_cast<off_t>(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return status_from_errno(errno, "pwrite " + name_);
      }
      // pwrite returning 0 for a non-empty request would loop forever.
      if (n == 0) return Status(Errc::io_error, "pwrite " + name_ + ": wrote nothing");
      done += static_cast<size_t>(n);
    }
    return Status::ok();
  }

  Status truncate(uint64_t size_bytes) override {
    while (::ftruncate(fd_.get(), static_cast<off_t>(size_bytes)) != 0) {
      if (errno != EINTR) return status_from_errno(errno, "ftruncate " + name_);
    }
    return Status::ok();
  }

  Result<uint64_t> size() override {
    struct stat st {};
    if (::fstat(fd_.get(), &st) != 0) return status_from_errno(errno, "fstat " + name_);
    return static_cast<uint64_t>(st.st_size);
  }

  Status fsync() override {
    while (::fsync(fd_.get()) != 0) {
      if (errno != EINTR) return status_from_errno(errno, "fsync " + name_);
    }
    return Status::ok();
  }

  // fdatasync: skips the inode's mtime/ctime journal commit that fsync pays
  // on every append; the size (needed to read the data back) is still made
  // durable.
  Status datasync() override {
    while (::fdatasync(fd_.get()) != 0) {
      if (errno != EINTR) return status_from_errno(errno, "fdatasync " + name_);
    }
    return Status::ok();
  }

 private:
  UniqueFd fd_;
  std::string name_;
};

}  // namespace

Result<std::unique_ptr<PosixDisk>> PosixDisk::open(const std::string& path) {
  if (path.empty()) return Status(Errc::invalid, "empty data directory path");
  if (::mkdir(path.c_str(), kDirMode) != 0 && errno != EEXIST) {
    return status_from_errno(errno, "mkdir " + path);
  }
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return status_from_errno(errno, "open directory " + path);
  return std::unique_ptr<PosixDisk>(new PosixDisk(path, std::move(fd)));
}

Result<std::unique_ptr<File>> PosixDisk::open(std::string_view name, OpenMode mode) {
  if (!valid_file_name(name)) return invalid_name(name);
  int flags = O_RDWR | O_CLOEXEC;
  switch (mode) {
    case OpenMode::existing: break;
    case OpenMode::create: flags |= O_CREAT; break;
    case OpenMode::create_exclusive: flags |= O_CREAT | O_EXCL; break;
  }
  const std::string name_str(name);
  int raw;
  do {
    raw = ::openat(dir_fd_.get(), name_str.c_str(), flags, kFileMode);
  } while (raw < 0 && errno == EINTR);
  if (raw < 0) return status_from_errno(errno, "open " + name_str);
  return std::unique_ptr<File>(new PosixFile(UniqueFd(raw), name_str));
}

Result<FileInfo> PosixDisk::stat(std::string_view name) {
  if (!valid_file_name(name)) return invalid_name(name);
  const std::string name_str(name);
  struct stat st {};
  if (::fstatat(dir_fd_.get(), name_str.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return status_from_errno(errno, "stat " + name_str);
  }
  FileInfo info;
  info.size_bytes = static_cast<uint64_t>(st.st_size);
  info.private_to_owner = (st.st_mode & (S_IRWXG | S_IRWXO)) == 0;
  return info;
}

Status PosixDisk::rename(std::string_view from, std::string_view to) {
  if (!valid_file_name(from)) return invalid_name(from);
  if (!valid_file_name(to)) return invalid_name(to);
  const std::string from_str(from);
  const std::string to_str(to);
  if (::renameat(dir_fd_.get(), from_str.c_str(), dir_fd_.get(), to_str.c_str()) != 0) {
    return status_from_errno(errno, "rename " + from_str + " -> " + to_str);
  }
  return Status::ok();
}

Status PosixDisk::unlink(std::string_view name) {
  if (!valid_file_name(name)) return invalid_name(name);
  const std::string name_str(name);
  if (::unlinkat(dir_fd_.get(), name_str.c_str(), 0) != 0) {
    return status_from_errno(errno, "unlink " + name_str);
  }
  return Status::ok();
}

Result<std::vector<std::string>> PosixDisk::list() {
  // fdopendir takes ownership of its fd, so give it a fresh one; reading
  // from "." of the directory fd keeps working if the path is renamed.
  UniqueFd fd(::openat(dir_fd_.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return status_from_errno(errno, "open directory " + path_);
  DIR* dir = ::fdopendir(fd.get());
  if (dir == nullptr) return status_from_errno(errno, "fdopendir " + path_);
  fd.release();  // now owned by dir
  auto is_regular_file = [&](const dirent* entry) {
    if (entry->d_type != DT_UNKNOWN) return entry->d_type == DT_REG;
    struct stat st {};  // file systems without d_type
    return ::fstatat(dir_fd_.get(), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
  };
  std::vector<std::string> names;
  Status status;
  for (size_t entries = 0;; ++entries) {
    if (entries >= kListEntriesMax) {
      status = Status(Errc::too_large, "directory has too many entries: " + path_);
      break;
    }
    errno = 0;
    const dirent* entry = ::readdir(dir);
    if (entry == nullptr) {
      if (errno != 0) status = status_from_errno(errno, "readdir " + path_);
      break;
    }
    std::string_view name(entry->d_name);
    if (!valid_file_name(name)) continue;  // also skips "." and ".."
    if (!is_regular_file(entry)) continue;  // e.g. the control socket, subdirectories
    names.emplace_back(name);
  }
  ::closedir(dir);
  if (!status) return status;
  std::sort(names.begin(), names.end());  // std::string compares bytes as unsigned char
  return names;
}

Status PosixDisk::sync_dir() {
  while (::fsync(dir_fd_.get()) != 0) {
    if (errno != EINTR) return status_from_errno(errno, "fsync directory " + path_);
  }
  return Status::ok();
}

}  // namespace meshd::io
