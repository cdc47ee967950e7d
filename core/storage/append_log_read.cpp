// AppendLog: reads, scans, prefix truncation and retention.
#include <fmt/format.h>

#include <algorithm>

#include "core/env/assert.h"
#include "core/storage/append_log.h"

namespace meshd::storage {

uint64_t AppendLog::first_seq() const { return segments_.empty() ? next_seq_ : segments_.begin()->first; }

uint64_t AppendLog::bytes() const {
  uint64_t total = inflight_.size() + buffer_.size();
  for (const auto& [first, seg] : segments_) total += seg.bytes;
  return total;
}

uint64_t AppendLog::segment_end_seq(const Segment& seg) const {
  auto it = segments_.upper_bound(seg.first_seq);
  return it == segments_.end() ? written_end_ : it->first;
}

void AppendLog::add_index(Segment& seg, uint64_t seq, uint64_t offset) {
  if ((seq - seg.first_seq) % opt_.index_stride_records != 0) return;
  if (!seg.index.empty() && seg.index.back().first >= seq) return;  // already known
  seg.index.emplace_back(seq, offset);
}

Result<File*> AppendLog::reader(const Segment& seg) {
  if (&seg == &active() && active_file_) return active_file_.get();
  if (read_file_ && read_file_name_ == seg.name) return read_file_.get();
  read_file_.reset();  // kOpenFilesMax: the active segment + this one
  auto f = disk_.open(seg.name, OpenMode::existing);
  if (!f) return f.status();
  read_file_ = std::move(*f);
  read_file_name_ = seg.name;
  return read_file_.get();
}

Status AppendLog::scan_segment_from(Segment& seg, uint64_t from, uint64_t to, const ScanFn& fn, bool& stopped) {
  const uint64_t end_seq = segment_end_seq(seg);
  to = std::min(to, end_seq);
  if (from >= to) return Status::ok();
  auto file = reader(seg);
  if (!file) return file.status();
  uint64_t start_seq = seg.first_seq, start_offset = kSegmentHeaderBytes;
  auto it = std::upper_bound(seg.index.begin(), seg.index.end(), std::make_pair(from, UINT64_MAX));
  if (it != seg.index.begin()) {
    --it;
    start_seq = it->first;
    start_offset = it->second;
  }
  const bool point = to - from <= 1;
  auto out = scan_segment(
      **file, seg.bytes, start_offset, start_seq, false,
      [&](uint64_t seq, uint64_t offset, std::span<const uint8_t> payload) {
        add_index(seg, seq, offset);
        if (seq < from || !fn) return true;
        if (!fn(seq, payload)) {
          stopped = true;
          return false;
        }
        return true;
      },
      to, point ? kPointReadWindowBytes : kScanWindowBytes);
  if (!out) return out.status();
  counters_.rereads += out->rereads;
  if (out->end == ScanOutcome::End::clean && out->next_seq >= to) {
    if (out->next_seq == end_seq) seg.verified = true;
    return Status::ok();
  }
  Corruption c{seg.name, out->end_offset, out->next_seq, out->problem};
  if (out->end == ScanOutcome::End::clean) {
    c.what = fmt::format("segment ends at seq {} but the log continues at seq {} (records missing)", out->next_seq, end_seq);
  }
  note_corruption(c);
  return Status(Errc::corrupt, fmt::format("{} offset {} (seq {}): {}", c.segment, c.offset, c.seq, c.what));
}

bool AppendLog::serve_buffered(uint64_t seq, const ScanFn& fn, bool& stopped) const {
  for (const auto* set : {&inflight_pending_, &pending_}) {
    const std::vector<uint8_t>& buf = set == &pending_ ? buffer_ : inflight_;
    if (set->empty() || seq < set->front().seq || seq > set->back().seq) continue;
    const Pending& p = (*set)[seq - set->front().seq];
    MESHD_ASSERT(p.seq == seq);
    const uint32_t len = get_u32(buf.data() + p.at + 4);
    if (!fn(seq, std::span(buf.data() + p.at + kRecordHeaderBytes, len))) stopped = true;
    return true;
  }
  return false;
}

Status AppendLog::scan(uint64_t from, uint64_t to, const ScanFn& fn) {
  from = std::max(from, first_seq());
  to = std::min(to, next_seq_);
  if (corruption_ && to > corruption_->seq) {
    // Serve up to the corruption, then say why the rest is refused.
    const Corruption c = *corruption_;
    if (from < c.seq) {
      if (Status s = scan(from, c.seq, fn); !s) return s;
    }
    return Status(Errc::corrupt, fmt::format("{} offset {} (seq {}): {}", c.segment, c.offset, c.seq, c.what));
  }
  bool stopped = false;
  uint64_t seq = from;
  while (seq < to && seq < written_end_ && !stopped) {
    auto it = segments_.upper_bound(seq);
    MESHD_ASSERT(it != segments_.begin());
    --it;
    Segment& seg = it->second;
    const uint64_t seg_to = std::min(to, segment_end_seq(seg));
    if (Status s = scan_segment_from(seg, seq, seg_to, fn, stopped); !s) return s;
    seq = seg_to;
  }
  for (; seq < to && !stopped; ++seq) {
    const bool served = serve_buffered(seq, fn, stopped);
    MESHD_ASSERT_MSG(served, "an appended seq is neither in a segment nor buffered");
  }
  return Status::ok();
}

Result<std::vector<uint8_t>> AppendLog::read(uint64_t seq) {
  if (seq < first_seq() || seq >= next_seq_) {
    return Status(Errc::not_found, fmt::format("seq {} outside [{}, {})", seq, first_seq(), next_seq_));
  }
  std::vector<uint8_t> out;
  bool got = false;
  Status s = scan(seq, seq + 1, [&](uint64_t, std::span<const uint8_t> payload) {
    out.assign(payload.begin(), payload.end());
    got = true;
    return false;
  });
  if (!s) return s;
  MESHD_ASSERT(got);
  return out;
}

Status AppendLog::delete_segments_before(uint64_t first_kept) {
  if (!failure_.is_ok()) return failure_;
  if (Status s = lock_io(); !s) return s;
  bool deleted = false;
  Status result = failure_;  // failed while waiting for the lock: touch nothing
  while (result.is_ok() && segments_.size() > 1 && segments_.begin()->first < first_kept) {
    const std::string name = segments_.begin()->second.name;
    if (read_file_name_ == name) {
      read_file_.reset();
      read_file_name_.clear();
    }
    // Oldest first, so any durable state of the directory is a suffix.
    if (Status s = disk_.unlink(name); !s) {
      result = fail(s);
      break;
    }
    segments_.erase(segments_.begin());
    ++counters_.segments_deleted;
    deleted = true;
  }
  if (deleted && result.is_ok()) {
    if (Status s = disk_.sync_dir(); !s) result = fail(s);
    ++counters_.dir_syncs;
  }
  unlock_io();
  return result;
}

Status AppendLog::truncate_prefix(uint64_t keep_from) {
  // The first segment to keep is the one holding keep_from (or the active).
  uint64_t first_kept = active().first_seq;
  for (const auto& [first, seg] : segments_) {
    if (segment_end_seq(seg) > keep_from) {
      first_kept = first;
      break;
    }
  }
  return delete_segments_before(first_kept);
}

Status AppendLog::retain(const Retention& r, uint64_t replaced_through, int64_t now_ms) {
  uint64_t total = bytes();
  uint64_t first_kept = segments_.begin()->first;
  for (auto it = segments_.begin(); std::next(it) != segments_.end(); ++it) {
    const auto next = std::next(it);
    const uint64_t end_seq = next->first;  // exclusive
    if (end_seq - 1 > replaced_through) break;  // not yet covered by a durable snapshot
    // A segment's age is the time since it was sealed (its successor's birth).
    const bool too_old = r.max_age_ms != INT64_MAX && now_ms - static_cast<int64_t>(next->second.created_ms) > r.max_age_ms;
    if (total <= r.max_bytes && !too_old) break;
    total -= it->second.bytes;
    first_kept = next->first;
  }
  return delete_segments_before(first_kept);
}

}  // namespace meshd::storage
