// RaftLog: the in-memory copy of a voter's log (the durable copy is
// RaftStorage's; the machine emits every change for the host to persist).
// Entries are dense from index 1 (no snapshots yet, so nothing is
// compacted). The commit index lives in the machine, which never truncates
// at or below it (asserted here).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/consensus/raft_types.h"

namespace meshd::consensus {

class RaftLog {
 public:
  uint64_t last_index() const { return entries_.size(); }
  uint64_t last_term() const { return entries_.empty() ? 0 : entries_.back().term; }
  // Term of entry `index`; 0 for index 0. index <= last_index().
  uint64_t term_at(uint64_t index) const;
  const Entry& at(uint64_t index) const;  // 1 <= index <= last_index()
  // True if a candidate whose log ends at (last_term, last_index) is at
  // least as up-to-date as ours (Raft §5.4.1).
  bool candidate_up_to_date(uint64_t last_term, uint64_t last_index) const;
  // The first index of the term that entry `index` belongs to.
  uint64_t first_index_of_term_at(uint64_t index) const;

  void append(Entry e);                 // e.index == last_index() + 1, term non-decreasing
  void truncate_from(uint64_t index, uint64_t commit);  // drops [index, last]; index > commit
  // Entries [from, ...] up to `count_max` entries and `bytes_max` encoded
  // bytes (at least one entry if any exists, so progress never stalls).
  std::vector<Entry> slice(uint64_t from, size_t count_max, size_t bytes_max) const;

 private:
  std::vector<Entry> entries_;
};

}  // namespace meshd::consensus
