// RaftOracle: Raft's safety properties, checked on every seed of a Raft
// run (raft_runner.h) from what the voters report as it happens.
//
//  * Election safety: at most one leader per term (every becoming-leader
//    is recorded by term).
//  * Leader completeness (the paper's Figure 3): a leader of term T holds
//    every entry committed in a term below T (same index, term and bytes).
//    The term an entry was committed in is bounded from above by the
//    lowest term of any voter whose output first reported it committed
//    (the committing leader's term at that time, or a later follower's),
//    so the check never blames a leader that Raft allows to lack it — e.g.
//    a candidate whose term-T votes arrive late, after a leader of T + 1
//    committed more (found by the 10,000-seed sweep: the first version of
//    this oracle required every committed entry and was wrong).
//  * State-machine safety: every voter applies, at each index, the same
//    entry (term and bytes) as every other voter applied there.
//  * Log matching: for any two voters, if their logs hold an entry with
//    the same index and term, the logs are identical up to it (checked at
//    the end).
//  * No committed entry lost: at the end every committed entry is held,
//    identical, by a quorum of voters' logs.
//  * Durable votes and terms across crashes: a voter that restarts comes
//    back with a term >= every term it sent a message in, and, in a term
//    in which it granted a vote, with that same vote.
// Violations name the property, the node, the term and the index.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/consensus/raft.h"

namespace meshd::sim {

class RaftOracle {
 public:
  explicit RaftOracle(size_t voters) : voters_(voters), nodes_(voters) {}

  // After each host batch was persisted and sent.
  void on_output(int64_t now_us, size_t node, const consensus::RaftNode& m, const consensus::RaftOutput& out);
  void on_apply(size_t node, const consensus::Entry& e);
  void on_boot(size_t node, const consensus::RaftNode& m);  // after recovery
  // At the end: every voter's log (an up voter's in memory, a down
  // voter's as recovered from its disk; null: unreadable).
  void check_end(const std::vector<const consensus::RaftLog*>& logs);

  const std::vector<std::string>& violations() const { return violations_; }
  uint64_t violation_count() const { return violation_count_; }
  uint64_t committed() const { return committed_.size(); }
  uint64_t elections() const { return leaders_.size(); }
  uint64_t max_term() const { return leaders_.empty() ? 0 : leaders_.rbegin()->first; }
  // Every (time, voter, term) a voter became leader, in order.
  struct Election {
    int64_t at_us;
    size_t node;
    uint64_t term;
  };
  const std::vector<Election>& election_log() const { return election_log_; }

 private:
  struct Committed {
    uint64_t term;
    uint64_t hash;
  };
  std::map<uint64_t, uint64_t> commit_term_;  // index -> upper bound of the term it was committed in
  struct NodeFacts {
    uint64_t applied = 0;                     // this boot
    uint64_t max_sent_term = 0;
    std::map<uint64_t, consensus::VoterId> votes_granted;  // term -> candidate
  };
  void violation(std::string what);
  void check_log_matching(const std::vector<const consensus::RaftLog*>& logs);

  size_t voters_;
  std::vector<NodeFacts> nodes_;
  std::vector<Committed> committed_;        // index - 1
  std::map<uint64_t, size_t> leaders_;      // term -> voter
  std::vector<Election> election_log_;
  std::vector<std::string> violations_;
  uint64_t violation_count_ = 0;
};

uint64_t entry_hash(const consensus::Entry& e);

}  // namespace meshd::sim
