// KeyArchive: retired identity keys kept for a grace period after rotation.
//
// When a node rotates its key (rotate_identity), the old Identity moves
// here so handshakes and traffic still addressed to the old static key
// open during the grace period (default 7 days, configurable) while peers
// learn the new key from the signed announcement. Limits: at most
// kArchiveEntriesMax (8) entries — retiring a ninth evicts the oldest —
// and entries older than the grace are pruned. Times are *wall* clock
// microseconds (clock.h: values that must survive a restart).
//
// File (default "node.key.archive"), written atomically:
//    0  8  magic "meshdarc"   8  1  version (1)   9  1  entry count (<= 8)
//   10  count * 40: Ed25519 seed (32) + retired_wall_us (i64 LE, 8)
//  end 32  BLAKE2b-256 of everything before it
// Errc::corrupt on any structural or checksum failure.
// rotate_identity() writes the archive BEFORE the new key file: a crash in
// between leaves the old key both current and archived (harmless), never
// lost.
#pragma once

#include <string>
#include <vector>

#include "core/crypto/identity.h"
#include "core/crypto/key_store.h"
#include "core/env/clock.h"
#include "core/env/disk.h"

namespace meshd::crypto {

constexpr size_t kArchiveEntriesMax = 8;
constexpr int64_t kArchiveGraceDefaultUs = int64_t{7} * 24 * 3600 * kMicrosPerSecond;
constexpr size_t kArchiveFileBytesMax = 10 + kArchiveEntriesMax * 40 + 32;

struct ArchivedKey {
  Identity identity;
  int64_t retired_wall_us = 0;
};

class KeyArchive {
 public:
  explicit KeyArchive(int64_t grace_us = kArchiveGraceDefaultUs) : grace_us_(grace_us) {}

  void retire(const Identity& old_identity, int64_t now_wall_us);
  void prune(int64_t now_wall_us);
  // The archived identity whose Noise static key is `dh_public` and whose
  // grace has not ended, or nullptr.
  const Identity* find_by_dh_public(const DhPublic& dh_public, int64_t now_wall_us) const;
  const std::vector<ArchivedKey>& entries() const { return entries_; }
  int64_t grace_us() const { return grace_us_; }

  std::vector<uint8_t> encode() const;
  static Result<KeyArchive> decode(std::span<const uint8_t> bytes, int64_t grace_us);
  Status save(Disk& disk, std::string_view file_name) const;
  // A missing file is an empty archive.
  static Result<KeyArchive> load(Disk& disk, std::string_view file_name, int64_t grace_us);

 private:
  bool in_grace(const ArchivedKey& key, int64_t now_wall_us) const {
    return now_wall_us - key.retired_wall_us < grace_us_;
  }
  int64_t grace_us_;
  std::vector<ArchivedKey> entries_;  // oldest first, size <= kArchiveEntriesMax
};

constexpr std::string_view kArchiveFileDefault = "node.key.archive";

// Generates a new identity with the same NodeId, archives `current`
// (saved first), then atomically replaces the key file. Returns the new
// identity. Peers learn the new key from a signed announcement (membership);
// until then their handshakes to the old key open through the archive.
Result<Identity> rotate_identity(Disk& disk, RandomStream& rng, const Identity& current,
                                 KeyArchive& archive, int64_t now_wall_us,
                                 const KeyStoreOptions& options,
                                 std::string_view archive_file = kArchiveFileDefault);

}  // namespace meshd::crypto
