// RaftNode: one Raft voter as a pure state machine in the project's
// protocol shape (core/env/protocol.h). No Runtime, no Network, no Clock,
// no Disk: time comes in as now_us, randomness from a RandomStream, and
// everything to do comes out in RaftOutput. RaftHost (raft_host.h) runs it.
// docs/consensus.md has the full text, the departures and the figures.
//
// Protocol (Ongaro & Ousterhout 2014, Ongaro's dissertation ch. 3, 9.6;
// etcd-raft's PreVote and CheckQuorum):
//  * Roles: follower, pre_candidate, candidate, leader. Voters are the
//    configured addresses (3 or 5; at most kVotersMax); a voter's id is its
//    position. Datagrams from any other address are dropped (not_voter).
//  * Election timer: each (re)start draws a timeout uniformly from
//    [election_timeout_min_us, election_timeout_max_us) out of the
//    machine's RandomStream. A follower or candidate whose timer fires
//    starts a pre-vote (with pre_vote on) or an election.
//  * PreVote (dissertation 9.6): the pre_candidate asks every voter
//    "would you vote for me in term + 1?" (pre_vote_req, term = ours + 1)
//    WITHOUT changing its own term or vote. A voter grants when the
//    candidate's log is at least as up-to-date as its own, the proposed
//    term is above its own, and it has not heard from a leader within
//    election_timeout_min_us (its leader lease). Granting changes nothing
//    in the granter's state (no persistence). A quorum of grants (self
//    included) makes it a candidate; a rejection carrying a higher term
//    makes it a follower of that term.
//  * Election: the candidate increments its term, votes for itself
//    (persisted before any vote_req goes out), and asks for votes.
//    A voter grants at most one vote per term, to an up-to-date candidate,
//    and persists the vote before its vote_resp goes out. With
//    check_quorum on, a vote_req that arrives within the leader lease is
//    ignored entirely (its term is not adopted): a partitioned node that
//    comes back cannot depose a healthy leader.
//  * Leader: on election it appends a no-op entry of its term (entries of
//    older terms commit only through it, §5.4.2), sends heartbeats every
//    heartbeat_interval_us and replicates.
//  * CheckQuorum: every election_timeout_min_us the leader checks that a
//    quorum (itself included) sent it anything since the last check; if
//    not it steps down to follower (same term). A leader cut off from its
//    followers (e.g. it can send but not receive) stops acting as leader
//    within two election_timeout_min_us.
//  * Replication, per follower: `probe` state sends one append_req at a
//    time (after a rejection, or at election); once one succeeds the
//    follower is in `replicate` state and the leader pipelines up to
//    inflight_max append_reqs (each up to kEntriesPerAppendMax entries and
//    kAppendBytesMax bytes: batching) without waiting. A rejection carries
//    a hint (the first index of the conflicting term minus one, or the
//    follower's last index) and puts the follower back to probe from there.
//    A heartbeat response from a follower still behind re-probes it from
//    match + 1 (the repair for lost append_reqs: no per-message timers).
//  * Follower append: stale term → rejected with our term (the stale
//    leader steps down). Else the prev entry must match (index, term);
//    conflicting entries (same index, different term) are truncated — never
//    at or below the commit index (asserted) — and new ones appended; the
//    commit index follows min(leader commit, last new entry).
//  * Heartbeats carry commit = min(leader commit, follower's match), so a
//    follower never commits an entry it has not been shown to hold.
//  * Commit: the leader's commit index is the highest index replicated on
//    a quorum (leader included) *whose entry is of the current term*.
//  * Terms: any message with a higher term makes us a follower of it —
//    except a pre_vote_req (never adopted), a granted pre_vote_resp, and a
//    vote_req inside the leader lease (above).
//
// Durability (the host's contract, raft_host.h): an output's `persist`
// (hard state, truncation, new entries) is made durable FIRST, THEN its
// datagrams are sent, THEN its `committed` entries are applied. So a vote
// or a term is on disk before any message that shows it, a follower acks
// only entries it holds durably, and the leader counts itself in a quorum
// only for entries that are durable before anyone hears of the commit.
//
// Proposals: propose() on the leader appends an entry of its term and
// returns its index; elsewhere it returns no index (the caller redirects
// to leader_hint()). At most kUncommittedEntriesMax uncommitted entries.
//
// Fault points: none; faults come from the simulator around the machine.
// Missing (docs/consensus.md): snapshots/InstallSnapshot, membership
// changes, learners, leadership transfer, ReadIndex.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "core/consensus/raft_log.h"
#include "core/consensus/raft_types.h"
#include "core/consensus/raft_wire.h"
#include "core/env/address.h"
#include "core/env/protocol.h"
#include "core/env/random.h"

namespace meshd::consensus {

struct RaftConfig {
  std::vector<Address> voters;  // 1..kVotersMax, distinct; id = position
  VoterId self = 0;
  // etcd's defaults: heartbeat 100 ms, election timeout 1000 ms (10 ticks);
  // etcd randomizes in [timeout, 2 × timeout), and so do we.
  int64_t heartbeat_interval_us = 100'000;
  int64_t election_timeout_min_us = 1'000'000;
  int64_t election_timeout_max_us = 2'000'000;
  bool pre_vote = true;
  bool check_quorum = true;
  size_t inflight_max = 8;  // <= kInflightAppendsMax
};
// Empty string when valid, else which field is wrong.
std::string_view raft_config_error(const RaftConfig& c);

// leader_lease: a vote_req for a higher term while we still hear from a
// leader (CheckQuorum's lease), ignored without adopting its term.
enum class RaftDrop : uint8_t { none = 0, malformed, not_voter, stale_term, unexpected, leader_lease };
constexpr size_t kRaftDropReasons = 6;
std::string_view drop_reason_name(RaftDrop d);

struct RaftPersist {
  std::optional<HardState> hard_state;   // changed: persist
  std::optional<uint64_t> truncate_from;  // entries >= this are gone (before `entries`)
  std::vector<Entry> entries;             // appended, in index order
  bool empty() const { return !hard_state && !truncate_from && entries.empty(); }
};

struct RaftOutput {
  std::vector<Datagram> send;    // only after `persist` is durable
  RaftPersist persist;
  std::vector<Entry> committed;  // newly committed, in order: apply after persist
  bool role_changed = false;
};

struct ProposeResult {
  std::optional<uint64_t> index;  // set: appended at this index (leader)
  bool refused_full = false;      // leader, but kUncommittedEntriesMax reached
};

class RaftNode {
 public:
  using Output = RaftOutput;
  using Drop = RaftDrop;
  static constexpr size_t kDropReasons = kRaftDropReasons;

  // `state` and `log` are what RaftStorage recovered (empty on first boot).
  RaftNode(const RaftConfig& config, HardState state, RaftLog log, RandomStream rng, int64_t now_us);

  void on_tick(int64_t now_us, Output& out);
  Drop on_datagram(int64_t now_us, const Address& from, std::span<const uint8_t> bytes, Output& out);
  int64_t next_deadline_us() const;
  bool finished() const { return false; }
  ProposeResult propose(int64_t now_us, std::vector<uint8_t> data, Output& out);

  Role role() const { return role_; }
  uint64_t term() const { return hs_.term; }
  VoterId vote() const { return hs_.vote; }
  VoterId self() const { return cfg_.self; }
  std::optional<VoterId> leader_hint() const { return leader_; }
  uint64_t commit_index() const { return commit_; }
  const RaftLog& log() const { return log_; }
  const RaftConfig& config() const { return cfg_; }
  uint64_t match_index(VoterId v) const { return peers_[v].match; }
  int64_t last_contact_us(VoterId v) const { return peers_[v].last_contact_us; }

 private:
  enum class PeerState : uint8_t { probe, replicate };
  struct Peer {
    uint64_t match = 0;
    uint64_t next = 1;
    PeerState state = PeerState::probe;
    std::vector<uint64_t> inflight{};// last index of each append_req in flight, ascending
    bool recent_active = false;      // CheckQuorum: heard from since the last check
    int64_t last_contact_us = 0;
    uint64_t match_at_heartbeat = 0;  // match when the previous heartbeat_resp came
  };

  size_t quorum() const { return cfg_.voters.size() / 2 + 1; }
  std::optional<VoterId> voter_of(const Address& a) const;
  void send(VoterId to, const Message& m, Output& out) const;
  void set_hard_state(HardState hs, Output& out);
  void reset_election_timer(int64_t now_us);
  void become_follower(int64_t now_us, uint64_t term, std::optional<VoterId> leader, Output& out);
  void start_pre_vote(int64_t now_us, Output& out);
  void start_election(int64_t now_us, Output& out);
  void become_leader(int64_t now_us, Output& out);
  void tally(int64_t now_us, VoterId from, bool granted, Output& out);
  bool within_leader_lease(int64_t now_us) const;
  Drop on_vote_req(int64_t now_us, VoterId from, const Message& m, Output& out);
  // A leader of our term spoke: follow it, restart the election timer.
  void heard_from_leader(int64_t now_us, VoterId from, uint64_t term, Output& out);
  void on_append_req(int64_t now_us, VoterId from, const Message& m, Output& out);
  void on_append_resp(int64_t now_us, VoterId from, const Message& m, Output& out);
  void on_heartbeat(int64_t now_us, VoterId from, const Message& m, Output& out);
  void on_heartbeat_resp(VoterId from, Output& out);
  void replicate(VoterId to, Output& out);   // as many append_reqs as the peer's state allows
  void send_append(VoterId to, Output& out);  // one, from peer.next
  void broadcast_heartbeat(Output& out);
  void maybe_commit(Output& out);
  void advance_commit(uint64_t to, Output& out);
  void append_local(Entry e, Output& out);
  void check_quorum(int64_t now_us, Output& out);
  void assert_invariants() const;

  RaftConfig cfg_;
  HardState hs_;
  RaftLog log_;
  RandomStream rng_;
  Role role_ = Role::follower;
  std::optional<VoterId> leader_;
  uint64_t commit_ = 0;
  int64_t election_deadline_us_ = 0;
  int64_t heartbeat_deadline_us_ = kNoDeadlineUs;
  int64_t quorum_check_deadline_us_ = kNoDeadlineUs;
  int64_t leader_contact_us_ = INT64_MIN / 2;  // last time a leader of our term spoke to us
  std::array<bool, kVotersMax> votes_{};       // grants this round (pre-vote or vote)
  std::array<Peer, kVotersMax> peers_{};
  static constexpr int64_t kNoDeadlineUs = INT64_MAX;
};
static_assert(ProtocolMachine<RaftNode>);

}  // namespace meshd::consensus
