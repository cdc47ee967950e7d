// RaftNode: log replication, heartbeats and commit (raft.h).
#include <algorithm>

#include "core/consensus/raft.h"
#include "core/env/assert.h"

namespace meshd::consensus {

namespace {
constexpr size_t kAppendHeaderBytes = kRaftHeaderBytes + 3 * 8 + 2;
}  // namespace

void RaftNode::append_local(Entry e, Output& out) {
  log_.append(e);
  out.persist.entries.push_back(std::move(e));
  peers_[cfg_.self].match = log_.last_index();
}

void RaftNode::send_append(VoterId to, Output& out) {
  Peer& p = peers_[to];
  MESHD_ASSERT(p.next >= 1 && p.next <= log_.last_index() + 1);
  Message m{.type = MsgType::append_req, .term = hs_.term, .prev_index = p.next - 1,
            .prev_term = log_.term_at(p.next - 1), .commit = commit_};
  m.entries = log_.slice(p.next, kEntriesPerAppendMax, kAppendBytesMax - kAppendHeaderBytes);
  const uint64_t last = m.prev_index + m.entries.size();
  if (p.state == PeerState::replicate) {
    p.next = last + 1;  // optimistic: pipelined
  }
  p.inflight.push_back(last);
  MESHD_ASSERT(p.inflight.size() <= cfg_.inflight_max);
  send(to, m, out);
}

void RaftNode::replicate(VoterId to, Output& out) {
  MESHD_ASSERT(role_ == Role::leader && to != cfg_.self);
  Peer& p = peers_[to];
  if (p.state == PeerState::probe) {
    // One probe at a time, and only when there is something to learn.
    if (p.inflight.empty() && p.match < log_.last_index()) send_append(to, out);
    return;
  }
  while (p.inflight.size() < cfg_.inflight_max && p.next <= log_.last_index()) send_append(to, out);
}

void RaftNode::on_append_resp(int64_t, VoterId from, const Message& m, Output& out) {
  Peer& p = peers_[from];
  if (m.success) {
    if (m.index > log_.last_index()) return;  // cannot be ours: ignore
    if (m.index > p.match) {
      p.match = m.index;
      p.next = std::max(p.next, p.match + 1);
      p.state = PeerState::replicate;
    }
    while (!p.inflight.empty() && p.inflight.front() <= p.match) p.inflight.erase(p.inflight.begin());
    maybe_commit(out);
    replicate(from, out);
    return;
  }
  if (m.index <= p.match) return;  // stale: already past it
  if (p.state == PeerState::probe && m.index + 1 != p.next) return;  // not our current probe
  p.state = PeerState::probe;
  p.inflight.clear();
  p.next = std::max(p.match + 1, std::min(m.hint, log_.last_index()) + 1);
  replicate(from, out);
}

void RaftNode::on_heartbeat_resp(VoterId from, Output& out) {
  Peer& p = peers_[from];
  if (p.match < log_.last_index() && p.match == p.match_at_heartbeat) {
    // No progress since the previous heartbeat: an append_req (or its
    // answer) was lost. Probe again from what we know it holds.
    p.state = PeerState::probe;
    p.inflight.clear();
    p.next = p.match + 1;
  }
  p.match_at_heartbeat = p.match;
  replicate(from, out);
}

void RaftNode::broadcast_heartbeat(Output& out) {
  for (VoterId p = 0; p < cfg_.voters.size(); ++p) {
    if (p == cfg_.self) continue;
    send(p, Message{.type = MsgType::heartbeat, .term = hs_.term, .commit = std::min(commit_, peers_[p].match)}, out);
  }
}

void RaftNode::maybe_commit(Output& out) {
  MESHD_ASSERT(role_ == Role::leader);
  // The highest index held by at least a quorum (leader included).
  const size_t n = cfg_.voters.size();
  uint64_t quorum_match = 0;
  for (size_t i = 0; i < n; ++i) {
    size_t holders = 0;
    for (size_t j = 0; j < n; ++j) holders += peers_[j].match >= peers_[i].match ? 1 : 0;
    if (holders >= quorum()) quorum_match = std::max(quorum_match, peers_[i].match);
  }
  // Only an entry of the current term commits by counting (§5.4.2).
  if (quorum_match > commit_ && log_.term_at(quorum_match) == hs_.term) advance_commit(quorum_match, out);
}

void RaftNode::advance_commit(uint64_t to, Output& out) {
  MESHD_ASSERT(to > commit_ && to <= log_.last_index());
  for (uint64_t i = commit_ + 1; i <= to; ++i) out.committed.push_back(log_.at(i));
  commit_ = to;
}

void RaftNode::heard_from_leader(int64_t now_us, VoterId from, uint64_t term, Output& out) {
  MESHD_ASSERT(term == hs_.term);
  MESHD_ASSERT_MSG(role_ != Role::leader, "two leaders in one term");
  if (role_ != Role::follower) become_follower(now_us, hs_.term, from, out);
  leader_ = from;
  leader_contact_us_ = now_us;
  reset_election_timer(now_us);
}

void RaftNode::on_append_req(int64_t now_us, VoterId from, const Message& m, Output& out) {
  heard_from_leader(now_us, from, m.term, out);
  Message r{.type = MsgType::append_resp, .term = hs_.term, .index = m.prev_index};
  if (m.prev_index > log_.last_index()) {
    r.hint = log_.last_index();
    send(from, r, out);
    return;
  }
  if (log_.term_at(m.prev_index) != m.prev_term) {
    MESHD_ASSERT_MSG(m.prev_index > commit_, "a committed entry conflicts with the leader's log");
    // Skip the whole conflicting term in one round trip.
    r.hint = std::max(log_.first_index_of_term_at(m.prev_index) - 1, commit_);
    send(from, r, out);
    return;
  }
  for (const Entry& e : m.entries) {
    if (e.index <= log_.last_index()) {
      if (log_.term_at(e.index) == e.term) continue;
      log_.truncate_from(e.index, commit_);
      // Outputs may gather several inputs (the host batches them into one
      // fsync): the storage replays entry records in order, an entry at an
      // index it holds replacing that index and everything after it.
      out.persist.truncate_from = std::min(out.persist.truncate_from.value_or(e.index), e.index);
    }
    log_.append(e);
    out.persist.entries.push_back(e);
  }
  const uint64_t match = m.prev_index + m.entries.size();
  if (std::min(m.commit, match) > commit_) advance_commit(std::min(m.commit, match), out);
  r.success = true;
  r.index = match;
  send(from, r, out);
}

void RaftNode::on_heartbeat(int64_t now_us, VoterId from, const Message& m, Output& out) {
  heard_from_leader(now_us, from, m.term, out);
  // m.commit <= what the leader knows we hold, so it is ours to commit.
  const uint64_t to = std::min(m.commit, log_.last_index());
  if (to > commit_) advance_commit(to, out);
  send(from, Message{.type = MsgType::heartbeat_resp, .term = hs_.term}, out);
}

}  // namespace meshd::consensus
