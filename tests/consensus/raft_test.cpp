// Raft's machine stepped by hand (no simulator), its codec, its storage,
// the KV's exactly-once rule and the linearizability checker.
#include <catch2/catch.hpp>

#include "core/consensus/kv.h"
#include "core/consensus/kv_wire.h"
#include "core/consensus/raft.h"
#include "core/consensus/raft_storage.h"
#include "sim/consensus/linearizability.h"
#include "tests/consensus/raft_cluster.h"
#include "tests/crypto/mem_disk.h"

using namespace meshd;
using namespace meshd::consensus;

namespace {
Address addr(int i) { return test::raft_addr(static_cast<size_t>(i)); }
RaftConfig config(size_t n, VoterId self) { return test::raft_config(n, self); }
using Cluster = test::RaftCluster;
}  // namespace

TEST_CASE("raft: three voters elect one leader and commit a proposal everywhere", "[raft]") {
  Cluster c(3);
  c.step_until(5'000'000);
  REQUIRE(c.leaders().size() == 1);
  const size_t l = c.leaders()[0];
  RaftOutput out;
  ProposeResult p = c.m[l]->propose(c.now_us, {1, 2, 3}, out);
  REQUIRE(p.index.has_value());
  c.take(l, out);
  c.step_until(c.now_us + 500'000);  // a few heartbeats carry the commit
  for (auto& x : c.m) {
    REQUIRE(x->commit_index() >= *p.index);
    CHECK(x->log().at(*p.index).data == std::vector<uint8_t>{1, 2, 3});
  }
}

TEST_CASE("raft: PreVote keeps an isolated voter's term and the leader survives its return", "[raft]") {
  Cluster c(3);
  c.step_until(5'000'000);
  REQUIRE(c.leaders().size() == 1);
  const size_t l = c.leaders()[0];
  const size_t f = (l + 1) % 3;
  const uint64_t term = c.m[l]->term();
  c.cut[f] = true;
  c.step_until(c.now_us + 20'000'000);  // ten election timeouts alone
  CHECK(c.m[f]->term() == term);        // pre-votes never raised it
  c.cut[f] = false;
  c.step_until(c.now_us + 5'000'000);
  CHECK(c.leaders() == std::vector<size_t>{l});
  CHECK(c.m[l]->term() == term);
}

TEST_CASE("raft: CheckQuorum makes a leader that hears nobody step down", "[raft]") {
  Cluster c(3);
  c.step_until(5'000'000);
  REQUIRE(c.leaders().size() == 1);
  const size_t l = c.leaders()[0];
  c.cut[l] = true;
  c.step_until(c.now_us + 2 * 1'000'000 + 1);  // two election_timeout_min_us
  CHECK(c.m[l]->role() == Role::follower);
}

TEST_CASE("raft: an entry of an older term never commits by counting replicas (Figure 8)", "[raft]") {
  // Voter 0 holds [t1, t2] and leads term 4 with votes from 0 and 1; voter 1
  // acknowledges index 2 (the term-2 entry) but not the no-op of term 4.
  RaftLog log0;
  log0.append(Entry{1, 1, {}});
  log0.append(Entry{2, 2, {9}});
  RaftNode leader(config(3, 0), HardState{3, kNoVote}, log0, Random::from_seed(1).stream("raft", "t"), 0);
  RaftOutput out;
  leader.on_tick(10'000'000, out);  // pre-vote for term 4
  auto grant = [&](MsgType t, uint64_t term) {
    Message m;
    m.type = t;
    m.term = term;
    m.granted = true;
    RaftOutput o;
    REQUIRE(leader.on_datagram(10'000'000, addr(1), encode(m), o) == RaftDrop::none);
  };
  grant(MsgType::pre_vote_resp, 4);
  grant(MsgType::vote_resp, 4);
  REQUIRE(leader.role() == Role::leader);
  REQUIRE(leader.log().last_index() == 3);  // its no-op
  Message ack;
  ack.type = MsgType::append_resp;
  ack.term = 4;
  ack.success = true;
  ack.index = 2;
  RaftOutput o;
  REQUIRE(leader.on_datagram(10'000'100, addr(1), encode(ack), o) == RaftDrop::none);
  CHECK(leader.commit_index() == 0);  // index 2 is on a quorum, but of term 2
  ack.index = 3;
  RaftOutput o2;
  REQUIRE(leader.on_datagram(10'000'200, addr(1), encode(ack), o2) == RaftDrop::none);
  CHECK(leader.commit_index() == 3);  // the no-op commits, and index 2 with it
  CHECK(o2.committed.size() == 3);
}

TEST_CASE("raft: a vote is emitted for persistence before the vote_resp and granted once per term", "[raft]") {
  RaftNode n(config(3, 0), HardState{}, RaftLog{}, Random::from_seed(2).stream("raft", "t"), 0);
  Message req;
  req.type = MsgType::vote_req;
  req.term = 5;
  RaftOutput out;
  REQUIRE(n.on_datagram(0, addr(1), encode(req), out) == RaftDrop::none);
  REQUIRE(out.persist.hard_state == HardState{5, 1});
  REQUIRE(out.send.size() == 1);
  CHECK(decode(out.send[0].bytes)->granted);
  RaftOutput out2;
  REQUIRE(n.on_datagram(1, addr(2), encode(req), out2) == RaftDrop::none);  // another candidate, same term
  CHECK_FALSE(decode(out2.send[0].bytes)->granted);
}

TEST_CASE("raft codec: strict decoding", "[raft]") {
  Message m;
  m.type = MsgType::append_req;
  m.term = 3;
  m.prev_index = 4;
  m.prev_term = 2;
  m.commit = 4;
  m.entries = {Entry{5, 2, {1}}, Entry{6, 3, {}}};
  std::vector<uint8_t> b = encode(m);
  auto d = decode(b);
  REQUIRE(d.has_value());
  CHECK(d->entries == m.entries);
  std::vector<uint8_t> trailing = b;
  trailing.push_back(0);
  CHECK_FALSE(decode(trailing).has_value());
  for (size_t cut = 0; cut < b.size(); ++cut) CHECK_FALSE(decode({b.data(), cut}).has_value());
  m.entries = {Entry{5, 3, {}}, Entry{6, 2, {}}};  // terms going down
  CHECK_FALSE(decode(encode(m)).has_value());
  Message v;
  v.type = MsgType::vote_resp;
  v.term = 1;
  std::vector<uint8_t> vb = encode(v);
  vb.back() = 2;  // a boolean that is neither 0 nor 1
  CHECK_FALSE(decode(vb).has_value());
}

TEST_CASE("raft storage: hard state, entries and a truncation survive a reopen", "[raft]") {
  test::MemDisk disk;
  {
    auto s = RaftStorage::open(disk, nullptr, nullptr, "raft");
    REQUIRE(s.is_ok());
    RaftPersist p;
    p.hard_state = HardState{2, 1};
    p.entries = {Entry{1, 1, {1}}, Entry{2, 2, {2}}, Entry{3, 2, {3}}};
    REQUIRE((*s)->persist(p).is_ok());
    RaftPersist q;
    q.hard_state = HardState{3, kNoVote};
    q.truncate_from = 2;
    q.entries = {Entry{2, 3, {7}}};
    REQUIRE((*s)->persist(q).is_ok());
  }
  auto s = RaftStorage::open(disk, nullptr, nullptr, "raft");
  REQUIRE(s.is_ok());
  CHECK((*s)->hard_state() == HardState{3, kNoVote});
  RaftLog log = (*s)->take_log();
  REQUIRE(log.last_index() == 2);
  CHECK(log.at(2) == Entry{2, 3, {7}});
}

TEST_CASE("kv: a retried command applies once and gets the first answer", "[raft]") {
  KvStore kv;
  KvCommand c;
  c.client_id = 9;
  c.seq = 1;
  c.op = KvOp::cas;
  c.key = "k";
  c.value = "a";
  c.expected_absent = true;
  const auto data = encode_command(c);
  KvApplied first = kv.apply(Entry{1, 1, data});
  CHECK(first.result.ok);
  KvApplied retry = kv.apply(Entry{2, 1, data});  // the same request, committed again by a new leader
  CHECK(retry.duplicate);
  CHECK(retry.result.ok);  // the saved answer, not "absent? no: fail"
  CHECK(kv.data().at("k") == "a");
  auto decoded = decode_kv(encode_request(c));
  REQUIRE(decoded.has_value());
  CHECK(std::get<KvCommand>(*decoded).key == "k");
}

TEST_CASE("linearizability checker: accepts a real-time order, rejects a stale read", "[raft]") {
  using meshd::sim::HistoryOp;
  HistoryOp put{.process = 1, .op = KvOp::put, .key = "k", .value = "x", .invoke_us = 0, .complete_us = 10, .known = true};
  HistoryOp read{.process = 2, .op = KvOp::get, .key = "k", .invoke_us = 20, .complete_us = 30, .known = true,
                 .found = std::string("x")};
  CHECK(meshd::sim::check_linearizable({put, read}).violations.empty());
  read.found.reset();  // read nothing after the write completed: stale
  CHECK(meshd::sim::check_linearizable({put, read}).violations.size() == 1);
  read.invoke_us = 5;  // overlapping the write: either order is fine
  CHECK(meshd::sim::check_linearizable({put, read}).violations.empty());
  HistoryOp unknown = put;  // a write never answered may or may not have happened
  unknown.known = false;
  read.invoke_us = 20;
  CHECK(meshd::sim::check_linearizable({unknown, read}).violations.empty());
}
