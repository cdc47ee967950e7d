#include "core/storage/append_log.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/env/assert.h"

namespace meshd::storage {

std::string_view sync_policy_name(SyncPolicy p) {
  switch (p) {
    case SyncPolicy::every: return "every";
    case SyncPolicy::group: return "group";
    case SyncPolicy::none: return "none";
  }
  return "?";
}

std::optional<SyncPolicy> parse_sync_policy(std::string_view name) {
  for (SyncPolicy p : {SyncPolicy::every, SyncPolicy::group, SyncPolicy::none}) {
    if (sync_policy_name(p) == name) return p;
  }
  return std::nullopt;
}

AppendLog::AppendLog(Disk& disk, Runtime* runtime, Log* log, LogOptions options)
    : disk_(disk), runtime_(runtime), log_(log), opt_(std::move(options)) {}

AppendLog::~AppendLog() = default;

Result<std::unique_ptr<AppendLog>> AppendLog::open(Disk& disk, Runtime* runtime, Log* log, LogOptions options) {
  if (!valid_segment_prefix(options.prefix)) return Status(Errc::invalid, "prefix: must be 1..64 of [A-Za-z0-9_]");
  if (options.segment_bytes < kSegmentBytesMin || options.segment_bytes > kSegmentTargetBytesMax) {
    return Status(Errc::invalid, fmt::format("segment_bytes: must be in [{}, {}]", kSegmentBytesMin, kSegmentTargetBytesMax));
  }
  if (options.batch_bytes_max == 0 || options.batch_bytes_max > kBatchBytesMaxLimit) {
    return Status(Errc::invalid, fmt::format("batch_bytes_max: must be in [1, {}]", kBatchBytesMaxLimit));
  }
  if (options.index_stride_records == 0) return Status(Errc::invalid, "index_stride_records: must be > 0");
  if (options.group_max_delay_us < 0) return Status(Errc::invalid, "group_max_delay_us: must be >= 0");
  std::unique_ptr<AppendLog> l(new AppendLog(disk, runtime, log, std::move(options)));
  if (Status s = l->recover(); !s) return s;
  // Recovery leaves nothing buffered or in flight: all that is on disk is durable.
  MESHD_ASSERT(l->buffer_.empty() && l->pending_.empty());
  MESHD_ASSERT(l->durable_end_ == l->written_end_ && l->written_end_ == l->next_seq_);
  MESHD_ASSERT(!l->segments_.empty());
  return l;
}

// --- recovery ---------------------------------------------------------------

Status AppendLog::recover() {
  auto listed = list_segments(disk_, opt_.prefix);
  if (!listed) return listed.status();
  const auto& found = *listed;
  if (found.empty()) return create_segment(kFirstSeq);

  for (size_t i = 0; i < found.size(); ++i) {
    const auto& [name_seq, name] = found[i];
    const bool last = i + 1 == found.size();
    auto file = disk_.open(name, OpenMode::existing);
    if (!file) return file.status();
    auto size = (*file)->size();
    if (!size) return size.status();
    std::vector<uint8_t> head(kSegmentHeaderBytes);
    auto n = (*file)->pread(0, head);
    if (!n) return n.status();
    head.resize(*n);
    SegmentHeader h;
    HeaderStatus hs = decode_segment_header(head, h);
    for (int i = 0; i < kRereadsMax && hs != HeaderStatus::ok && hs != HeaderStatus::short_header; ++i) {
      n = (*file)->pread(0, head);  // transient read damage is cured by reading again
      if (!n) return n.status();
      hs = decode_segment_header(head, h);
      ++recovery_.rereads;
    }
    const bool all_zero = std::all_of(head.begin(), head.end(), [](uint8_t b) { return b == 0; });
    if (hs != HeaderStatus::ok && last && (hs == HeaderStatus::short_header || all_zero) &&
        *size <= kSegmentHeaderBytes) {
      // A segment created at a crash whose header write never became
      // durable: it holds no record. Remove it (a later one is created).
      if (Status s = disk_.unlink(name); !s) return s;
      if (Status s = disk_.sync_dir(); !s) return s;
      ++recovery_.empty_segments_removed;
      if (segments_.empty()) return create_segment(name_seq);
      break;
    }
    Segment seg;
    seg.name = name;
    seg.first_seq = name_seq;
    seg.bytes = *size;
    recovery_.scanned_bytes += head.size();
    if (hs != HeaderStatus::ok || h.first_seq != name_seq) {
      segments_.emplace(name_seq, seg);
      note_corruption({name, 0, name_seq,
                       hs != HeaderStatus::ok ? std::string(header_status_name(hs))
                                              : fmt::format("header says first seq {}, name says {}", h.first_seq, name_seq)});
      next_seq_ = written_end_ = durable_end_ = name_seq;
      return Status::ok();
    }
    seg.created_ms = h.created_ms;
    auto [it, inserted] = segments_.emplace(name_seq, std::move(seg));
    MESHD_ASSERT(inserted);
    if (last) {
      active_file_ = std::move(*file);
      if (Status s = recover_tail(it->second); !s) return s;
    }
  }
  if (!active_file_) {
    // The last segment was removed as empty: its predecessor (sealed, so
    // fully durable) becomes the active segment again.
    auto file = disk_.open(active().name, OpenMode::existing);
    if (!file) return file.status();
    active_file_ = std::move(*file);
    if (Status s = recover_tail(active()); !s) return s;
  }
  recovery_.segments = segments_.size();
  if (opt_.verify_on_open && !corruption_) {
    for (auto& [first, seg] : segments_) {
      if (&seg == &active()) break;
      bool stopped = false;
      Status s = scan_segment_from(seg, first, segment_end_seq(seg), nullptr, stopped);
      if (!s && s.code() != Errc::corrupt) return s;
      if (!s) break;
    }
  }
  return Status::ok();
}

Status AppendLog::recover_tail(Segment& seg) {
  auto out = scan_segment(*active_file_, seg.bytes, kSegmentHeaderBytes, seg.first_seq, true,
                          [&](uint64_t seq, uint64_t offset, std::span<const uint8_t>) {
                            add_index(seg, seq, offset);
                            return true;
                          });
  if (!out) return out.status();
  recovery_.scanned_bytes += seg.bytes;
  recovery_.rereads += out->rereads;
  MESHD_ASSERT(out->next_seq >= seg.first_seq);  // a scan never goes backwards
  MESHD_ASSERT(out->end_offset >= kSegmentHeaderBytes && out->end_offset <= seg.bytes);
  next_seq_ = written_end_ = durable_end_ = out->next_seq;
  if (out->end == ScanOutcome::End::corrupt) {
    note_corruption({seg.name, out->problem_offset, out->next_seq, out->problem});
    return Status::ok();
  }
  if (out->end == ScanOutcome::End::torn_tail) {
    ++recovery_.torn_tails;
    recovery_.torn_tail_bytes += seg.bytes - out->end_offset;
    if (log_) log_->warn("storage_torn_tail", {{"segment", seg.name}, {"offset", out->end_offset},
                                               {"bytes", seg.bytes - out->end_offset}});
    if (Status s = active_file_->truncate(out->end_offset); !s) return s;
    seg.bytes = out->end_offset;
  }
  MESHD_ASSERT(seg.bytes >= kSegmentHeaderBytes && seg.bytes <= kSegmentBytesMax);
  // What a dead process left in the page cache is readable but not yet
  // durable: make it so before reporting anything durable.
  if (Status s = active_file_->fsync(); !s) return s;
  ++counters_.fsyncs;
  synced_bytes_ = seg.bytes;
  seg.verified = true;
  return Status::ok();
}

void AppendLog::note_corruption(Corruption c) {
  if (corruption_ && corruption_->seq <= c.seq) return;
  if (log_) {
    log_->error("storage_corruption", {{"segment", c.segment}, {"offset", c.offset}, {"seq", c.seq}, {"what", c.what},
                                       {"remedy", "stop the node; meshlog verify DIR; meshlog repair DIR "
                                                  "--truncate-after-corruption (drops seq >= the one reported)"}});
  }
  corruption_ = std::move(c);
}

Status AppendLog::fail(Status cause) {
  MESHD_ASSERT(!cause.is_ok());  // only a real error fails the log
  if (failure_.is_ok()) {
    failure_ = Status(cause.code() == Errc::no_space ? Errc::no_space : Errc::io_error,
                      "storage log failed (restart to recover from disk): " + cause.to_string());
    if (log_) log_->error("storage_failed", {{"cause", cause.to_string()}, {"durable_end", durable_end_}});
  }
  if (runtime_) runtime_->wake_all(io_waiters_);
  MESHD_ASSERT(!failure_.is_ok());  // once failed, failed until reopened
  return failure_;
}

LogHealth AppendLog::health() const {
  if (!failure_.is_ok()) return LogHealth::failed;
  if (corruption_) return LogHealth::corrupt;
  return LogHealth::ok;
}

Status AppendLog::check_appendable() const {
  if (!failure_.is_ok()) return failure_;
  if (corruption_) {
    return Status(Errc::corrupt, fmt::format("log corrupt at {} offset {} (seq {}): {}", corruption_->segment,
                                             corruption_->offset, corruption_->seq, corruption_->what));
  }
  return Status::ok();
}

// --- segments -----------------------------------------------------------------

Status AppendLog::create_segment(uint64_t first_seq) {
  // Segments are created in seq order, and only when nothing is buffered.
  MESHD_ASSERT(segments_.empty() || first_seq > segments_.rbegin()->first);
  MESHD_ASSERT(buffer_.empty() && pending_.empty());
  const std::string name = segment_name(opt_.prefix, first_seq);
  if (segments_.size() >= kSegmentsMax) return fail(Status(Errc::too_large, "kSegmentsMax segments"));
  auto file = disk_.open(name, OpenMode::create);
  if (!file) return fail(file.status());
  const std::vector<uint8_t> header = encode_segment_header({first_seq, static_cast<uint64_t>(opt_.now_ms)});
  if (Status s = (*file)->truncate(0); !s) return fail(s);
  if (Status s = (*file)->pwrite(0, header); !s) return fail(s);
  if (Status s = (*file)->fsync(); !s) return fail(s);
  ++counters_.fsyncs;
  // The name must be durable before any record in it is called durable.
  if (Status s = disk_.sync_dir(); !s) return fail(s);
  ++counters_.dir_syncs;
  Segment seg;
  seg.name = name;
  seg.first_seq = first_seq;
  seg.created_ms = static_cast<uint64_t>(opt_.now_ms);
  seg.bytes = kSegmentHeaderBytes;
  seg.verified = true;
  segments_[first_seq] = std::move(seg);
  active_file_ = std::move(*file);
  synced_bytes_ = kSegmentHeaderBytes;
  next_seq_ = written_end_ = std::max(next_seq_, first_seq);
  durable_end_ = std::max(durable_end_, first_seq);
  MESHD_ASSERT(durable_end_ <= written_end_ && written_end_ == next_seq_);
  MESHD_ASSERT(segments_.size() <= kSegmentsMax);
  return Status::ok();
}

// --- the io lock: one fiber at a time writes, fsyncs or changes segments -----

Status AppendLog::lock_io() {
  while (io_busy_) {
    MESHD_ASSERT_MSG(in_fiber(), "storage io lock contended outside a fiber");
    if (Status s = runtime_->park(io_waiters_, kNoDeadline); !s) return s;
  }
  io_busy_ = true;
  return Status::ok();
}

void AppendLog::unlock_io() {
  MESHD_ASSERT(io_busy_);
  io_busy_ = false;
  if (runtime_) runtime_->wake_all(io_waiters_);
}

namespace {
class IoGuard {
 public:
  explicit IoGuard(std::function<void()> unlock) : unlock_(std::move(unlock)) {}
  ~IoGuard() { unlock_(); }
  IoGuard(const IoGuard&) = delete;
  IoGuard& operator=(const IoGuard&) = delete;

 private:
  std::function<void()> unlock_;
};
}  // namespace

Status AppendLog::write_buffer() {
  MESHD_ASSERT(io_busy_);
  // Never touch the file again once failed — in particular never fsync
  // again: a waiter that got the lock after the failure must not turn a
  // lost write into a "successful" fsync (the fsyncgate trap).
  if (!failure_.is_ok()) return failure_;
  if (buffer_.empty()) return Status::ok();
  // The buffer holds exactly the records after the written ones, densely.
  MESHD_ASSERT(!pending_.empty() && pending_.front().seq == written_end_ && pending_.back().seq + 1 == next_seq_);
  MESHD_ASSERT(pending_.back().seq - pending_.front().seq + 1 == pending_.size());
  inflight_.swap(buffer_);
  inflight_pending_.swap(pending_);
  buffer_.clear();
  pending_.clear();
  const auto synced = static_cast<uint32_t>(synced_bytes_);
  for (const Pending& p : inflight_pending_) seal_frame(inflight_.data() + p.at, p.partial_crc, synced);
  Segment& seg = active();
  Status s = active_file_->pwrite(seg.bytes, inflight_);
  if (!s) return fail(s);
  ++counters_.writes;
  for (const Pending& p : inflight_pending_) add_index(seg, p.seq, seg.bytes + p.at);
  seg.bytes += inflight_.size();
  written_end_ = inflight_pending_.back().seq + 1;
  // Appends may have arrived while the write was under way (the seam may yield).
  MESHD_ASSERT(written_end_ <= next_seq_ && durable_end_ <= written_end_);
  MESHD_ASSERT(seg.bytes <= kSegmentBytesMax);
  inflight_.clear();
  inflight_pending_.clear();
  return Status::ok();
}

Status AppendLog::sync_locked() {
  if (Status s = write_buffer(); !s) return s;  // also refuses once failed
  const uint64_t target_seq = written_end_;
  const uint64_t target_bytes = active().bytes;
  if (target_seq <= durable_end_) return Status::ok();
  if (opt_.planted_bug_ack_before_fsync) {  // test-only defect (see LogOptions)
    durable_end_ = target_seq;
    return Status::ok();
  }
  // fdatasync, not fsync: the segment's name and header were made durable
  // by fsync + sync_dir at creation, so a batch needs only its bytes and the
  // new size — not the mtime journal commit fsync adds (docs/storage.md).
  Status s = active_file_->datasync();
  if (!s) return fail(s);
  ++counters_.fsyncs;
  durable_end_ = std::max(durable_end_, target_seq);
  synced_bytes_ = std::max(synced_bytes_, target_bytes);
  // Durable never runs ahead of written, nor synced bytes ahead of the file.
  MESHD_ASSERT(durable_end_ <= written_end_ && written_end_ <= next_seq_);
  MESHD_ASSERT(synced_bytes_ <= active().bytes);
  return Status::ok();
}

Status AppendLog::rotate() {
  MESHD_ASSERT(io_busy_);
  rotating_ = true;
  IoGuard done([this] { rotating_ = false; });
  if (Status s = write_buffer(); !s) return s;
  // Seal: every frame of this segment durable before the next one exists,
  // so only the last segment can ever have a torn tail.
  if (Status s = active_file_->datasync(); !s) return fail(s);
  ++counters_.fsyncs;
  durable_end_ = std::max(durable_end_, written_end_);
  MESHD_ASSERT(buffer_.empty() && written_end_ == next_seq_);
  ++counters_.rotations;
  return create_segment(next_seq_);
}

// --- appending ------------------------------------------------------------------

Result<uint64_t> AppendLog::append(std::span<const uint8_t> payload) {
  if (payload.size() > kRecordPayloadBytesMax) {
    return Status(Errc::too_large, fmt::format("record of {} bytes over kRecordPayloadBytesMax", payload.size()));
  }
  const size_t frame_bytes = kRecordHeaderBytes + payload.size();
  for (;;) {
    if (Status s = check_appendable(); !s) return s;
    if (rotating_) {
      if (Status s = lock_io(); !s) return s;  // waits out the rotation
      unlock_io();
      continue;
    }
    const bool has_records = reserved_bytes() > kSegmentHeaderBytes;
    if (has_records && reserved_bytes() + frame_bytes > opt_.segment_bytes) {
      if (Status s = lock_io(); !s) return s;
      IoGuard g([this] { unlock_io(); });
      if (reserved_bytes() > kSegmentHeaderBytes && reserved_bytes() + frame_bytes > opt_.segment_bytes) {
        if (Status s = rotate(); !s) return s;
      }
      continue;
    }
    if (!buffer_.empty() && buffer_.size() + frame_bytes > opt_.batch_bytes_max) {
      if (Status s = lock_io(); !s) return s;
      IoGuard g([this] { unlock_io(); });
      if (Status s = write_buffer(); !s) return s;
      continue;
    }
    break;
  }
  const uint64_t seq = next_seq_++;
  const uint64_t offset = reserved_bytes();
  MESHD_ASSERT(offset + frame_bytes <= kSegmentBytesMax);
  pending_.push_back({seq, buffer_.size(), 0});
  pending_.back().partial_crc = append_frame(buffer_, seq, static_cast<uint32_t>(offset), payload);
  // A batch exceeds its limit only when one record alone is larger.
  MESHD_ASSERT(buffer_.size() <= opt_.batch_bytes_max || pending_.size() == 1);
  MESHD_ASSERT(next_seq_ == seq + 1 && pending_.size() <= next_seq_ - written_end_);
  ++counters_.appends;
  if (opt_.sync == SyncPolicy::every) {
    if (Status s = wait_durable(seq); !s) return s;
  }
  return seq;
}

Status AppendLog::wait_durable(uint64_t seq) {
  for (;;) {
    MESHD_ASSERT(durable_end_ <= written_end_ && written_end_ <= next_seq_);
    if (seq < durable_end_) return Status::ok();
    if (!failure_.is_ok()) return failure_;
    if (seq >= next_seq_) return Status(Errc::invalid, fmt::format("seq {} not appended (next {})", seq, next_seq_));
    if (Status s = lock_io(); !s) return s;
    IoGuard g([this] { unlock_io(); });
    if (seq < durable_end_) return Status::ok();
    // The leader: let a batch gather, then one write + one fsync for all.
    if (opt_.sync == SyncPolicy::group && opt_.group_max_delay_us > 0 && in_fiber() &&
        buffer_.size() < opt_.batch_bytes_max) {
      if (Status s = runtime_->sleep_for(opt_.group_max_delay_us); !s) return s;
    }
    ++counters_.group_batches;
    if (Status s = sync_locked(); !s) return s;
  }
}

Status AppendLog::sync() {
  if (next_seq_ == durable_end_) return failure_;
  return wait_durable(next_seq_ - 1);
}

Status AppendLog::flush() {
  if (!failure_.is_ok()) return failure_;
  if (Status s = lock_io(); !s) return s;
  IoGuard g([this] { unlock_io(); });
  return write_buffer();
}

}  // namespace meshd::storage
