#include "core/node/incarnation.h"

#include <sodium.h>

#include <cstring>

#include "core/env/assert.h"

namespace meshd {

namespace {
constexpr uint8_t kVersion = 1;
void digest16(const uint8_t* p, uint8_t out[8]) {
  crypto_generichash(out, 8, p, 16, nullptr, 0);
}
}  // namespace

std::array<uint8_t, kIncarnationRecordBytes> encode_incarnation(uint64_t value) {
  std::array<uint8_t, kIncarnationRecordBytes> b{};
  std::memcpy(b.data(), "MINC", 4);
  b[4] = kVersion;
  for (int i = 0; i < 8; ++i) b[8 + i] = static_cast<uint8_t>(value >> (56 - 8 * i));
  digest16(b.data(), b.data() + 16);
  MESHD_ASSERT(b[4] == kVersion && b[5] == 0 && b[6] == 0 && b[7] == 0);
  return b;
}

Result<uint64_t> decode_incarnation(std::span<const uint8_t> bytes) {
  if (bytes.size() != kIncarnationRecordBytes) return Status(Errc::corrupt, "incarnation: bad length");
  if (std::memcmp(bytes.data(), "MINC", 4) != 0) return Status(Errc::corrupt, "incarnation: bad magic");
  uint8_t d[8];
  digest16(bytes.data(), d);
  if (std::memcmp(d, bytes.data() + 16, 8) != 0) return Status(Errc::corrupt, "incarnation: checksum mismatch");
  if (bytes[4] != kVersion) return Status(Errc::corrupt, "incarnation: unknown version");
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | bytes[8 + i];
  // A checksummed record can still hold a value no boot count reaches
  // (0, or one that cannot be bumped): treat it as corrupt, not as truth.
  if (v == 0 || v == UINT64_MAX) return Status(Errc::corrupt, "incarnation: value out of range");
  return v;
}

Result<uint64_t> load_and_bump_incarnation(Disk& disk, const Clock& clock, Status* recovered_from) {
  uint64_t previous = 0;
  auto bytes = read_file(disk, kIncarnationFile, kIncarnationRecordBytes * 2);
  if (bytes) {
    auto v = decode_incarnation(*bytes);
    if (v) {
      previous = *v;
    } else {
      *recovered_from = v.status();
      const int64_t wall_s = clock.wall_us() / kMicrosPerSecond;
      previous = wall_s > 0 ? static_cast<uint64_t>(wall_s) : 1;
    }
  } else if (bytes.code() != Errc::not_found) {
    *recovered_from = bytes.status();
    const int64_t wall_s = clock.wall_us() / kMicrosPerSecond;
    previous = wall_s > 0 ? static_cast<uint64_t>(wall_s) : 1;
  }
  MESHD_ASSERT(previous < UINT64_MAX);  // decode refuses the value that cannot be bumped
  const uint64_t next = previous + 1;
  const auto record = encode_incarnation(next);
  MESHD_ASSERT(record.size() == kIncarnationRecordBytes);
  if (Status s = write_file_atomic(disk, kIncarnationFile, record); !s) return s;
  MESHD_ASSERT(next > previous && next >= 1);  // strictly above every earlier life
  return next;
}

}  // namespace meshd
