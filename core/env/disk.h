// Disk: a node's data directory — a flat namespace of files.
//
// Durability contract (the simulator enforces exactly this, io/ provides it):
//  * File contents written with pwrite() are visible to reads at once but
//    are durable only after a successful fsync() of that file. A crash loses
//    every unsynced write; the last unsynced writes may also be *torn* at
//    sector (512 B) granularity: some sectors new, some old.
//  * datasync() (fdatasync) is the cheaper data-only sync: it makes the
//    file's contents *and its size* durable (the metadata needed to read
//    the data back: POSIX fdatasync, and what Linux does on ext4/xfs for an
//    extending write), but not timestamps or permissions. It never makes a
//    name durable. Rule for callers: after creating a file, use fsync()
//    plus sync_dir() before relying on it; appends and overwrites to a file
//    whose name is already durable need only datasync(). The simulator
//    treats datasync() exactly as fsync() for contents and size (same
//    faults: EIO, lost errors, latency) — the difference is a cost, not a
//    durability guarantee the model can see.
//  * Namespace changes (create, rename, unlink) are durable only after a
//    successful sync_dir(). To replace a file atomically: write a temp
//    file, fsync it, rename it over the target, sync_dir().
//  * A failed fsync() or datasync() leaves the file's durable state unknown; callers must
//    treat the file as suspect (as PostgreSQL learned, retrying fsync is not
//    a fix).
//  * Reads may return corrupted bytes (bit rot): every on-disk format must
//    carry checksums and detect it.
// Errors: Errc::io_error (EIO), Errc::no_space (ENOSPC, nothing written),
// Errc::not_found, Errc::exists, Errc::invalid (bad name), Errc::permission.
//
// Names are single path components: 1..kFileNameBytesMax bytes of
// [A-Za-z0-9._-], not "." or "..". Operations may block the calling fiber
// (simulated latency, real I/O); from outside a fiber they complete inline.
// Ownership: a File handle is owned by its caller and must not outlive the
// Disk. Not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/env/status.h"

namespace meshd {

constexpr size_t kFileNameBytesMax = 128;
constexpr size_t kDiskSectorBytes = 512;

// True if `name` is a valid flat file name (see above).
bool valid_file_name(std::string_view name);

class File {
 public:
  virtual ~File() = default;
  // Reads up to out.size() bytes at offset; returns the count read (fewer
  // only at end of file).
  virtual Result<size_t> pread(uint64_t offset, std::span<uint8_t> out) = 0;
  // Writes all of `data` at offset (extending the file if needed) or fails.
  virtual Status pwrite(uint64_t offset, std::span<const uint8_t> data) = 0;
  virtual Status truncate(uint64_t size_bytes) = 0;
  virtual Result<uint64_t> size() = 0;
  virtual Status fsync() = 0;
  // Contents and size durable, not timestamps (see above). A backend with
  // no cheaper data-only sync may keep this default: a full fsync.
  virtual Status datasync() { return fsync(); }
};

enum class OpenMode : uint8_t {
  existing,         // open an existing file; Errc::not_found otherwise
  create,           // open, creating it empty if missing
  create_exclusive, // create; Errc::exists if present
};

struct FileInfo {
  uint64_t size_bytes = 0;
  bool private_to_owner = true;  // no group/other permission bits (0600)
};

class Disk {
 public:
  virtual ~Disk() = default;
  // Files created by this call get mode 0600 (owner read/write only).
  virtual Result<std::unique_ptr<File>> open(std::string_view name, OpenMode mode) = 0;
  virtual Result<FileInfo> stat(std::string_view name) = 0;
  virtual Status rename(std::string_view from, std::string_view to) = 0;
  virtual Status unlink(std::string_view name) = 0;
  // Names in the directory, sorted bytewise (deterministic).
  virtual Result<std::vector<std::string>> list() = 0;
  // Makes preceding creates/renames/unlinks durable.
  virtual Status sync_dir() = 0;
};

// Reads a whole file (bounded by max_bytes; Errc::too_large beyond it).
Result<std::vector<uint8_t>> read_file(Disk& disk, std::string_view name, size_t max_bytes);
// Atomically replaces `name` with `data`: temp file, fsync, rename,
// sync_dir. On failure the old contents (if any) remain.
Status write_file_atomic(Disk& disk, std::string_view name, std::span<const uint8_t> data);

}  // namespace meshd
