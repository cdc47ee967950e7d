#include "core/storage/inspect.h"

#include <fmt/format.h>

#include <algorithm>

namespace meshd::storage {

Result<VerifyReport> verify_log(Disk& disk, std::string_view prefix, const RecordFn& fn, uint64_t from) {
  if (!valid_segment_prefix(prefix)) return Status(Errc::invalid, "invalid segment prefix");
  auto listed = list_segments(disk, prefix);
  if (!listed) return listed.status();
  const auto& found = *listed;
  VerifyReport rep;
  if (found.empty()) return rep;
  rep.first_seq = rep.next_seq = found.front().first;
  bool serving = true;  // no problem seen yet: records may be handed to fn
  for (size_t i = 0; i < found.size(); ++i) {
    const uint64_t first_seq = found[i].first;
    const std::string& name = found[i].second;
    const bool last = i + 1 == found.size();
    SegmentSummary sum{name, first_seq, 0, 0};
    auto problem = [&](uint64_t offset, uint64_t seq, std::string what) {
      rep.problems.push_back({name, offset, seq, std::move(what)});
      serving = false;
    };
    auto file = disk.open(name, OpenMode::existing);
    if (!file) return file.status();
    auto size = (*file)->size();
    if (!size) return size.status();
    sum.bytes = *size;
    std::vector<uint8_t> head(kSegmentHeaderBytes);
    auto n = (*file)->pread(0, head);
    if (!n) return n.status();
    head.resize(*n);
    SegmentHeader h;
    const HeaderStatus hs = decode_segment_header(head, h);
    if (serving && first_seq != rep.next_seq) {
      problem(0, rep.next_seq, fmt::format("segment starts at seq {} but the previous one ended before seq {}",
                                           first_seq, rep.next_seq));
    }
    if (hs != HeaderStatus::ok || h.first_seq != first_seq) {
      problem(0, first_seq, hs != HeaderStatus::ok ? std::string(header_status_name(hs))
                                                   : fmt::format("header says first seq {}", h.first_seq));
      rep.segments.push_back(sum);
      continue;
    }
    auto out = scan_segment(**file, *size, kSegmentHeaderBytes, first_seq, last,
                            [&](uint64_t seq, uint64_t, std::span<const uint8_t> payload) {
                              ++sum.records;
                              if (serving) {
                                ++rep.records;
                                if (fn && seq >= from && !fn(seq, payload)) serving = false;
                              }
                              return true;
                            });
    if (!out) return out.status();
    if (out->end == ScanOutcome::End::corrupt) {
      problem(out->problem_offset, out->next_seq, out->problem);
    } else if (out->end == ScanOutcome::End::torn_tail) {
      rep.torn_tail = true;
      rep.torn = {name, out->problem_offset, out->next_seq, out->problem};
    }
    if (rep.problems.empty()) rep.next_seq = out->next_seq;
    if (!last && out->end == ScanOutcome::End::clean && out->next_seq != found[i + 1].first) {
      problem(out->end_offset, out->next_seq,
              fmt::format("segment ends at seq {} but the next segment starts at seq {}", out->next_seq,
                          found[i + 1].first));
    }
    rep.segments.push_back(sum);
  }
  return rep;
}

Result<RepairReport> repair_truncate_after_corruption(Disk& disk, std::string_view prefix) {
  auto rep = verify_log(disk, prefix);
  if (!rep) return rep.status();
  RepairReport out;
  out.next_seq = rep->next_seq;
  const Corruption* cut = !rep->problems.empty() ? &rep->problems.front() : rep->torn_tail ? &rep->torn : nullptr;
  if (cut == nullptr) return out;
  out.changed = true;
  auto file = disk.open(cut->segment, OpenMode::existing);
  if (!file) return file.status();
  const bool first_segment = !rep->segments.empty() && rep->segments.front().name == cut->segment;
  if (cut->offset < kSegmentHeaderBytes && !first_segment) {
    // A bad header or a segment that does not continue its predecessor:
    // it goes whole, and the log ends where the previous segment ends.
    file->reset();
    if (Status s = disk.unlink(cut->segment); !s) return s;
    out.deleted_segments.push_back(cut->segment);
  } else if (cut->offset < kSegmentHeaderBytes) {
    // The first segment's header: rewritten empty with the seq its name
    // carries, so the log's seqs continue where they were.
    const auto first = parse_segment_name(prefix, cut->segment);
    if (Status s = (*file)->truncate(0); !s) return s;
    if (Status s = (*file)->pwrite(0, encode_segment_header({first.value_or(kFirstSeq), 0})); !s) return s;
    if (Status s = (*file)->fsync(); !s) return s;
    out.truncated_segment = cut->segment;
    out.truncated_at = kSegmentHeaderBytes;
  } else {
    if (Status s = (*file)->truncate(cut->offset); !s) return s;
    if (Status s = (*file)->fsync(); !s) return s;
    out.truncated_segment = cut->segment;
    out.truncated_at = cut->offset;
  }
  bool after = false;
  for (const SegmentSummary& seg : rep->segments) {
    if (after) {
      if (Status s = disk.unlink(seg.name); !s) return s;
      out.deleted_segments.push_back(seg.name);
    }
    if (seg.name == cut->segment) after = true;
  }
  if (Status s = disk.sync_dir(); !s) return s;
  return out;
}

}  // namespace meshd::storage
