#include "sim/world.h"

#include <fmt/format.h>

#include "core/env/assert.h"

namespace meshd::sim {

// One incarnation of a node's process. Member order is destruction order
// in reverse: the Service goes before the Env, endpoint and Runtime it
// borrows (teardown() also kills fibers first, explicitly).
struct World::Process {
  std::unique_ptr<Runtime> runtime;
  std::unique_ptr<SimNetwork> endpoint;
  std::unique_ptr<Random> random;
  std::unique_ptr<Buggify> buggify;  // null unless the run enables a point
  std::unique_ptr<Env> env;
  std::unique_ptr<Service> service;
};

struct World::Node {
  ServiceFactory factory;
  NodeOptions options;
  std::unique_ptr<SimClock> clock;
  std::unique_ptr<SimDisk> disk;
  std::unique_ptr<SimLog> log;
  std::unique_ptr<Metrics> metrics;
  std::unique_ptr<Process> process;
  bool paused = false;
  uint64_t incarnation = 0;
  int64_t wake_at_us = kNever;  // the one pending wake (kNever: none)
  uint64_t wake_generation = 0;
  std::vector<uint64_t> held_packets;  // arrived while paused
};

World::World(uint64_t seed)
    : random_(Random::from_seed(seed)), network_(random_) {
  network_.set_release_handler([this](const std::vector<uint64_t>& ids) {
    // Released datagrams arrive now, in the order they were held.
    for (uint64_t id : ids) queue_.push(now_us(), EventKind::deliver, packets_[id].to, id);
  });
  network_.set_fault_observer([this](std::string_view what) {
    trace_.record(now_us(), kWorldNode, TraceKind::fault, digest_text(what), what);
  });
}

World::~World() {
  for (auto& n : nodes_) {
    if (n->process) teardown(*n);
  }
}

World::Node& World::node(size_t i) {
  MESHD_ASSERT(i < nodes_.size());
  return *nodes_[i];
}

const World::Node& World::node(size_t i) const {
  MESHD_ASSERT(i < nodes_.size());
  return *nodes_[i];
}

size_t World::add_node(ServiceFactory factory, NodeOptions options) {
  MESHD_ASSERT_MSG(nodes_.size() < kNodesMax, "too many simulated nodes");
  const size_t i = nodes_.size();
  auto n = std::make_unique<Node>();
  n->factory = std::move(factory);
  n->options = options;
  n->clock = std::make_unique<SimClock>(global_, options.clock_offset_us, options.clock_drift_ppm);
  n->disk = std::make_unique<SimDisk>(random_.for_node(i));
  n->log = std::make_unique<SimLog>(*this, static_cast<uint32_t>(i));
  n->metrics = std::make_unique<Metrics>();
  nodes_.push_back(std::move(n));
  return i;
}

Address World::address_of(size_t i) const {
  MESHD_ASSERT(i < kNodesMax);
  return Address{0x0A000000u | static_cast<uint32_t>(i), kNodePort};
}

std::optional<size_t> World::node_of(const Address& a) const {
  if (a.port != kNodePort || (a.ipv4 & 0xFFFF0000u) != 0x0A000000u) return std::nullopt;
  const size_t i = a.ipv4 & 0xFFFFu;
  if (i >= nodes_.size()) return std::nullopt;
  return i;
}

Random World::incarnation_random(size_t i, uint64_t incarnation) const {
  Random base = random_.for_node(i);
  if (incarnation == 0) return base;
  RandomStream s = base.stream("process", fmt::format("incarnation:{}", incarnation));
  Key32 key{};
  s.fill(key);
  return Random(key);
}

// --- processes --------------------------------------------------------------

void World::boot(size_t i, TraceKind kind) {
  Node& n = node(i);
  MESHD_ASSERT(!n.process);
  n.metrics = std::make_unique<Metrics>();
  auto p = std::make_unique<Process>();
  p->runtime = std::make_unique<Runtime>(*n.clock, runtime_limits_);
  p->endpoint = std::make_unique<SimNetwork>(*this, i, address_of(i));
  p->random = std::make_unique<Random>(incarnation_random(i, n.incarnation));
  if (buggify_plan_.any()) {
    p->buggify = std::make_unique<Buggify>(buggify_plan_, p->random->stream("buggify", "fire"));
  }
  p->env = std::make_unique<Env>(
      Env{*n.clock, *p->endpoint, *n.disk, *p->random, *p->runtime, *n.log, *n.metrics, p->buggify.get()});
  n.disk->attach_runtime(p->runtime.get());
  n.paused = false;
  n.process = std::move(p);
  trace_.record(now_us(), static_cast<uint32_t>(i), kind, n.incarnation);
  ++n.incarnation;
  n.process->service = n.factory(*n.process->env, i);
  MESHD_ASSERT_MSG(n.process->service != nullptr, "ServiceFactory returned null");
  n.process->service->start();
  drive(i);
}

void World::teardown(Node& n) {
  Process& p = *n.process;
  if (p.buggify) {
    for (size_t k = 0; k < kBuggifyPoints; ++k) {
      const auto point = static_cast<BuggifyPoint>(k);
      buggify_evaluated_[k] += p.buggify->evaluated(point);
      buggify_fired_[k] += p.buggify->fired(point);
    }
  }
  p.endpoint->close();          // a dying process sends nothing
  p.runtime->kill_all();        // fiber destructors still see the Service
  p.service.reset();
  n.disk->attach_runtime(nullptr);
  n.process.reset();
  ++n.wake_generation;          // any pending wake is now stale
  n.wake_at_us = kNever;
  n.paused = false;
}

void World::start(size_t i) {
  MESHD_ASSERT_MSG(!node(i).process, "start() of a node that is up");
  boot(i, node(i).incarnation == 0 ? TraceKind::node_start : TraceKind::node_restart);
}

void World::start_all() {
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (!nodes_[i]->process) start(i);
  }
}

void World::crash(size_t i) {
  Node& n = node(i);
  if (!n.process) return;
  trace_.record(now_us(), static_cast<uint32_t>(i), TraceKind::node_crash, n.incarnation);
  for (uint64_t id : n.held_packets) drop_packet(id, NetCounter::dropped_node_down);
  n.held_packets.clear();
  teardown(n);
  n.disk->crash();
}

void World::restart(size_t i) {
  crash(i);
  boot(i, TraceKind::node_restart);
}

void World::wipe(size_t i) {
  crash(i);
  record(TraceKind::fault, static_cast<uint32_t>(i), "disk.wipe");
  node(i).disk->wipe();
}

void World::pause(size_t i) {
  Node& n = node(i);
  if (!n.process || n.paused) return;
  trace_.record(now_us(), static_cast<uint32_t>(i), TraceKind::node_pause, 0);
  n.paused = true;
  ++n.wake_generation;
  n.wake_at_us = kNever;
}

void World::resume(size_t i) {
  Node& n = node(i);
  if (!n.process || !n.paused) return;
  trace_.record(now_us(), static_cast<uint32_t>(i), TraceKind::node_resume, n.held_packets.size());
  n.paused = false;
  // Datagrams that queued up while paused are delivered now, in order.
  for (uint64_t id : n.held_packets) queue_.push(now_us(), EventKind::deliver_local, static_cast<uint32_t>(i), id);
  n.held_packets.clear();
  drive(i);
}

bool World::is_up(size_t i) const { return node(i).process != nullptr; }
bool World::is_paused(size_t i) const { return node(i).paused; }
uint64_t World::incarnation(size_t i) const { return node(i).incarnation; }

SimDisk& World::disk(size_t i) { return *node(i).disk; }
SimClock& World::clock(size_t i) { return *node(i).clock; }
Metrics& World::metrics(size_t i) { return *node(i).metrics; }

Service* World::service(size_t i) {
  Node& n = node(i);
  return n.process ? n.process->service.get() : nullptr;
}

Env* World::env(size_t i) {
  Node& n = node(i);
  return n.process ? n.process->env.get() : nullptr;
}

Runtime* World::runtime(size_t i) {
  Node& n = node(i);
  return n.process ? n.process->runtime.get() : nullptr;
}

// --- faults -------------------------------------------------------------------

void World::record(TraceKind kind, uint32_t node_index, std::string_view detail) {
  trace_.record(now_us(), node_index, kind, digest_text(detail), detail);
}

void World::jump_wall_us(size_t i, int64_t delta_us) {
  record(TraceKind::fault, static_cast<uint32_t>(i), fmt::format("clock.jump_wall_us {}", delta_us));
  node(i).clock->jump_wall_us(delta_us);
}

void World::set_drift_ppm(size_t i, int64_t drift_ppm) {
  record(TraceKind::fault, static_cast<uint32_t>(i), fmt::format("clock.drift_ppm {}", drift_ppm));
  node(i).clock->set_drift_ppm(drift_ppm);
  drive(i);  // the local deadline now maps to a different global time
}

void World::set_disk_faults(size_t i, const DiskFaults& f) {
  record(TraceKind::fault, static_cast<uint32_t>(i),
         fmt::format("disk.faults bitrot={} write_eio={} fsync_eio={} capacity={} torn={} "
                     "latency_us={} fsync_latency_us={}",
                     f.read_bitrot, f.write_eio, f.fsync_eio, f.capacity_bytes, f.torn_writes,
                     f.latency_us, f.fsync_latency_us));
  node(i).disk->set_faults(f);
}

// --- scheduling -------------------------------------------------------------

void World::drive(size_t i) {
  Node& n = node(i);
  if (!n.process || n.paused) return;
  const std::optional<int64_t> local = n.process->runtime->next_deadline_us();
  int64_t target = kNever;
  if (local) {
    target = n.clock->to_global(*local);
    if (target < now_us()) target = now_us();
  }
  if (target == n.wake_at_us) return;
  ++n.wake_generation;
  n.wake_at_us = target;
  if (target != kNever) {
    queue_.push(target, EventKind::wake, static_cast<uint32_t>(i), n.wake_generation);
  }
}

void World::on_wake(uint32_t i, uint64_t generation) {
  Node& n = node(i);
  if (generation != n.wake_generation || !n.process || n.paused) return;  // stale
  n.wake_at_us = kNever;
  const size_t steps = n.process->runtime->run_due();
  steps_at_instant_ += steps;
  trace_.record(now_us(), i, TraceKind::timer, mix64(static_cast<uint64_t>(n.clock->monotonic_us())) ^ steps);
  drive(i);
}

void World::at(int64_t t_us, std::function<void()> fn) {
  MESHD_ASSERT_MSG(t_us >= now_us(), "World::at() in the past");
  const uint64_t slot = next_world_fn_++;
  world_fns_.emplace(slot, std::move(fn));
  queue_.push(t_us, EventKind::world_fn, kWorldNode, slot);
}

void World::run_world_fn(uint64_t slot) {
  auto it = world_fns_.find(slot);
  MESHD_ASSERT(it != world_fns_.end());
  std::function<void()> fn = std::move(it->second);
  world_fns_.erase(it);
  fn();
  // The event may have called into any node (faults, service calls).
  for (size_t i = 0; i < nodes_.size(); ++i) drive(i);
}

bool World::step() {
  if (queue_.empty()) return false;
  const SimEvent ev = queue_.pop();
  global_.advance_to(ev.t_us);
  ++events_processed_;
  if (ev.t_us != instant_us_) {
    instant_us_ = ev.t_us;
    events_at_instant_ = 0;
    steps_at_instant_ = 0;
  }
  ++events_at_instant_;
  MESHD_ASSERT_MSG(events_at_instant_ <= kEventsPerInstantMax && steps_at_instant_ <= kStepsPerInstantMax,
                   "simulation livelock: virtual time stopped advancing");
  switch (ev.kind) {
    case EventKind::wake: on_wake(ev.node, ev.arg); break;
    case EventKind::deliver: on_arrival(ev.arg); break;
    case EventKind::deliver_local: deliver_now(ev.arg); break;
    case EventKind::world_fn: run_world_fn(ev.arg); break;
  }
  return true;
}

std::optional<int64_t> World::next_event_us() const {
  if (queue_.empty()) return std::nullopt;
  return queue_.top().t_us;
}

void World::run_until(int64_t t_us) {
  while (!queue_.empty() && queue_.top().t_us <= t_us) step();
  if (t_us > now_us()) global_.advance_to(t_us);
}

// --- datagrams ----------------------------------------------------------------

uint64_t World::alloc_packet(uint32_t from, uint32_t to, std::span<const uint8_t> bytes) {
  uint64_t id;
  if (!free_packets_.empty()) {
    id = free_packets_.back();
    free_packets_.pop_back();
  } else {
    id = packets_.size();
    packets_.emplace_back();
  }
  Packet& p = packets_[id];
  p.from = from;
  p.to = to;
  p.bytes.assign(bytes.begin(), bytes.end());  // reuses the slot's capacity
  return id;
}

void World::free_packet(uint64_t id) { free_packets_.push_back(id); }

void World::drop_packet(uint64_t id, NetCounter reason) {
  const Packet& p = packets_[id];
  network_.count(reason);
  trace_.record(now_us(), p.to, TraceKind::drop,
                digest_bytes(p.bytes) ^ mix64(static_cast<uint64_t>(reason)),
                trace_.wants_detail() ? fmt::format("{}->{} {}", p.from, p.to, net_counter_name(reason))
                                      : std::string(),
                p.msg, p.from);
  free_packet(id);
}

Status World::transmit(size_t from, const Address& to, std::span<const uint8_t> bytes) {
  const uint64_t digest = digest_bytes(bytes);
  const auto to_node = node_of(to);
  const bool detail = trace_.wants_detail();
  const uint64_t msg = ++next_msg_;  // trace-only linkage id; not hashed
  if (!to_node) {
    network_.count(NetCounter::sent);
    network_.count(NetCounter::dropped_unknown_address);
    trace_.record(now_us(), static_cast<uint32_t>(from), TraceKind::drop, digest,
                  detail ? fmt::format("{}->{} dropped_unknown_address", from, to.to_string()) : "", msg);
    return Status::ok();
  }
  const uint32_t dst = static_cast<uint32_t>(*to_node);
  trace_.record(now_us(), static_cast<uint32_t>(from), TraceKind::send, digest ^ mix64(dst),
                detail ? fmt::format("{}->{} {}B", from, dst, bytes.size()) : "", msg, dst);
  const NetworkModel::SendDecision d = network_.on_send(from, dst, bytes.size());
  if (d.fate != NetworkModel::SendFate::accept) {
    const char* why = d.fate == NetworkModel::SendFate::dropped_loss        ? "dropped_loss"
                      : d.fate == NetworkModel::SendFate::dropped_partition ? "dropped_partition"
                      : d.fate == NetworkModel::SendFate::dropped_queue     ? "dropped_queue"
                                                                             : "dropped_mtu";
    trace_.record(now_us(), static_cast<uint32_t>(from), TraceKind::drop,
                  digest ^ static_cast<uint8_t>(d.fate),
                  detail ? fmt::format("{}->{} {}", from, dst, why) : "", msg, dst);
    // A full queue is the local send queue of network.h: tell the sender.
    if (d.fate == NetworkModel::SendFate::dropped_queue) return Status(Errc::unavailable);
    return Status::ok();
  }
  for (uint8_t c = 0; c < d.copy_count; ++c) {
    const NetworkModel::Copy& copy = d.copies[c];
    const uint64_t id = alloc_packet(static_cast<uint32_t>(from), dst, bytes);
    Packet& p = packets_[id];
    p.msg = c == 0 ? msg : ++next_msg_;  // each extra copy is its own message
    for (uint8_t b = 0; b < copy.flip_count; ++b) {
      p.bytes[copy.flip_bits[b] / 8] ^= static_cast<uint8_t>(1u << (copy.flip_bits[b] % 8));
    }
    if (copy.flip_count > 0) {
      trace_.record(now_us(), static_cast<uint32_t>(from), TraceKind::corrupt, digest_bytes(p.bytes),
                    detail ? fmt::format("{}->{} {} bits", from, dst, copy.flip_count) : "", p.msg, dst);
    }
    if (c > 0) {
      trace_.record(now_us(), static_cast<uint32_t>(from), TraceKind::duplicate, digest ^ copy.delay_us,
                    detail ? fmt::format("{}->{}", from, dst) : "", p.msg, dst);
    }
    queue_.push(now_us() + copy.delay_us, EventKind::deliver, dst, id);
  }
  return Status::ok();
}

void World::on_arrival(uint64_t id) {
  const Packet& p = packets_[id];
  switch (network_.on_arrival(p.from, p.to, id)) {
    case NetworkModel::ArrivalFate::held: return;  // released later by unclog
    case NetworkModel::ArrivalFate::dropped_partition:
      // on_arrival() counted it already.
      trace_.record(now_us(), p.to, TraceKind::drop, digest_bytes(p.bytes) ^ 1,
                    trace_.wants_detail() ? fmt::format("{}->{} dropped_partition", p.from, p.to) : "", p.msg,
                    p.from);
      free_packet(id);
      return;
    case NetworkModel::ArrivalFate::deliver: break;
  }
  deliver_now(id);
}

void World::deliver_now(uint64_t id) {
  const Packet& p = packets_[id];
  Node& n = node(p.to);
  if (!n.process) {
    drop_packet(id, NetCounter::dropped_node_down);
    return;
  }
  if (n.paused) {
    n.held_packets.push_back(id);
    return;
  }
  const uint32_t to = p.to;
  trace_.record(now_us(), to, TraceKind::deliver, digest_bytes(p.bytes) ^ mix64(p.from),
                trace_.wants_detail() ? fmt::format("{}->{} {}B", p.from, to, p.bytes.size()) : "", p.msg,
                p.from);
  if (n.process->endpoint->deliver(address_of(p.from), p.bytes)) {
    network_.count(NetCounter::delivered);
  } else {
    network_.count(NetCounter::dropped_no_handler);
  }
  free_packet(id);
  steps_at_instant_ += n.process->runtime->run_due();
  drive(to);
}

}  // namespace meshd::sim

namespace meshd::sim {

World::BuggifyCounts World::buggify_counts() const {
  BuggifyCounts c{buggify_evaluated_, buggify_fired_};
  for (const auto& n : nodes_) {
    if (!n->process || !n->process->buggify) continue;
    for (size_t k = 0; k < kBuggifyPoints; ++k) {
      c.evaluated[k] += n->process->buggify->evaluated(static_cast<BuggifyPoint>(k));
      c.fired[k] += n->process->buggify->fired(static_cast<BuggifyPoint>(k));
    }
  }
  return c;
}

}  // namespace meshd::sim
