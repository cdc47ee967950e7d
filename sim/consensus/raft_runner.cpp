#include "sim/consensus/raft_runner.h"

#include <fmt/format.h>

#include <algorithm>

#include "sim/consensus/linearizability.h"
#include "sim/consensus/raft_oracle.h"
#include "sim/consensus/raft_service.h"
#include "sim/world.h"

namespace meshd::sim {

namespace {

constexpr int64_t kPollUs = 10'000;              // stable-leader polling
constexpr int64_t kAvailabilityWindowUs = 100'000;

const consensus::RaftNode* machine_of(World& w, size_t i) {
  auto* s = dynamic_cast<RaftVoterService*>(w.service(i));
  return (s != nullptr && w.is_up(i)) ? s->machine() : nullptr;
}

// The up voter leading in the highest term, if any.
std::optional<size_t> current_leader(World& w, size_t voters) {
  std::optional<size_t> best;
  uint64_t term = 0;
  for (size_t i = 0; i < voters; ++i) {
    const consensus::RaftNode* m = machine_of(w, i);
    if (m && m->role() == consensus::Role::leader && m->term() >= term) {
      best = i;
      term = m->term();
    }
  }
  return best;
}

// One up voter leads and every up, unpaused voter is in its term and follows it.
bool stable_leader(World& w, size_t voters) {
  std::optional<size_t> l = current_leader(w, voters);
  if (!l || w.is_paused(*l)) return false;
  const uint64_t term = machine_of(w, *l)->term();
  for (size_t i = 0; i < voters; ++i) {
    const consensus::RaftNode* m = machine_of(w, i);
    if (!m || w.is_paused(i)) continue;
    if (m->term() != term || m->leader_hint() != static_cast<consensus::VoterId>(*l)) return false;
  }
  return true;
}

class Storm {
 public:
  Storm(World& w, const RaftSpec& spec, size_t voters, std::vector<int64_t>& leader_crashes_us)
      : w_(w), spec_(spec), voters_(voters), rng_(w.random().stream("raft", "storm")),
        leader_crashes_us_(leader_crashes_us) {}

  void schedule() {
    const RaftStorm& s = spec_.storm;
    if (s.end_ms <= s.start_ms) return;
    for (int64_t t = s.start_ms * 1000; t < s.end_ms * 1000;) {
      w_.at(t, [this] { step(); });
      t += rng_.range(s.interval_ms_min, s.interval_ms_max) * 1000;
    }
    w_.at(s.end_ms * 1000, [this] { end(); });
  }

 private:
  void record(std::string what) { w_.record(TraceKind::fault, kWorldNode, "storm: " + what); }

  void undo() {
    w_.network().heal_all();
    for (size_t i = 0; i < voters_; ++i) {
      if (spiked_[i]) w_.set_disk_faults(i, base_disk());
      spiked_[i] = false;
    }
  }

  DiskFaults base_disk() const {
    DiskFaults d;
    d.torn_writes = true;
    d.fsync_latency_us = spec_.fsync_latency_us;
    return d;
  }

  void crash_later(size_t n) {
    w_.crash(n);
    const int64_t back_us = w_.now_us() + rng_.range(0, spec_.storm.down_ms_max) * 1000;
    w_.at(back_us, [this, n] {
      if (!w_.is_up(n)) w_.start(n);
    });
  }

  void step() {
    undo();
    const RaftStorm& s = spec_.storm;
    const StormKind kind = s.kinds[rng_.below(s.kinds.size())];
    const std::optional<size_t> leader = current_leader(w_, voters_);
    const size_t any = static_cast<size_t>(rng_.below(voters_));
    const size_t nodes = w_.node_count();
    switch (kind) {
      case StormKind::partition_flip: {
        std::vector<size_t> a, b;
        for (size_t i = 0; i < voters_; ++i) (rng_.chance(0.5) ? a : b).push_back(i);
        for (size_t x : a) {
          for (size_t y : b) {
            w_.network().block(x, y);
            w_.network().block(y, x);
          }
        }
        record(fmt::format("partition_flip {} | {}", a.size(), b.size()));
        break;
      }
      case StormKind::isolate_leader:
      case StormKind::one_way_leader: {
        if (!leader) return record("no leader to isolate");
        for (size_t j = 0; j < nodes; ++j) {
          if (j == *leader) continue;
          w_.network().block(j, *leader);
          if (kind == StormKind::isolate_leader) w_.network().block(*leader, j);
        }
        record(fmt::format("{} {}", storm_kind_name(kind), *leader));
        break;
      }
      case StormKind::pause_leader: {
        if (!leader || w_.is_paused(*leader)) return record("no leader to pause");
        const size_t n = *leader;
        w_.pause(n);
        const int64_t t = spec_.election_timeout_ms * 1000;
        w_.at(w_.now_us() + rng_.range(t * 3 / 2, 3 * t), [this, n] {
          if (w_.is_up(n) && w_.is_paused(n)) w_.resume(n);
        });
        record(fmt::format("pause_leader {}", n));
        break;
      }
      case StormKind::fsync_spike: {
        DiskFaults d = base_disk();
        d.fsync_latency_us = s.fsync_spike_us;
        w_.set_disk_faults(any, d);
        spiked_[any] = true;
        record(fmt::format("fsync_spike {}", any));
        break;
      }
      case StormKind::crash_leader:
        if (!leader) return record("no leader to crash");
        if (w_.is_paused(*leader)) w_.resume(*leader);
        leader_crashes_us_.push_back(w_.now_us());
        crash_later(*leader);
        record(fmt::format("crash_leader {}", *leader));
        break;
      case StormKind::crash_voter:
        if (!w_.is_up(any)) return record("voter already down");
        if (w_.is_paused(any)) w_.resume(any);
        crash_later(any);
        record(fmt::format("crash_voter {}", any));
        break;
      case StormKind::isolate_follower: {
        size_t f = any;
        if (leader && f == *leader) f = (f + 1) % voters_;
        for (size_t j = 0; j < nodes; ++j) {
          if (j == f) continue;
          w_.network().block(j, f);
          w_.network().block(f, j);
        }
        record(fmt::format("isolate_follower {}", f));
        break;
      }
      case StormKind::drift:
        w_.set_drift_ppm(any, rng_.range(-spec_.drift_ppm_max, spec_.drift_ppm_max));
        record(fmt::format("drift {}", any));
        break;
    }
  }

  void end() {
    undo();
    for (size_t i = 0; i < voters_; ++i) {
      if (w_.is_up(i) && w_.is_paused(i)) w_.resume(i);
      if (!w_.is_up(i)) w_.start(i);
    }
    record("end");
  }

  World& w_;
  const RaftSpec& spec_;
  size_t voters_;
  RandomStream rng_;
  std::vector<int64_t>& leader_crashes_us_;
  std::array<bool, consensus::kVotersMax> spiked_{};
};

int64_t percentile(std::vector<int64_t> v, int p) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, v.size() * static_cast<size_t>(p) / 100)];
}

}  // namespace

RunResult run_raft_scenario(const Scenario& sc, const RunOptions& opt) {
  MESHD_ASSERT(sc.raft.has_value());
  const RaftSpec& spec = *sc.raft;
  const size_t voters = static_cast<size_t>(spec.voters);
  World world(opt.seed);
  world.trace().set_recording(opt.record_trace);
  world.set_log_stderr(opt.log_stderr);
  world.network().set_default_link(sc.network);
  RaftOracle oracle(voters);
  std::vector<HistoryOp> history;
  RaftRun run{world, spec, oracle, history, {}};
  for (size_t i = 0; i < voters; ++i) run.voters.push_back(world.address_of(i));
  RandomStream clocks = world.random().stream("raft", "clocks");
  for (size_t i = 0; i < sc.nodes; ++i) {
    if (i < voters) {
      world.add_node([&run](Env& env, size_t index) -> std::unique_ptr<Service> {
        return std::make_unique<RaftVoterService>(env, index, run);
      });
      DiskFaults d;
      d.torn_writes = true;
      d.fsync_latency_us = spec.fsync_latency_us;
      world.set_disk_faults(i, d);
      if (spec.drift_ppm_max > 0) world.set_drift_ppm(i, clocks.range(-spec.drift_ppm_max, spec.drift_ppm_max));
    } else {
      world.add_node([&run](Env& env, size_t index) -> std::unique_ptr<Service> {
        return std::make_unique<RaftClientService>(env, index, run);
      });
    }
  }
  std::vector<Fault> fired;
  for (const Fault& f : sc.faults) {
    world.at(f.at_us, [f, &world, &fired] {
      world.record(TraceKind::fault, static_cast<uint32_t>(std::max<int64_t>(f.node, 0)),
                   std::string(fault_kind_name(f.kind)));
      apply_fault(world, f);
      fired.push_back(f);
    });
  }
  std::vector<int64_t> leader_crashes_us;
  Storm storm(world, spec, voters, leader_crashes_us);
  storm.schedule();
  // After the storm (or from the start when there is none): a stable leader
  // within leader_within_ms.
  const int64_t calm_us = spec.storm.end_ms * 1000;
  const int64_t deadline_us = calm_us + spec.leader_within_ms * 1000;
  std::optional<int64_t> stable_at_us;
  for (int64_t t = calm_us; t <= deadline_us; t += kPollUs) {
    world.at(t, [&, t] {
      if (!stable_at_us && stable_leader(world, voters)) stable_at_us = t;
    });
  }
  world.start_all();
  const int64_t end_us = opt.until_us >= 0 ? std::min(opt.until_us, sc.duration_us) : sc.duration_us;
  world.run_until(end_us);

  RunResult r;
  if (end_us == sc.duration_us) {
    // Up voters: the log in memory. Down voters: what their disk holds.
    std::vector<std::unique_ptr<consensus::RaftStorage>> recovered(voters);
    std::vector<consensus::RaftLog> disk_logs(voters);
    std::vector<const consensus::RaftLog*> logs(voters, nullptr);
    for (size_t i = 0; i < voters; ++i) {
      if (const consensus::RaftNode* m = machine_of(world, i)) {
        logs[i] = &m->log();
        continue;
      }
      auto opened = consensus::RaftStorage::open(world.disk(i), nullptr, nullptr, "raft");
      if (!opened) {
        r.violations.push_back(fmt::format("voter {}: durable state unreadable at the end: {}", i,
                                           opened.status().to_string()));
        ++r.violation_count;
        continue;
      }
      disk_logs[i] = (*opened)->take_log();
      logs[i] = &disk_logs[i];
    }
    oracle.check_end(logs);
    r.violations.insert(r.violations.end(), oracle.violations().begin(), oracle.violations().end());
    r.violation_count += oracle.violation_count();
    if (spec.elections_max > 0 && oracle.elections() > static_cast<uint64_t>(spec.elections_max)) {
      std::string terms;
      for (const RaftOracle::Election& e : oracle.election_log()) {
        terms += fmt::format(" voter {} term {} at {:.3f}s;", e.node, e.term, e.at_us / 1e6);
      }
      r.violations.push_back(fmt::format("disruption: {} elections, at most {} expected:{}", oracle.elections(),
                                         spec.elections_max, terms));
      ++r.violation_count;
    }
    if (!stable_at_us) {
      r.violations.push_back(fmt::format("no stable leader within {} ms after the storm", spec.leader_within_ms));
      ++r.violation_count;
    }
  } else {
    r.violations = oracle.violations();
    r.violation_count = oracle.violation_count();
  }
  const LinearizabilityReport lin = check_linearizable(history);
  for (const std::string& v : lin.violations) r.violations.push_back(v);
  r.violation_count += lin.violations.size();

  // Figures.
  std::vector<int64_t> election_us;
  for (int64_t crash_us : leader_crashes_us) {
    for (const RaftOracle::Election& e : oracle.election_log()) {
      if (e.at_us > crash_us) {
        election_us.push_back(e.at_us - crash_us);
        break;
      }
    }
  }
  uint64_t completed = 0;
  std::vector<bool> window_ok;
  const int64_t storm_start_us = spec.storm.start_ms * 1000;
  if (calm_us > storm_start_us) window_ok.assign(static_cast<size_t>((calm_us - storm_start_us) / kAvailabilityWindowUs), false);
  for (const HistoryOp& o : history) {
    if (!o.known) continue;
    ++completed;
    if (o.complete_us >= storm_start_us && o.complete_us < calm_us) {
      const auto w = static_cast<size_t>((o.complete_us - storm_start_us) / kAvailabilityWindowUs);
      if (w < window_ok.size()) window_ok[w] = true;
    }
  }
  const size_t ok_windows = static_cast<size_t>(std::count(window_ok.begin(), window_ok.end(), true));
  r.raft = {{"elections", oracle.elections()},
            {"max_term", oracle.max_term()},
            {"committed", oracle.committed()},
            {"operations", history.size()},
            {"completed", completed},
            {"leader_crashes", leader_crashes_us.size()},
            {"election_after_crash_us", election_us},
            {"election_after_crash_p50_us", percentile(election_us, 50)},
            {"stable_leader_after_storm_us", stable_at_us ? *stable_at_us - calm_us : -1},
            {"storm_windows", window_ok.size()},
            {"storm_windows_available", ok_windows},
            {"linearizability_keys", lin.keys},
            {"linearizability_undecided_keys", lin.undecided_keys}};
  if (opt.history) r.history_jsonl = history_json_lines(history, world.now_us());
  r.nodes = sc.nodes;
  r.passed = r.violation_count == 0;
  r.trace_hash = world.trace().hash();
  r.events = world.events_processed();
  r.sim_us = world.now_us();
  r.fired_faults = std::move(fired);
  r.storage = {{"raft.committed", oracle.committed()}, {"raft.completed", completed}};
  if (opt.record_trace) r.trace = world.trace().recorded();
  r.final_state = opt.final_state ? node_snapshots(world, sc.nodes) : nlohmann::json::array();
  return r;
}

}  // namespace meshd::sim
