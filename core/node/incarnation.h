// Incarnation: the node's boot count, persisted in the data directory.
//
// load_and_bump() reads file "incarnation", adds one, and writes it back
// atomically and durably *before* the node speaks, so a restarted node
// always announces a strictly higher incarnation than anything it sent in
// an earlier life (peers use it to tell a restart from a duplicate).
//
// Record format (24 bytes): "MINC" | u8 version=1 | 3 zero bytes |
// u64 big-endian incarnation | 8-byte BLAKE2b of the first 16 bytes.
// A record that fails its checksum is never returned: the node falls back
// to max(1, wall-clock seconds) — still above any honest boot count — and
// reports Errc::corrupt through `recovered_from` so the caller can log it.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "core/env/clock.h"
#include "core/env/disk.h"

namespace meshd {

constexpr size_t kIncarnationRecordBytes = 24;
constexpr const char* kIncarnationFile = "incarnation";

std::array<uint8_t, kIncarnationRecordBytes> encode_incarnation(uint64_t value);
Result<uint64_t> decode_incarnation(std::span<const uint8_t> bytes);

// Returns the new incarnation; `recovered_from` receives the error if the
// stored record was unreadable or corrupt.
Result<uint64_t> load_and_bump_incarnation(Disk& disk, const Clock& clock, Status* recovered_from);

}  // namespace meshd
