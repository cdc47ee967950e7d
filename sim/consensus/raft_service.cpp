#include "sim/consensus/raft_service.h"

#include <fmt/format.h>

#include "core/env/assert.h"
#include "sim/world.h"

namespace meshd::sim {

namespace {
constexpr size_t kPendingClientsMax = 4096;
// A client told "not leader, leader unknown" waits this long before it
// tries the next voter (an election is running: no hot retry loop).
constexpr int64_t kNoLeaderPauseUs = 20'000;
}  // namespace

consensus::RaftConfig raft_config_of(const RaftSpec& spec, const std::vector<Address>& voters, size_t self) {
  consensus::RaftConfig c;
  c.voters = voters;
  c.self = static_cast<consensus::VoterId>(self);
  c.heartbeat_interval_us = spec.heartbeat_ms * 1000;
  c.election_timeout_min_us = spec.election_timeout_ms * 1000;
  c.election_timeout_max_us = 2 * spec.election_timeout_ms * 1000;  // etcd: [t, 2t)
  c.pre_vote = spec.pre_vote;
  c.check_quorum = spec.check_quorum;
  c.inflight_max = static_cast<size_t>(spec.inflight_max);
  return c;
}

RaftVoterService::RaftVoterService(Env& env, size_t node, RaftRun& run)
    : env_(env),
      node_(node),
      run_(run),
      faults_(env.random.stream("raft", "faults")),
      host_(env, consensus::RaftHostOptions{
                     .raft = raft_config_of(run.spec, run.voters, node),
                     .log_prefix = "raft",
                     .apply = [this](const consensus::Entry& e) { apply(e); },
                     .after_persist = [this](const consensus::HardState& hs) { return after_persist(hs); },
                     .on_output =
                         [this](const consensus::RaftOutput& out) {
                           run_.oracle.on_output(run_.world.now_us(), node_, *host_.machine(), out);
                         },
                 }) {}

void RaftVoterService::start() {
  env_.network.set_receive_handler([this](const Address& from, std::span<const uint8_t> bytes) {
    if (consensus::is_raft_datagram(bytes)) {
      host_.on_datagram(from, bytes);
      return;
    }
    std::optional<consensus::KvMessage> m = consensus::decode_kv(bytes);
    if (m && std::holds_alternative<consensus::KvCommand>(*m)) on_request(from, std::get<consensus::KvCommand>(*m));
  });
  if (Status s = host_.start(); !s) {
    env_.log.error("raft_start_failed", {{"error", s.to_string()}});
    return;
  }
  run_.oracle.on_boot(node_, *host_.machine());
}

void RaftVoterService::on_request(const Address& from, const consensus::KvCommand& c) {
  const consensus::RaftNode* m = host_.machine();
  if (!host_.running() || m->role() != consensus::Role::leader) {
    consensus::KvResponse r;
    r.client_id = c.client_id;
    r.seq = c.seq;
    r.status = consensus::KvStatus::not_leader;
    r.leader_hint = host_.running() ? m->leader_hint().value_or(consensus::kNoVote) : consensus::kNoVote;
    (void)env_.network.send(from, consensus::encode_response(r));
    return;
  }
  pending_[c.client_id] = Pending{c.seq, from};
  MESHD_ASSERT(pending_.size() <= kPendingClientsMax);
  host_.submit(consensus::encode_command(c));
}

void RaftVoterService::apply(const consensus::Entry& e) {
  const consensus::KvApplied a = kv_.apply(e);
  run_.oracle.on_apply(node_, e);
  if (!a.command || a.stale) return;
  auto it = pending_.find(a.cmd.client_id);
  if (it == pending_.end() || it->second.seq != a.cmd.seq) return;
  consensus::KvResponse r;
  r.client_id = a.cmd.client_id;
  r.seq = a.cmd.seq;
  r.result = a.result;
  (void)env_.network.send(it->second.reply_to, consensus::encode_response(r));
  pending_.erase(it);
}

bool RaftVoterService::after_persist(const consensus::HardState& hs) {
  if (run_.spec.crash_after_vote_percent == 0 || hs.vote == consensus::kNoVote || hs.vote == node_) return true;
  if (faults_.below(100) >= static_cast<uint64_t>(run_.spec.crash_after_vote_percent)) return true;
  // The vote is durable; the process dies before the vote_resp leaves.
  World& w = run_.world;
  const size_t n = node_;
  w.record(TraceKind::fault, static_cast<uint32_t>(n), fmt::format("crash after persisting a vote for {}", hs.vote));
  w.at(w.now_us(), [&w, n] { w.crash(n); });
  const int64_t back_us = w.now_us() + faults_.range(0, std::max<int64_t>(run_.spec.storm.down_ms_max, 1)) * 1000;
  w.at(back_us, [&w, n] {
    if (!w.is_up(n)) w.start(n);
  });
  return false;
}

nlohmann::json RaftVoterService::snapshot() const {
  const consensus::RaftNode* m = host_.machine();
  if (!m) return {{"raft", "not started"}};
  return {{"role", consensus::role_name(m->role())}, {"term", m->term()}, {"commit", m->commit_index()},
          {"last_index", m->log().last_index()}, {"applied", kv_.applied_index()}, {"keys", kv_.data().size()}};
}

RaftClientService::RaftClientService(Env& env, size_t node, RaftRun& run)
    : env_(env),
      node_(node),
      run_(run),
      rng_(env.random.stream("raft", "client")),
      client_id_((run.world.incarnation(node) << 32) | node),
      answered_(env.runtime) {}

void RaftClientService::start() {
  env_.network.set_receive_handler([this](const Address&, std::span<const uint8_t> bytes) {
    std::optional<consensus::KvMessage> m = consensus::decode_kv(bytes);
    if (!m || !std::holds_alternative<consensus::KvResponse>(*m)) return;
    const auto& r = std::get<consensus::KvResponse>(*m);
    if (r.client_id != client_id_ || r.seq != seq_) return;  // an old answer
    answer_ = r;
    answered_.set();
  });
  target_ = static_cast<size_t>(rng_.below(run_.voters.size()));
  auto id = env_.runtime.spawn("raft-client", [this] { loop(); });
  MESHD_ASSERT(id.is_ok());
}

consensus::KvCommand RaftClientService::next_command() {
  consensus::KvCommand c;
  c.client_id = client_id_;
  c.seq = ++seq_;
  c.key = fmt::format("k{}", rng_.below(static_cast<uint64_t>(run_.spec.keys)));
  const auto roll = static_cast<int64_t>(rng_.below(100));
  c.value = fmt::format("c{}s{}", node_, c.seq);  // unique: a read tells which write it saw
  if (c.value.size() < static_cast<size_t>(run_.spec.value_bytes)) c.value.resize(static_cast<size_t>(run_.spec.value_bytes), '.');
  if (roll < run_.spec.read_percent) {
    c.op = consensus::KvOp::get;
    c.value.clear();
  } else if (roll < run_.spec.read_percent + run_.spec.cas_percent) {
    c.op = consensus::KvOp::cas;
    // Expect what this client last saw written by anyone (or absent).
    const HistoryOp* last = nullptr;
    for (auto it = run_.history.rbegin(); it != run_.history.rend() && !last; ++it) {
      if (it->key == c.key && it->known) last = &*it;
    }
    std::optional<std::string> left;  // the value the last answered operation on the key left
    if (last != nullptr) {
      const bool wrote = last->op == consensus::KvOp::put || (last->op == consensus::KvOp::cas && last->result_ok);
      left = wrote ? std::optional<std::string>(last->value) : last->found;
    }
    c.expected_absent = !left.has_value();
    c.expected = left.value_or("");
  } else {
    c.op = consensus::KvOp::put;
  }
  return c;
}

void RaftClientService::loop() {
  const int64_t timeout_us = run_.spec.client_timeout_ms * 1000;
  for (;;) {
    const consensus::KvCommand c = next_command();
    const size_t h = run_.history.size();
    run_.history.push_back(HistoryOp{.process = node_, .op = c.op, .key = c.key, .value = c.value,
                                     .expected = c.expected, .expected_absent = c.expected_absent,
                                     .invoke_us = run_.world.now_us()});
    const std::vector<uint8_t> request = consensus::encode_request(c);
    for (;;) {
      answer_.reset();
      answered_.reset();
      (void)env_.network.send(run_.voters[target_], request);
      const Status s = answered_.wait(env_.clock.monotonic_us() + timeout_us);
      if (s.code() == Errc::cancelled) return;
      if (!answer_) {
        target_ = (target_ + 1) % run_.voters.size();  // timed out: the next voter
        continue;
      }
      if (answer_->status == consensus::KvStatus::not_leader) {
        if (answer_->leader_hint != consensus::kNoVote && answer_->leader_hint != target_) {
          target_ = answer_->leader_hint;
        } else {
          target_ = (target_ + 1) % run_.voters.size();
          if (!env_.runtime.sleep_for(kNoLeaderPauseUs)) return;
        }
        continue;
      }
      HistoryOp& o = run_.history[h];
      o.known = true;
      o.complete_us = run_.world.now_us();
      o.result_ok = answer_->result.ok;
      o.found = answer_->result.value;
      break;
    }
    if (run_.spec.op_interval_ms > 0 && !env_.runtime.sleep_for(run_.spec.op_interval_ms * 1000)) return;
  }
}

nlohmann::json RaftClientService::snapshot() const { return {{"client", client_id_}, {"seq", seq_}}; }

}  // namespace meshd::sim
