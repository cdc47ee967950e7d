#include "core/consensus/raft_log.h"

#include "core/consensus/raft_wire.h"
#include "core/env/assert.h"

namespace meshd::consensus {

uint64_t RaftLog::term_at(uint64_t index) const {
  MESHD_ASSERT(index <= last_index());
  return index == 0 ? 0 : entries_[index - 1].term;
}

const Entry& RaftLog::at(uint64_t index) const {
  MESHD_ASSERT(index >= 1 && index <= last_index());
  return entries_[index - 1];
}

bool RaftLog::candidate_up_to_date(uint64_t last_term, uint64_t last_index) const {
  if (last_term != this->last_term()) return last_term > this->last_term();
  return last_index >= this->last_index();
}

uint64_t RaftLog::first_index_of_term_at(uint64_t index) const {
  MESHD_ASSERT(index >= 1 && index <= last_index());
  const uint64_t term = term_at(index);
  while (index > 1 && term_at(index - 1) == term) --index;
  return index;
}

void RaftLog::append(Entry e) {
  MESHD_ASSERT(e.index == last_index() + 1);
  MESHD_ASSERT(e.term >= last_term() && e.term > 0);
  MESHD_ASSERT(e.data.size() <= kEntryBytesMax);
  MESHD_ASSERT(last_index() < kLogEntriesMax);
  entries_.push_back(std::move(e));
}

void RaftLog::truncate_from(uint64_t index, uint64_t commit) {
  MESHD_ASSERT_MSG(index > commit, "a committed entry would be truncated");
  MESHD_ASSERT(index >= 1 && index <= last_index() + 1);
  entries_.resize(index - 1);
}

std::vector<Entry> RaftLog::slice(uint64_t from, size_t count_max, size_t bytes_max) const {
  std::vector<Entry> out;
  size_t bytes = 0;
  for (uint64_t i = from; i <= last_index() && out.size() < count_max; ++i) {
    const size_t b = entry_wire_bytes(at(i).data.size());
    if (!out.empty() && bytes + b > bytes_max) break;
    bytes += b;
    out.push_back(at(i));
  }
  return out;
}

}  // namespace meshd::consensus
