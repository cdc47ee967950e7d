#include "core/storage/segment_scan.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/env/assert.h"
#include "core/storage/format.h"

namespace meshd::storage {

Result<std::vector<std::pair<uint64_t, std::string>>> list_segments(Disk& disk, std::string_view prefix) {
  auto names = disk.list();
  if (!names) return names.status();
  std::vector<std::pair<uint64_t, std::string>> found;
  for (const std::string& n : *names) {
    if (auto seq = parse_segment_name(prefix, n)) found.emplace_back(*seq, n);
  }
  if (found.size() > kSegmentsMaxListed) {
    return Status(Errc::too_large, fmt::format("more than {} segments", kSegmentsMaxListed));
  }
  std::sort(found.begin(), found.end());
  // Names encode first seqs uniquely: two names for one seq cannot parse.
  MESHD_ASSERT(std::adjacent_find(found.begin(), found.end(), [](const auto& a, const auto& b) {
                 return a.first == b.first;
               }) == found.end());
  return found;
}

Result<std::span<const uint8_t>> ReadWindow::view(uint64_t offset, size_t want) {
  MESHD_ASSERT(want <= kScanWindowBytes);
  if (offset >= file_bytes_) return std::span<const uint8_t>();
  const size_t avail = static_cast<size_t>(std::min<uint64_t>(want, file_bytes_ - offset));
  if (len_ == 0 || offset < base_ || offset + avail > base_ + len_) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(std::max(window_bytes_, avail), file_bytes_ - offset));
    buf_.resize(n);
    auto got = file_.pread(offset, std::span(buf_.data(), n));
    if (!got) return got.status();
    if (*got < avail) return Status(Errc::short_read, fmt::format("segment shorter than expected at {}", offset));
    base_ = offset;
    len_ = *got;
    MESHD_ASSERT(len_ <= buf_.size());
  }
  MESHD_ASSERT(offset >= base_ && offset + avail <= base_ + len_);
  return std::span<const uint8_t>(buf_.data() + (offset - base_), avail);
}

namespace {

struct Witness {
  bool found = false;
  uint64_t at = 0;
  FrameView frame;
};

// The first valid frame after `from` that could belong to this log (seq at
// or after `expected_seq`). Cheap plausibility checks come before the CRC.
Result<Witness> find_witness(ReadWindow& w, uint64_t from, uint64_t expected_seq) {
  Witness out;
  const uint64_t end = w.file_bytes();
  for (uint64_t p = from; p + kRecordHeaderBytes <= end; ++p) {
    auto head = w.view(p, kRecordHeaderBytes);
    if (!head) return head.status();
    const uint32_t len = get_u32(head->data() + 4);
    const uint64_t seq = get_u64(head->data() + 8);
    if (len > kRecordPayloadBytesMax || p + kRecordHeaderBytes + len > end) continue;
    if (seq < expected_seq || seq - expected_seq > (uint64_t{1} << 32)) continue;
    auto bytes = w.view(p, kRecordHeaderBytes + len);
    if (!bytes) return bytes.status();
    FrameView f;
    if (decode_frame(*bytes, f) != FrameStatus::ok) continue;
    MESHD_ASSERT(f.seq == seq && f.frame_bytes == kRecordHeaderBytes + len);
    out.found = true;
    out.at = p;
    out.frame = f;
    return out;
  }
  return out;
}

}  // namespace

Result<ScanOutcome> scan_segment(File& file, uint64_t file_bytes, uint64_t start_offset, uint64_t expected_seq,
                                 bool tail, const FrameFn& fn, uint64_t stop_seq, size_t window_bytes) {
  ReadWindow w(file, file_bytes, window_bytes);
  ScanOutcome out;
  uint64_t at = start_offset;
  uint64_t seq = expected_seq;
  int rereads = 0;
  while (at < file_bytes) {
    auto head = w.view(at, kRecordHeaderBytes);
    if (!head) return head.status();
    const size_t len = head->size() < kRecordHeaderBytes ? 0 : get_u32(head->data() + 4);
    auto bytes = w.view(at, kRecordHeaderBytes + std::min(len, kRecordPayloadBytesMax));
    if (!bytes) return bytes.status();
    FrameView f;
    const FrameStatus st = decode_frame(*bytes, f);
    if (st == FrameStatus::ok && (f.seq != seq || f.offset != at)) {
      out.end = ScanOutcome::End::corrupt;
      out.problem_offset = at;
      out.problem = fmt::format("misplaced record: seq {} stored for offset {} found at offset {} where seq {} belongs"
                                " (misdirected or stale write)", f.seq, f.offset, at, seq);
      break;
    }
    if (st == FrameStatus::ok) {
      rereads = 0;
      const bool go_on = !fn || fn(f.seq, at, f.payload);
      ++out.records;
      at += f.frame_bytes;
      ++seq;
      if (!go_on || f.seq + 1 >= stop_seq) {
        out.stopped = true;
        break;
      }
      continue;
    }
    if (rereads < kRereadsMax) {  // transient read damage is cured by reading again
      ++rereads;
      ++out.rereads;
      w.invalidate();
      continue;
    }
    out.problem_offset = at;
    if (!tail) {
      out.end = ScanOutcome::End::corrupt;
      out.problem = fmt::format("{} at offset {} (seq {} expected) in a sealed segment", frame_status_name(st), at, seq);
      break;
    }
    auto witness = find_witness(w, at + 1, seq);
    if (!witness) return witness.status();
    if (witness->found && (witness->frame.synced_through > at || witness->frame.offset != witness->at)) {
      out.end = ScanOutcome::End::corrupt;
      out.problem = fmt::format(
          "{} at offset {} (seq {} expected) before durable data: record seq {} at offset {} was written after "
          "offset {} was synced", frame_status_name(st), at, seq, witness->frame.seq, witness->at,
          witness->frame.synced_through);
    } else {
      out.end = ScanOutcome::End::torn_tail;
      out.problem = fmt::format("{} at offset {} (torn tail of {} bytes)", frame_status_name(st), at, file_bytes - at);
    }
    break;
  }
  out.end_offset = at;
  out.next_seq = seq;
  return out;
}

}  // namespace meshd::storage
