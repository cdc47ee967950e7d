#include "core/crypto/key_archive.h"

#include <sodium.h>

#include <cstring>

#include "core/crypto/blake2b_hkdf.h"
#include "core/env/assert.h"
#include "core/wire/byte_io.h"

namespace meshd::crypto {

namespace {
constexpr uint8_t kArchiveMagic[8] = {'m', 'e', 's', 'h', 'd', 'a', 'r', 'c'};
constexpr uint8_t kArchiveVersion = 1;
constexpr size_t kEntryBytes = 40;
constexpr size_t kChecksumBytes = 32;

static_assert(sizeof(Hash32) == kChecksumBytes);
Hash32 checksum(std::span<const uint8_t> bytes) { return blake2b_256(bytes); }
}  // namespace

void KeyArchive::retire(const Identity& old_identity, int64_t now_wall_us) {
  if (entries_.size() == kArchiveEntriesMax) entries_.erase(entries_.begin());
  entries_.push_back(ArchivedKey{old_identity, now_wall_us});
  MESHD_ASSERT(entries_.size() <= kArchiveEntriesMax);
}

void KeyArchive::prune(int64_t now_wall_us) {
  std::erase_if(entries_, [&](const ArchivedKey& k) { return !in_grace(k, now_wall_us); });
}

const Identity* KeyArchive::find_by_dh_public(const DhPublic& dh_public, int64_t now_wall_us) const {
  for (const ArchivedKey& k : entries_) {
    if (k.identity.dh_public() == dh_public && in_grace(k, now_wall_us)) return &k.identity;
  }
  return nullptr;
}

std::vector<uint8_t> KeyArchive::encode() const {
  std::vector<uint8_t> out(10 + entries_.size() * kEntryBytes + kChecksumBytes);
  wire::Writer w(out);
  w.write_bytes(kArchiveMagic);
  w.write_u8(kArchiveVersion);
  w.write_u8(static_cast<uint8_t>(entries_.size()));
  for (const ArchivedKey& k : entries_) {
    w.write_bytes(k.identity.seed());
    w.write_u64(static_cast<uint64_t>(k.retired_wall_us));
  }
  const auto sum = checksum(w.written());
  w.write_bytes(sum);
  MESHD_ASSERT(w.ok() && w.size() == out.size());
  return out;
}

Result<KeyArchive> KeyArchive::decode(std::span<const uint8_t> bytes, int64_t grace_us) {
  if (bytes.size() < 10 + kChecksumBytes || bytes.size() > kArchiveFileBytesMax) {
    return Status(Errc::corrupt, "key archive has the wrong size");
  }
  const auto body = bytes.first(bytes.size() - kChecksumBytes);
  const auto sum = checksum(body);
  if (sodium_memcmp(sum.data(), bytes.data() + body.size(), kChecksumBytes) != 0) {
    return Status(Errc::corrupt, "key archive: checksum mismatch");
  }
  wire::Reader r(body);
  std::array<uint8_t, 8> magic{};
  uint8_t version = 0, count = 0;
  r.read_bytes(magic);
  r.read_u8(version);
  r.read_u8(count);
  if (!r.ok() || std::memcmp(magic.data(), kArchiveMagic, 8) != 0 || version != kArchiveVersion ||
      count > kArchiveEntriesMax || r.remaining() != count * kEntryBytes) {
    return Status(Errc::corrupt, "key archive: bad header");
  }
  KeyArchive archive(grace_us);
  for (uint8_t i = 0; i < count; ++i) {
    SigningSeed seed{};
    uint64_t retired = 0;
    r.read_bytes(seed);
    r.read_u64(retired);
    archive.entries_.push_back(ArchivedKey{Identity::from_seed(seed), static_cast<int64_t>(retired)});
    sodium_memzero(seed.data(), seed.size());
  }
  MESHD_ASSERT(r.ok() && r.at_end());
  return archive;
}

Status KeyArchive::save(Disk& disk, std::string_view file_name) const {
  auto bytes = encode();
  Status s = write_file_atomic(disk, file_name, bytes);
  sodium_memzero(bytes.data(), bytes.size());
  return s;
}

Result<KeyArchive> KeyArchive::load(Disk& disk, std::string_view file_name, int64_t grace_us) {
  auto info = disk.stat(file_name);
  if (!info) {
    if (info.code() == Errc::not_found) return KeyArchive(grace_us);
    return info.status();
  }
  if (!info->private_to_owner) {
    return Status(Errc::permission, "key archive " + std::string(file_name) +
                                        " is readable by group or others; refusing to use it");
  }
  auto bytes = read_file(disk, file_name, kArchiveFileBytesMax);
  if (!bytes) {
    if (bytes.code() == Errc::too_large) return Status(Errc::corrupt, "key archive has the wrong size");
    return bytes.status();
  }
  auto archive = decode(*bytes, grace_us);
  sodium_memzero(bytes->data(), bytes->size());
  return archive;
}

Result<Identity> rotate_identity(Disk& disk, RandomStream& rng, const Identity& current,
                                 KeyArchive& archive, int64_t now_wall_us,
                                 const KeyStoreOptions& options, std::string_view archive_file) {
  KeyArchive next = archive;
  next.prune(now_wall_us);
  next.retire(current, now_wall_us);
  if (!options.ephemeral) {
    if (Status s = next.save(disk, archive_file); !s) return s;
  }
  Identity fresh = Identity::generate(rng, current.node_id());
  if (!options.ephemeral) {
    if (Status s = write_identity(disk, fresh, options); !s) return s;
  }
  archive = std::move(next);
  return fresh;
}

}  // namespace meshd::crypto
