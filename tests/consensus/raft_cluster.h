// A hand-stepped Raft cluster for tests and properties: RaftNode machines
// (no simulator, no host) and a FIFO wire that delivers in send order,
// except what `cut` (a node cut from everyone) or `drop` (a predicate on
// the n-th datagram) removes. Persistence is implicit: a machine's output
// is taken as durable at once.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <vector>

#include "core/consensus/raft.h"

namespace meshd::test {

inline Address raft_addr(size_t i) { return Address{0x0a000001u + static_cast<uint32_t>(i), 7000}; }

inline consensus::RaftConfig raft_config(size_t n, consensus::VoterId self) {
  consensus::RaftConfig c;
  for (size_t i = 0; i < n; ++i) c.voters.push_back(raft_addr(i));
  c.self = self;
  return c;
}

struct RaftCluster {
  std::vector<std::unique_ptr<consensus::RaftNode>> m;
  std::deque<std::pair<size_t, Datagram>> wire;  // (from, datagram)
  std::vector<bool> cut;
  std::function<bool(uint64_t)> drop;  // the n-th datagram delivered is lost
  uint64_t delivered = 0;
  int64_t now_us = 0;

  explicit RaftCluster(size_t n, std::vector<consensus::HardState> states = {},
                       std::vector<consensus::RaftLog> logs = {})
      : cut(n, false) {
    states.resize(n);
    logs.resize(n);
    for (size_t i = 0; i < n; ++i) {
      m.push_back(std::make_unique<consensus::RaftNode>(raft_config(n, static_cast<consensus::VoterId>(i)), states[i],
                                                        std::move(logs[i]),
                                                        Random::from_seed(7).for_node(i).stream("raft", "t"), 0));
    }
  }
  void take(size_t from, consensus::RaftOutput& out) {
    for (Datagram& d : out.send) wire.emplace_back(from, std::move(d));
  }
  // Injects a message as if `from` had sent it to `to`.
  consensus::RaftDrop inject(size_t from, size_t to, const consensus::Message& msg) {
    consensus::RaftOutput out;
    const consensus::RaftDrop d = m[to]->on_datagram(now_us, raft_addr(from), consensus::encode(msg), out);
    take(to, out);
    return d;
  }
  void step_until(int64_t t_us) {
    for (int guard = 0; guard < 1'000'000; ++guard) {
      while (!wire.empty()) {
        auto [from, d] = std::move(wire.front());
        wire.pop_front();
        size_t to = 0;
        while (!(raft_addr(to) == d.to)) ++to;
        if (cut[from] || cut[to] || (drop && drop(delivered++))) continue;
        consensus::RaftOutput out;
        (void)m[to]->on_datagram(now_us, raft_addr(from), d.bytes, out);
        take(to, out);
      }
      int64_t next = INT64_MAX;
      for (auto& x : m) next = std::min(next, x->next_deadline_us());
      if (next > t_us) break;
      now_us = next;
      for (size_t i = 0; i < m.size(); ++i) {
        if (m[i]->next_deadline_us() <= now_us) {
          consensus::RaftOutput out;
          m[i]->on_tick(now_us, out);
          take(i, out);
        }
      }
    }
    now_us = t_us;
  }
  std::vector<size_t> leaders() const {
    std::vector<size_t> l;
    for (size_t i = 0; i < m.size(); ++i) {
      if (m[i]->role() == consensus::Role::leader) l.push_back(i);
    }
    return l;
  }
};

}  // namespace meshd::test
