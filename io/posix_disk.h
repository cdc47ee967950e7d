// PosixDisk: the production meshd::Disk — one directory of real files.
//
// Provides exactly the durability contract of core/env/disk.h:
//  * pwrite() loops over short writes and EINTR; durability only after
//    fsync() (a real fsync(2), never skipped).
//  * rename()/unlink() are renameat()/unlinkat() in the directory;
//    sync_dir() fsyncs the directory fd, which makes them durable.
//  * Files are opened O_CLOEXEC and created with mode 0600; the directory
//    is created with mode 0700 if missing (its parent must exist).
//  * stat().private_to_owner is false when any group/other bit is set, so
//    callers can refuse key files readable by others.
//  * list() returns the regular files with valid names (core/env/disk.h
//    valid_file_name) in the directory, sorted bytewise; other entries (the
//    control socket, subdirectories made by an operator, symlinks, odd
//    names) are not part of the Disk and are skipped.
// Errors: errno mapped by io/errno_status.h (EIO -> io_error, ENOSPC/EDQUOT
// -> no_space, ENOENT -> not_found, EEXIST -> exists, EACCES/EPERM ->
// permission); invalid names -> Errc::invalid before any syscall.
// Ownership: owns the directory fd; File handles own their fd and must not
// outlive the PosixDisk (contract of Disk). Operations block the thread
// (there is one thread; I/O on local disks is short). Single-threaded.
#pragma once

#include <memory>
#include <string>

#include "core/env/disk.h"
#include "io/fd.h"

namespace meshd::io {

class PosixDisk final : public Disk {
 public:
  // Upper bound on directory entries list() will read, so a directory
  // filled by something else cannot exhaust memory.
  static constexpr size_t kListEntriesMax = 100'000;

  // Opens (creating with mode 0700 if missing) the directory at `path`.
  static Result<std::unique_ptr<PosixDisk>> open(const std::string& path);

  Result<std::unique_ptr<File>> open(std::string_view name, OpenMode mode) override;
  Result<FileInfo> stat(std::string_view name) override;
  Status rename(std::string_view from, std::string_view to) override;
  Status unlink(std::string_view name) override;
  Result<std::vector<std::string>> list() override;
  Status sync_dir() override;

  const std::string& path() const { return path_; }

 private:
  PosixDisk(std::string path, UniqueFd dir_fd) : path_(std::move(path)), dir_fd_(std::move(dir_fd)) {}
  std::string path_;
  UniqueFd dir_fd_;
};

}  // namespace meshd::io
