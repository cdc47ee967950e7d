#include "sim/consensus/raft_oracle.h"

#include <fmt/format.h>

#include "core/env/assert.h"

namespace meshd::sim {

namespace {
constexpr size_t kViolationsKept = 20;
}  // namespace

uint64_t entry_hash(const consensus::Entry& e) {
  uint64_t h = 1469598103934665603ull ^ e.term;  // FNV-1a over the bytes, seeded by the term
  for (uint8_t b : e.data) h = (h ^ b) * 1099511628211ull;
  return h;
}

void RaftOracle::violation(std::string what) {
  ++violation_count_;
  if (violations_.size() < kViolationsKept) violations_.push_back(std::move(what));
}

void RaftOracle::on_output(int64_t now_us, size_t node, const consensus::RaftNode& m, const consensus::RaftOutput& out) {
  MESHD_ASSERT(node < voters_);
  NodeFacts& f = nodes_[node];
  for (const Datagram& d : out.send) {
    std::optional<consensus::Message> msg = consensus::decode(d.bytes);
    MESHD_ASSERT_MSG(msg.has_value(), "a voter sent an undecodable message");
    // A pre_vote_req carries the term it would stand for, not its own.
    if (msg->type != consensus::MsgType::pre_vote_req && msg->type != consensus::MsgType::pre_vote_resp) {
      f.max_sent_term = std::max(f.max_sent_term, msg->term);
    }
    if (msg->type == consensus::MsgType::vote_resp && msg->granted) {
      for (size_t v = 0; v < m.config().voters.size(); ++v) {
        if (m.config().voters[v] == d.to) f.votes_granted[msg->term] = static_cast<consensus::VoterId>(v);
      }
    }
  }
  for (const consensus::Entry& e : out.committed) {
    auto [it, fresh] = commit_term_.emplace(e.index, m.term());
    if (!fresh) it->second = std::min(it->second, m.term());
  }
  if (out.role_changed && m.role() == consensus::Role::leader) {
    auto [it, fresh] = leaders_.emplace(m.term(), node);
    if (!fresh && it->second != node) {
      violation(fmt::format("election safety: term {} has two leaders: voter {} and voter {}", m.term(), it->second, node));
    }
    election_log_.push_back({now_us, node, m.term()});
    for (uint64_t i = 1; i <= committed_.size(); ++i) {
      const Committed& c = committed_[i - 1];
      auto ct = commit_term_.find(i);
      if (ct == commit_term_.end() || ct->second >= m.term()) continue;  // committed in this term or later
      if (i > m.log().last_index() || m.log().term_at(i) != c.term || entry_hash(m.log().at(i)) != c.hash) {
        violation(fmt::format("leader completeness: voter {} leads term {} without entry {} (term {}) committed by "
                              "term {}", node, m.term(), i, c.term, ct->second));
        break;
      }
    }
  }
}

void RaftOracle::on_apply(size_t node, const consensus::Entry& e) {
  NodeFacts& f = nodes_[node];
  MESHD_ASSERT(e.index == f.applied + 1);
  f.applied = e.index;
  const uint64_t h = entry_hash(e);
  if (e.index == committed_.size() + 1) {
    committed_.push_back({e.term, h});
    return;
  }
  MESHD_ASSERT(e.index <= committed_.size());
  const Committed& c = committed_[e.index - 1];
  if (c.term != e.term || c.hash != h) {
    violation(fmt::format("state machine safety: voter {} applied entry {} of term {}, another voter applied term {} "
                          "there{}", node, e.index, e.term, c.term, c.term == e.term ? " with other bytes" : ""));
  }
}

void RaftOracle::on_boot(size_t node, const consensus::RaftNode& m) {
  NodeFacts& f = nodes_[node];
  f.applied = 0;
  if (m.term() < f.max_sent_term) {
    violation(fmt::format("durable term: voter {} restarted at term {} after sending messages of term {}", node, m.term(),
                          f.max_sent_term));
  }
  auto it = f.votes_granted.find(m.term());
  if (it != f.votes_granted.end() && m.vote() != it->second) {
    violation(fmt::format("durable vote: voter {} granted its term-{} vote to voter {} and restarted with vote {}", node,
                          m.term(), it->second, m.vote() == consensus::kNoVote ? -1 : int{m.vote()}));
  }
}

void RaftOracle::check_log_matching(const std::vector<const consensus::RaftLog*>& logs) {
  for (size_t a = 0; a < logs.size(); ++a) {
    for (size_t b = a + 1; b < logs.size(); ++b) {
      if (!logs[a] || !logs[b]) continue;
      const consensus::RaftLog& la = *logs[a];
      const consensus::RaftLog& lb = *logs[b];
      uint64_t i = std::min(la.last_index(), lb.last_index());
      while (i > 0 && la.term_at(i) != lb.term_at(i)) --i;
      for (uint64_t k = 1; k <= i; ++k) {
        if (la.term_at(k) != lb.term_at(k) || la.at(k).data != lb.at(k).data) {
          violation(fmt::format("log matching: voters {} and {} agree on entry {} (term {}) but differ at {}", a, b, i,
                                la.term_at(i), k));
          break;
        }
      }
    }
  }
}

void RaftOracle::check_end(const std::vector<const consensus::RaftLog*>& logs) {
  check_log_matching(logs);
  const size_t quorum = voters_ / 2 + 1;
  for (uint64_t i = 1; i <= committed_.size(); ++i) {
    size_t holders = 0;
    for (const consensus::RaftLog* l : logs) {
      if (l && i <= l->last_index() && l->term_at(i) == committed_[i - 1].term &&
          entry_hash(l->at(i)) == committed_[i - 1].hash) {
        ++holders;
      }
    }
    if (holders < quorum) {
      violation(fmt::format("committed entry lost: entry {} (term {}) is held by {} voters, a quorum is {}", i,
                            committed_[i - 1].term, holders, quorum));
      break;
    }
  }
}

}  // namespace meshd::sim
