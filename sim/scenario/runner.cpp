#include "sim/scenario/runner.h"

#include <fmt/format.h>

#include <algorithm>

#include "sim/attacker.h"
#include "sim/scenario/membership_oracle.h"
#include "sim/scenario/node_service.h"
#include "sim/scenario/oracle.h"
#include "sim/consensus/raft_runner.h"
#include "sim/storage/storage_runner.h"
#include "sim/world.h"

namespace meshd::sim {

Distribution distribution_of(std::vector<int64_t> samples) {
  Distribution d;
  d.count = samples.size();
  if (samples.empty()) return d;
  std::sort(samples.begin(), samples.end());
  auto at = [&](size_t permille) { return samples[std::min(samples.size() - 1, samples.size() * permille / 1000)]; };
  d.p50 = at(500);
  d.p99 = at(990);
  d.max = samples.back();
  return d;
}

namespace {

NodeConfig config_for(const Scenario& sc, const World& world, size_t i) {
  NodeConfig c;
  c.name = fmt::format("n{}", i);
  c.listen = world.address_of(i);
  c.data_dir = ".";
  // Seeds: the peers (the node's default). No block: SWIM's defaults.
  if (sc.membership) c.membership.swim = *sc.membership;
  for (size_t j = 0; j < sc.nodes; ++j) {
    if (j != i) c.peers.push_back({fmt::format("n{}", j), world.address_of(j)});
  }
  return c;
}

}  // namespace

void apply_fault(World& world, const Fault& f) {
  const size_t node = static_cast<size_t>(f.node);
  const size_t from = static_cast<size_t>(f.from), to = static_cast<size_t>(f.to);
  switch (f.kind) {
    case FaultKind::crash: world.crash(node); break;
    case FaultKind::restart: world.restart(node); break;
    case FaultKind::pause: world.pause(node); break;
    case FaultKind::resume: world.resume(node); break;
    case FaultKind::wipe: world.wipe(node); world.start(node); break;
    case FaultKind::partition: world.network().partition(f.side_a, f.side_b); break;
    case FaultKind::block: world.network().block(from, to); break;
    case FaultKind::unblock: world.network().unblock(from, to); break;
    case FaultKind::clog: world.network().clog(from, to); break;
    case FaultKind::unclog: world.network().unclog(from, to); break;
    case FaultKind::heal: world.network().heal_all(); break;
    case FaultKind::clock_jump: world.jump_wall_us(node, f.delta_us); break;
    case FaultKind::drift: world.set_drift_ppm(node, f.drift_ppm); break;
    case FaultKind::link: world.network().set_link(from, to, f.link); break;
    case FaultKind::disk: world.set_disk_faults(node, f.disk); break;
    case FaultKind::leave:
      if (auto* svc = dynamic_cast<NodeService*>(world.service(node))) svc->leave();
      break;
  }
}

nlohmann::json node_snapshots(World& world, size_t nodes) {
  nlohmann::json out = nlohmann::json::array();
  for (size_t i = 0; i < nodes; ++i) {
    Service* s = world.service(i);
    out.push_back({{"node", i}, {"up", world.is_up(i)}, {"state", s ? s->snapshot() : nlohmann::json()}});
  }
  return out;
}

namespace {

std::string describe(const Fault& f) {
  std::string s = fmt::format("{} at {:.3f}s", fault_kind_name(f.kind), f.at_us / 1e6);
  if (f.node >= 0) s += fmt::format(" node {}", f.node);
  if (f.from >= 0) s += fmt::format(" {}->{}", f.from, f.to);
  return s;
}

}  // namespace

RunResult run_scenario(const Scenario& sc, const RunOptions& opt) {
  if (sc.storage) return run_storage_scenario(sc, opt);
  if (sc.raft) return run_raft_scenario(sc, opt);
  World world(opt.seed);
  world.trace().set_recording(opt.record_trace);
  world.set_log_stderr(opt.log_stderr);
  if (sc.nodes > 200) {
    // Big worlds: smaller fiber stacks keep 1000 nodes well under 1 GiB.
    Runtime::Limits limits;
    limits.stack_bytes = 64 * 1024;
    world.set_runtime_limits(limits);
  }
  world.network().set_default_link(sc.network);
  if (sc.buggify.on()) {
    RandomStream enable = world.random().stream("buggify", "enable");
    world.set_buggify(BuggifyPlan::draw(enable, static_cast<uint32_t>(sc.buggify.enable_percent),
                                        static_cast<uint32_t>(sc.buggify.fire_percent)));
  }

  std::vector<NodeService*> services(sc.nodes, nullptr);
  LivenessOracle* oracle_ptr = nullptr;
  MembershipOracle* membership_ptr = nullptr;
  std::unique_ptr<SecurityHarness> security;  // PSK, keys, attackers, security oracle (sim/attacker.h)
  RandomStream clocks = world.random().stream("scenario", "clocks");
  for (size_t i = 0; i < sc.nodes; ++i) {
    NodeOptions no;
    no.clock_offset_us = sc.clock_offset_us_max > 0 ? clocks.range(0, sc.clock_offset_us_max) : 0;
    no.clock_drift_ppm = sc.clock_drift_ppm_max > 0
                             ? clocks.range(-sc.clock_drift_ppm_max, sc.clock_drift_ppm_max) : 0;
    world.add_node(
        [&, i](Env& env, size_t index) -> std::unique_ptr<Service> {
          auto svc = std::make_unique<NodeService>(
              env, config_for(sc, world, index),
              [&world](const Address& a) { return world.node_of(a); },
              [&oracle_ptr, index](size_t target, membership::PeerState to) {
                if (oracle_ptr) oracle_ptr->on_verdict(index, target, to);
              });
          services[i] = svc.get();
          if (runs_liveness_probe(sc)) svc->set_liveness_probe(sc.liveness);
          NodeService::MembershipHooks hooks;
          hooks.on_boot = [&membership_ptr, index](const NodeId& id, uint64_t inc) {
            if (membership_ptr) membership_ptr->on_boot(index, id, inc);
          };
          hooks.on_event = [&membership_ptr, index](const membership::MemberEvent& e) {
            if (membership_ptr) membership_ptr->on_event(index, e);
          };
          hooks.on_sent = [&membership_ptr, index] {
            if (membership_ptr) membership_ptr->on_sent(index);
          };
          svc->set_membership_hooks(std::move(hooks));
          if (security) security->attach(*svc, index);
          return svc;
        },
        no);
  }
  LivenessOracle oracle(world, sc.invariants, [&](size_t n) {
    return world.service(n) != nullptr && services[n] != nullptr && services[n]->running();
  });
  oracle_ptr = &oracle;
  auto membership_oracle = std::make_unique<MembershipOracle>(
      world, sc.invariants.membership,
      [&](size_t n) { return world.service(n) != nullptr && services[n] != nullptr && services[n]->running(); },
      [&world](size_t n) -> const membership::SwimMember* {
        auto* svc = dynamic_cast<NodeService*>(world.service(n));
        return svc ? svc->swim_member() : nullptr;
      });
  membership_ptr = membership_oracle.get();
  security = std::make_unique<SecurityHarness>(world, sc, opt.planted_bug);
  security->schedule();

  world.start_all();
  oracle.refresh("start");
  if (membership_ptr) membership_ptr->start();
  std::vector<Fault> fired;
  PlantedBugHook planted(opt.planted_bug);
  for (const Fault& f : sc.faults) {
    world.at(f.at_us, [&world, &oracle, &fired, &planted, membership_ptr, f] {
      const std::string what = describe(f);
      world.record(TraceKind::fault, f.node >= 0 ? static_cast<uint32_t>(f.node) : kWorldNode, what);
      apply_fault(world, f);
      fired.push_back(f);
      planted.after_fault(world, f);
      oracle.refresh(what);
      if (membership_ptr) membership_ptr->on_fault(f);
    });
  }
  const int64_t end_us = opt.until_us >= 0 ? std::min(opt.until_us, sc.duration_us) : sc.duration_us;
  world.run_until(end_us);

  RunResult r;
  r.nodes = sc.nodes;
  r.violations = oracle.violations();
  r.violation_count = oracle.violation_count();
  if (membership_ptr) {
    const MembershipOracle& m = *membership_ptr;
    for (const std::string& v : m.violations()) {
      if (r.violations.size() < kViolationsMax) r.violations.push_back(v);
    }
    r.violation_count += m.violation_count();
    MembershipFigures& mf = r.membership;
    mf.enabled = true;
    mf.detection_us = distribution_of(m.detection_us());
    mf.convergence_us = distribution_of(m.convergence_us());
    mf.join_us = distribution_of(m.join_us());
    mf.rejoin_us = distribution_of(m.rejoin_us());
    mf.leave_us = distribution_of(m.leave_us());
    mf.detection_samples_us = m.detection_us();
    mf.convergence_samples_us = m.convergence_us();
    mf.join_samples_us = m.join_us();
    mf.rejoin_samples_us = m.rejoin_us();
    mf.leave_samples_us = m.leave_us();
    mf.false_failed = m.false_failed();
    mf.flaps = m.flaps();
    mf.flaps_max_pair = m.flaps_max_pair();
    mf.sent = m.sent();
  }
  security->finish(end_us == sc.duration_us, r.violations, r.violation_count, r.security);
  r.passed = r.violation_count == 0;
  r.trace_hash = world.trace().hash();
  r.events = world.events_processed();
  r.sim_us = world.now_us();
  r.detection_us = distribution_of(oracle.detection_us());
  r.recovery_us = distribution_of(oracle.recovery_us());
  r.detection_samples_us = oracle.detection_us();
  r.recovery_samples_us = oracle.recovery_us();
  r.fired_faults = std::move(fired);
  r.false_downs = oracle.false_downs();
  r.network = world.network().counters();
  if (sc.buggify.on()) {
    const World::BuggifyCounts counts = world.buggify_counts();
    for (size_t k = 0; k < kBuggifyPoints; ++k) {
      const auto point = static_cast<BuggifyPoint>(k);
      r.buggify[std::string(buggify_point_name(point))] =
          RunResult::BuggifyStat{world.buggify_plan().enabled[k], counts.evaluated[k], counts.fired[k]};
    }
  }
  if (opt.record_trace) r.trace = world.trace().recorded();
  r.final_state = nlohmann::json::array();
  for (size_t i = 0; opt.final_state && i < sc.nodes; ++i) {
    Service* s = world.service(i);
    r.final_state.push_back({{"node", i}, {"up", world.is_up(i)}, {"paused", world.is_paused(i)},
                             {"state", s ? s->snapshot() : nlohmann::json()}});
  }
  return r;
}

}  // namespace meshd::sim
