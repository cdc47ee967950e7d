#include "core/consensus/raft_storage.h"

#include <fmt/format.h>

#include <array>

#include "core/env/assert.h"
#include "core/wire/byte_io.h"

namespace meshd::consensus {

namespace {
constexpr size_t kRecordBytesMax = 1 + 8 + 8 + kEntryBytesMax;
}  // namespace

std::vector<uint8_t> encode_record(const RaftRecord& r) {
  std::array<uint8_t, kRecordBytesMax> buf{};
  wire::Writer w(buf);
  w.write_u8(static_cast<uint8_t>(r.type));
  if (r.type == RaftRecordType::hard_state) {
    w.write_u64(r.hard_state.term);
    w.write_u8(r.hard_state.vote);
  } else {
    MESHD_ASSERT(r.entry.data.size() <= kEntryBytesMax);
    w.write_u64(r.entry.index);
    w.write_u64(r.entry.term);
    w.write_bytes(r.entry.data);
  }
  MESHD_ASSERT(w.ok());
  auto out = w.written();
  return {out.begin(), out.end()};
}

std::optional<RaftRecord> decode_record(std::span<const uint8_t> bytes) {
  wire::Reader rd(bytes);
  uint8_t type = 0;
  RaftRecord r;
  if (!rd.read_u8(type)) return std::nullopt;
  if (type == static_cast<uint8_t>(RaftRecordType::hard_state)) {
    r.type = RaftRecordType::hard_state;
    if (!rd.read_u64(r.hard_state.term) || !rd.read_u8(r.hard_state.vote) || !rd.at_end()) return std::nullopt;
    if (r.hard_state.vote != kNoVote && r.hard_state.vote >= kVotersMax) return std::nullopt;
    return r;
  }
  if (type != static_cast<uint8_t>(RaftRecordType::entry)) return std::nullopt;
  r.type = RaftRecordType::entry;
  if (!rd.read_u64(r.entry.index) || !rd.read_u64(r.entry.term)) return std::nullopt;
  if (r.entry.index == 0 || r.entry.term == 0 || rd.remaining() > kEntryBytesMax) return std::nullopt;
  const auto rest = rd.rest();
  r.entry.data.assign(rest.begin(), rest.end());
  return r;
}

bool RaftRecovery::apply(const RaftRecord& r, std::string& why) {
  if (r.type == RaftRecordType::hard_state) {
    if (r.hard_state.term < state.term) {
      why = fmt::format("hard state term {} after term {}", r.hard_state.term, state.term);
      return false;
    }
    state = r.hard_state;
    return true;
  }
  const Entry& e = r.entry;
  if (e.index > log.last_index() + 1) {
    why = fmt::format("entry {} after last index {} (a gap)", e.index, log.last_index());
    return false;
  }
  if (e.term > state.term) {
    why = fmt::format("entry {} of term {} above the hard state's term {}", e.index, e.term, state.term);
    return false;
  }
  if (e.index <= log.last_index()) log.truncate_from(e.index, 0);
  if (e.term < log.last_term()) {
    why = fmt::format("entry {} of term {} after an entry of term {}", e.index, e.term, log.last_term());
    return false;
  }
  log.append(e);
  return true;
}

Result<std::unique_ptr<RaftStorage>> RaftStorage::open(Disk& disk, Runtime* runtime, Log* log, std::string prefix) {
  storage::LogOptions opt;
  opt.prefix = std::move(prefix);
  opt.sync = storage::SyncPolicy::none;  // persist() syncs once per batch
  opt.segment_bytes = uint64_t{4} << 20;
  auto opened = storage::AppendLog::open(disk, runtime, log, opt);
  if (!opened) return opened.status();
  std::unique_ptr<RaftStorage> s(new RaftStorage(std::move(*opened)));
  std::string why;
  Status scanned = s->log_->scan(s->log_->first_seq(), s->log_->next_seq(),
                                 [&](uint64_t seq, std::span<const uint8_t> payload) {
                                   std::optional<RaftRecord> r = decode_record(payload);
                                   if (!r) {
                                     why = fmt::format("record {}: undecodable", seq);
                                     return false;
                                   }
                                   if (!s->recovered_.apply(*r, why)) {
                                     why = fmt::format("record {}: {}", seq, why);
                                     return false;
                                   }
                                   return true;
                                 });
  if (!scanned) return scanned;
  if (!why.empty()) return Status(Errc::corrupt, "raft log: " + why);
  return s;
}

Status RaftStorage::persist(const RaftPersist& p) {
  if (p.empty()) return Status::ok();
  // Entries first would let a crash leave an entry above the durable term;
  // the hard state goes first (one fsync covers both anyway).
  if (p.hard_state) {
    auto seq = log_->append(encode_record(RaftRecord{.type = RaftRecordType::hard_state, .hard_state = *p.hard_state}));
    if (!seq) return seq.status();
  }
  for (const Entry& e : p.entries) {
    auto seq = log_->append(encode_record(RaftRecord{.type = RaftRecordType::entry, .entry = e}));
    if (!seq) return seq.status();
  }
  return log_->sync();
}

}  // namespace meshd::consensus
