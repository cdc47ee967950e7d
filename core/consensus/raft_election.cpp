// RaftNode: PreVote, elections and becoming leader (raft.h).
#include "core/consensus/raft.h"
#include "core/env/assert.h"

namespace meshd::consensus {

void RaftNode::start_pre_vote(int64_t now_us, Output& out) {
  if (role_ != Role::pre_candidate) out.role_changed = true;
  role_ = Role::pre_candidate;
  leader_.reset();
  votes_ = {};
  votes_[cfg_.self] = true;
  reset_election_timer(now_us);
  // The term we would stand for: ours + 1, ours unchanged (nothing to persist).
  const Message m{.type = MsgType::pre_vote_req, .term = hs_.term + 1, .last_index = log_.last_index(),
                  .last_term = log_.last_term()};
  for (VoterId p = 0; p < cfg_.voters.size(); ++p) {
    if (p != cfg_.self) send(p, m, out);
  }
  tally(now_us, cfg_.self, true, out);  // a single voter wins at once
}

void RaftNode::start_election(int64_t now_us, Output& out) {
  if (role_ != Role::candidate) out.role_changed = true;
  role_ = Role::candidate;
  leader_.reset();
  set_hard_state(HardState{hs_.term + 1, cfg_.self}, out);  // durable before any vote_req leaves
  votes_ = {};
  votes_[cfg_.self] = true;
  reset_election_timer(now_us);
  const Message m{.type = MsgType::vote_req, .term = hs_.term, .last_index = log_.last_index(),
                  .last_term = log_.last_term()};
  for (VoterId p = 0; p < cfg_.voters.size(); ++p) {
    if (p != cfg_.self) send(p, m, out);
  }
  tally(now_us, cfg_.self, true, out);
}

void RaftNode::tally(int64_t now_us, VoterId from, bool granted, Output& out) {
  MESHD_ASSERT(role_ == Role::pre_candidate || role_ == Role::candidate);
  if (granted) votes_[from] = true;
  size_t grants = 0;
  for (size_t i = 0; i < cfg_.voters.size(); ++i) grants += votes_[i] ? 1 : 0;
  if (grants < quorum()) return;
  if (role_ == Role::pre_candidate) {
    start_election(now_us, out);
  } else {
    become_leader(now_us, out);
  }
}

RaftDrop RaftNode::on_vote_req(int64_t now_us, VoterId from, const Message& m, Output& out) {
  const bool up_to_date = log_.candidate_up_to_date(m.last_term, m.last_index);
  if (m.type == MsgType::pre_vote_req) {
    // Granting a pre-vote changes nothing here: no term, no vote, no timer.
    const bool grant = m.term > hs_.term && up_to_date && !within_leader_lease(now_us);
    send(from, Message{.type = MsgType::pre_vote_resp, .term = grant ? m.term : hs_.term, .granted = grant}, out);
    return Drop::none;
  }
  MESHD_ASSERT(m.term == hs_.term);  // a higher term was adopted by the caller
  const bool grant = (hs_.vote == kNoVote || hs_.vote == from) && up_to_date;
  if (grant) {
    if (hs_.vote != from) set_hard_state(HardState{hs_.term, from}, out);  // durable before the answer
    reset_election_timer(now_us);
  }
  send(from, Message{.type = MsgType::vote_resp, .term = hs_.term, .granted = grant}, out);
  return Drop::none;
}

void RaftNode::become_leader(int64_t now_us, Output& out) {
  MESHD_ASSERT(role_ == Role::candidate && hs_.vote == cfg_.self);
  role_ = Role::leader;
  out.role_changed = true;
  leader_ = cfg_.self;
  const uint64_t next = log_.last_index() + 1;
  for (Peer& p : peers_) p = Peer{.match = 0, .next = next, .last_contact_us = now_us};
  // The no-op of our term: older entries commit only through an entry of
  // the current term (§5.4.2), and it makes the new leader's commit index
  // (and so the reads it answers) current at once.
  append_local(Entry{next, hs_.term, {}}, out);
  heartbeat_deadline_us_ = now_us + cfg_.heartbeat_interval_us;
  quorum_check_deadline_us_ = now_us + cfg_.election_timeout_min_us;
  leader_contact_us_ = now_us;
  for (VoterId p = 0; p < cfg_.voters.size(); ++p) {
    if (p != cfg_.self) replicate(p, out);
  }
  maybe_commit(out);
}

}  // namespace meshd::consensus
