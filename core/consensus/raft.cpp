// RaftNode: construction, dispatch, timers, proposals (raft.h). Elections
// are in raft_election.cpp, replication in raft_replicate.cpp.
#include "core/consensus/raft.h"

#include <algorithm>

#include "core/env/assert.h"

namespace meshd::consensus {

std::string_view raft_config_error(const RaftConfig& c) {
  if (c.voters.empty() || c.voters.size() > kVotersMax) return "voters: 1..7 addresses";
  for (size_t i = 0; i < c.voters.size(); ++i) {
    for (size_t j = i + 1; j < c.voters.size(); ++j) {
      if (c.voters[i] == c.voters[j]) return "voters: an address appears twice";
    }
  }
  if (c.self >= c.voters.size()) return "self: not a voter position";
  if (c.heartbeat_interval_us <= 0) return "heartbeat_interval_us: must be > 0";
  if (c.election_timeout_min_us <= c.heartbeat_interval_us) return "election_timeout_min_us: must exceed the heartbeat";
  if (c.election_timeout_max_us <= c.election_timeout_min_us) return "election_timeout_max_us: must exceed the min";
  if (c.inflight_max < 1 || c.inflight_max > kInflightAppendsMax) return "inflight_max: 1..32";
  return "";
}

std::string_view drop_reason_name(RaftDrop d) {
  switch (d) {
    case RaftDrop::none: return "none";
    case RaftDrop::malformed: return "malformed";
    case RaftDrop::not_voter: return "not_voter";
    case RaftDrop::stale_term: return "stale_term";
    case RaftDrop::unexpected: return "unexpected";
    case RaftDrop::leader_lease: return "leader_lease";
  }
  return "invalid";
}

RaftNode::RaftNode(const RaftConfig& config, HardState state, RaftLog log, RandomStream rng, int64_t now_us)
    : cfg_(config), hs_(state), log_(std::move(log)), rng_(rng) {
  MESHD_ASSERT_MSG(raft_config_error(cfg_).empty(), "invalid RaftConfig");
  MESHD_ASSERT(hs_.vote == kNoVote || hs_.vote < cfg_.voters.size());
  MESHD_ASSERT(log_.last_term() <= hs_.term);
  reset_election_timer(now_us);
  assert_invariants();
}

std::optional<VoterId> RaftNode::voter_of(const Address& a) const {
  for (size_t i = 0; i < cfg_.voters.size(); ++i) {
    if (cfg_.voters[i] == a) return static_cast<VoterId>(i);
  }
  return std::nullopt;
}

void RaftNode::send(VoterId to, const Message& m, Output& out) const {
  MESHD_ASSERT(to != cfg_.self && to < cfg_.voters.size());
  out.send.push_back(Datagram{cfg_.voters[to], encode(m)});
}

void RaftNode::set_hard_state(HardState hs, Output& out) {
  MESHD_ASSERT_MSG(hs.term >= hs_.term, "term went backwards");
  MESHD_ASSERT_MSG(hs.term > hs_.term || hs_.vote == kNoVote || hs_.vote == hs.vote, "a second vote in one term");
  hs_ = hs;
  out.persist.hard_state = hs;
}

void RaftNode::reset_election_timer(int64_t now_us) {
  election_deadline_us_ =
      now_us + rng_.range(cfg_.election_timeout_min_us, cfg_.election_timeout_max_us - 1);
}

void RaftNode::become_follower(int64_t now_us, uint64_t term, std::optional<VoterId> leader, Output& out) {
  if (term > hs_.term) set_hard_state(HardState{term, kNoVote}, out);
  if (role_ != Role::follower) out.role_changed = true;
  role_ = Role::follower;
  leader_ = leader;
  heartbeat_deadline_us_ = kNoDeadlineUs;
  quorum_check_deadline_us_ = kNoDeadlineUs;
  reset_election_timer(now_us);
}

bool RaftNode::within_leader_lease(int64_t now_us) const {
  return cfg_.check_quorum && leader_.has_value() && now_us - leader_contact_us_ < cfg_.election_timeout_min_us;
}

void RaftNode::on_tick(int64_t now_us, Output& out) {
  if (role_ == Role::leader) {
    if (now_us >= quorum_check_deadline_us_) check_quorum(now_us, out);
    if (role_ == Role::leader && now_us >= heartbeat_deadline_us_) {
      broadcast_heartbeat(out);
      heartbeat_deadline_us_ = now_us + cfg_.heartbeat_interval_us;
    }
  } else if (now_us >= election_deadline_us_) {
    if (cfg_.pre_vote) {
      start_pre_vote(now_us, out);
    } else {
      start_election(now_us, out);
    }
  }
  assert_invariants();
  MESHD_ASSERT(next_deadline_us() > now_us);  // a tick always moves forward
}

int64_t RaftNode::next_deadline_us() const {
  if (role_ == Role::leader) return std::min(heartbeat_deadline_us_, quorum_check_deadline_us_);
  return election_deadline_us_;
}

RaftDrop RaftNode::on_datagram(int64_t now_us, const Address& from, std::span<const uint8_t> bytes, Output& out) {
  const std::optional<VoterId> v = voter_of(from);
  if (!v || *v == cfg_.self) return Drop::not_voter;
  std::optional<Message> decoded = decode(bytes);
  if (!decoded) return Drop::malformed;
  const Message& m = *decoded;
  const VoterId id = *v;
  Drop drop = Drop::none;
  if (m.term > hs_.term) {
    switch (m.type) {
      case MsgType::pre_vote_req: break;  // never adopted (PreVote's point)
      case MsgType::pre_vote_resp:
        if (!m.granted) become_follower(now_us, m.term, std::nullopt, out);
        break;
      case MsgType::vote_req:
        if (within_leader_lease(now_us)) return Drop::leader_lease;
        become_follower(now_us, m.term, std::nullopt, out);
        break;
      case MsgType::append_req:
      case MsgType::heartbeat: become_follower(now_us, m.term, id, out); break;
      default: become_follower(now_us, m.term, std::nullopt, out); break;
    }
  } else if (m.term < hs_.term) {
    // A stale leader learns our term from the answer and steps down; a
    // stale pre-candidate learns it was refused.
    if (m.type == MsgType::append_req || m.type == MsgType::heartbeat) {
      send(id, Message{.type = MsgType::heartbeat_resp, .term = hs_.term}, out);
    } else if (m.type == MsgType::pre_vote_req) {
      send(id, Message{.type = MsgType::pre_vote_resp, .term = hs_.term, .granted = false}, out);
    }
    return Drop::stale_term;
  }
  switch (m.type) {
    case MsgType::pre_vote_req:
    case MsgType::vote_req: drop = on_vote_req(now_us, id, m, out); break;
    case MsgType::pre_vote_resp:
      if (role_ == Role::pre_candidate && m.granted && m.term == hs_.term + 1) {
        tally(now_us, id, true, out);
      } else if (m.granted || m.term != hs_.term) {
        drop = Drop::unexpected;
      }
      break;
    case MsgType::vote_resp:
      if (role_ == Role::candidate && m.term == hs_.term) {
        tally(now_us, id, m.granted, out);
      } else {
        drop = Drop::unexpected;
      }
      break;
    case MsgType::append_req: on_append_req(now_us, id, m, out); break;
    case MsgType::heartbeat: on_heartbeat(now_us, id, m, out); break;
    case MsgType::append_resp:
    case MsgType::heartbeat_resp:
      if (role_ != Role::leader) {
        drop = Drop::unexpected;
      } else {
        peers_[id].recent_active = true;
        peers_[id].last_contact_us = now_us;
        if (m.type == MsgType::heartbeat_resp) {
          on_heartbeat_resp(id, out);
        } else {
          on_append_resp(now_us, id, m, out);
        }
      }
      break;
  }
  assert_invariants();
  return drop;
}

ProposeResult RaftNode::propose(int64_t, std::vector<uint8_t> data, Output& out) {
  MESHD_ASSERT(data.size() <= kEntryBytesMax);
  ProposeResult r;
  if (role_ != Role::leader) return r;
  if (log_.last_index() - commit_ >= kUncommittedEntriesMax || log_.last_index() >= kLogEntriesMax) {
    r.refused_full = true;
    return r;
  }
  append_local(Entry{log_.last_index() + 1, hs_.term, std::move(data)}, out);
  r.index = log_.last_index();
  for (VoterId p = 0; p < cfg_.voters.size(); ++p) {
    if (p != cfg_.self) replicate(p, out);
  }
  maybe_commit(out);
  assert_invariants();
  return r;
}

void RaftNode::check_quorum(int64_t now_us, Output& out) {
  size_t active = 1;  // ourselves
  for (VoterId p = 0; p < cfg_.voters.size(); ++p) {
    if (p == cfg_.self) continue;
    if (peers_[p].recent_active) ++active;
    peers_[p].recent_active = false;
  }
  if (active < quorum()) {
    become_follower(now_us, hs_.term, std::nullopt, out);  // lost the quorum: stop acting as leader
    return;
  }
  leader_contact_us_ = now_us;  // our own lease: we heard from a quorum
  quorum_check_deadline_us_ = now_us + cfg_.election_timeout_min_us;
}

void RaftNode::assert_invariants() const {
  MESHD_ASSERT(commit_ <= log_.last_index());
  MESHD_ASSERT(log_.last_term() <= hs_.term);
  MESHD_ASSERT(hs_.vote == kNoVote || hs_.vote < cfg_.voters.size());
  if (role_ == Role::leader) {
    MESHD_ASSERT(leader_ == cfg_.self && hs_.vote == cfg_.self);
    MESHD_ASSERT(peers_[cfg_.self].match == log_.last_index());
  }
  if (role_ == Role::candidate) MESHD_ASSERT(hs_.vote == cfg_.self);
  for (const Peer& p : peers_) MESHD_ASSERT(p.inflight.size() <= cfg_.inflight_max);
}

}  // namespace meshd::consensus
