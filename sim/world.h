// World: a single-threaded deterministic simulation of N meshd nodes over
// virtual time.
//
// Ownership: World owns everything — the global clock, the event queue,
// the NetworkModel, every node's SimClock, SimDisk, Log, Metrics and the
// current *process* (Runtime, network endpoint, Random, Env, Service). A
// process lives from start()/restart() to crash()/wipe(); clock, disk and
// address belong to the node and survive it.
//
// Scheduling: one global min-heap of events ordered by (time_us, seq), seq
// being the insertion order, so ties are deterministic. Event kinds: a node
// wake (run its Runtime's due work), a datagram delivery, a world event
// (at()). After any event touching node i, World asks the node's Runtime
// for next_deadline_us() (node-local monotonic), converts it with
// SimClock::to_global() and keeps exactly one pending wake per node
// (superseded wakes carry an old generation and are skipped). After a world
// event every up node is re-examined (the event may have called into
// services). Delivery = the endpoint's receive handler (loop context), then
// Runtime::run_due().
//
// Processes: crash() kills every fiber (Runtime::kill_all, destructors run),
// destroys the Service, closes the endpoint (datagrams arriving for a down
// node are dropped as dropped_node_down) and applies SimDisk::crash().
// restart() builds a fresh Runtime/Metrics/Random/Service from the factory
// over the same disk, clock and address. pause() stops all of the node's
// events (timers wait; arriving datagrams queue in arrival order) until
// resume(), like SIGSTOP/SIGCONT. Process incarnation k of node i gets
// Random key for_node(i) when k == 0, otherwise a key drawn from
// for_node(i).stream("process", "incarnation:k"), so a restarted node does
// not replay its previous life's randomness (nonces!).
//
// Addresses: node i is 10.0.(i >> 8).(i & 255):7000 (kNodesMax = 65536).
// Randomness: everything random derives from random() = Random::from_seed
// (seed): links are keyed from stream("net", "link:a->b") (link_stream.h),
// node i's disk uses for_node(i).stream("disk", ...). Every send,
// deliver, drop, corruption, duplicate, wake, process transition, fault and
// log line is folded into trace() (see trace.h). Not thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "core/env/address.h"
#include "core/env/env.h"
#include "core/env/metrics.h"
#include "core/env/random.h"
#include "core/env/runtime.h"
#include "sim/clock.h"
#include "sim/disk_model.h"
#include "sim/event_queue.h"
#include "sim/network_model.h"
#include "sim/service.h"
#include "sim/sim_log.h"
#include "sim/sim_network.h"
#include "sim/trace.h"

namespace meshd::sim {

struct NodeOptions {
  int64_t clock_offset_us = 0;
  int64_t clock_drift_ppm = 0;
};

class World {
 public:
  static constexpr size_t kNodesMax = 65536;
  static constexpr uint16_t kNodePort = 7000;
  static constexpr int64_t kNever = INT64_MAX;
  // Livelock guard: virtual time that stops advancing is a found bug (or a
  // zero-latency configuration ping-ponging forever). step() asserts when
  // one instant sees more events, or more Runtime steps, than these.
  static constexpr uint64_t kEventsPerInstantMax = 10'000'000;
  static constexpr uint64_t kStepsPerInstantMax = 200'000'000;

  explicit World(uint64_t seed);
  ~World();
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  // --- nodes ----------------------------------------------------------------
  size_t add_node(ServiceFactory factory, NodeOptions options = {});  // index 0..n-1
  meshd::Address address_of(size_t node) const;
  std::optional<size_t> node_of(const meshd::Address& address) const;
  size_t node_count() const { return nodes_.size(); }

  // --- processes ------------------------------------------------------------
  void start(size_t node);  // boots a down node (asserted down)
  void start_all();         // boots every down node, in index order
  void crash(size_t node);  // no-op if already down
  void restart(size_t node);  // crash if up, then boot
  void pause(size_t node);
  void resume(size_t node);
  void wipe(size_t node);   // crash + wipe disk (then restart() to rejoin)
  bool is_up(size_t node) const;
  bool is_paused(size_t node) const;
  uint64_t incarnation(size_t node) const;  // number of boots so far

  // --- parts ----------------------------------------------------------------
  NetworkModel& network() { return network_; }
  SimDisk& disk(size_t node);
  SimClock& clock(size_t node);
  Service* service(size_t node);  // nullptr when down
  meshd::Env* env(size_t node);   // nullptr when down
  meshd::Runtime* runtime(size_t node);  // nullptr when down
  meshd::Metrics& metrics(size_t node);  // the current (or last) incarnation's
  meshd::Random& random() { return random_; }
  Trace& trace() { return trace_; }

  // --- faults that are also folded into the trace ---------------------------
  void jump_wall_us(size_t node, int64_t delta_us);
  void set_drift_ppm(size_t node, int64_t drift_ppm);
  void set_disk_faults(size_t node, const DiskFaults& faults);
  // Records a fault/check event (node = kWorldNode for world-wide ones).
  void record(TraceKind kind, uint32_t node, std::string_view detail);

  // --- configuration --------------------------------------------------------
  // Runtime limits for processes booted from now on (fiber stacks are
  // mmap'ed: 128 KiB virtual each by default; lower them for big worlds).
  void set_runtime_limits(const Runtime::Limits& limits) { runtime_limits_ = limits; }
  void set_log_level(LogLevel level) { log_level_ = level; }
  LogLevel log_level() const { return log_level_; }
  void set_log_stderr(bool on) { log_stderr_ = on; }
  bool log_stderr() const { return log_stderr_; }
  // In-code fault points (core/env/buggify.h) for processes booted from
  // now on; set before start(). Default: none enabled.
  void set_buggify(const BuggifyPlan& plan) { buggify_plan_ = plan; }
  const BuggifyPlan& buggify_plan() const { return buggify_plan_; }
  struct BuggifyCounts {
    std::array<uint64_t, kBuggifyPoints> evaluated{};
    std::array<uint64_t, kBuggifyPoints> fired{};
  };
  // Summed over every node and incarnation of the run so far.
  BuggifyCounts buggify_counts() const;

  // --- time -----------------------------------------------------------------
  void at(int64_t t_us, std::function<void()> fn);  // t_us >= now_us()
  void run_until(int64_t t_us);  // every event with time <= t_us, then now = t_us
  bool step();                   // runs the next event; false if none
  std::optional<int64_t> next_event_us() const;
  int64_t now_us() const { return global_.now_us(); }
  uint64_t events_processed() const { return events_processed_; }
  size_t queued_events() const { return queue_.size(); }

  // --- endpoint's side (SimNetwork) -------------------------------------------
  Status transmit(size_t from, const meshd::Address& to, std::span<const uint8_t> bytes);

 private:
  struct Process;
  struct Node;
  struct Packet {
    uint32_t from = 0;
    uint32_t to = 0;
    uint64_t msg = 0;  // trace-only datagram id (TraceEvent::msg), never hashed
    std::vector<uint8_t> bytes;
  };

  Node& node(size_t i);
  const Node& node(size_t i) const;
  void boot(size_t i, TraceKind kind);
  void teardown(Node& n);
  void drive(size_t i);
  void on_wake(uint32_t i, uint64_t generation);
  void on_arrival(uint64_t packet_id);
  void deliver_now(uint64_t packet_id);
  void run_world_fn(uint64_t slot);
  uint64_t alloc_packet(uint32_t from, uint32_t to, std::span<const uint8_t> bytes);
  void free_packet(uint64_t id);
  void drop_packet(uint64_t id, NetCounter reason);
  Random incarnation_random(size_t i, uint64_t incarnation) const;

  Random random_;
  GlobalTime global_;
  EventQueue queue_;
  NetworkModel network_;
  Trace trace_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::deque<Packet> packets_;        // deque: stable while handlers send
  std::vector<uint64_t> free_packets_;
  std::map<uint64_t, std::function<void()>> world_fns_;
  uint64_t next_world_fn_ = 0;
  uint64_t next_msg_ = 0;            // last TraceEvent::msg handed out
  uint64_t events_processed_ = 0;
  int64_t instant_us_ = -1;          // the virtual time of the last event
  uint64_t events_at_instant_ = 0;
  uint64_t steps_at_instant_ = 0;
  Runtime::Limits runtime_limits_{};
  LogLevel log_level_ = LogLevel::info;
  bool log_stderr_ = false;
  BuggifyPlan buggify_plan_;
  std::array<uint64_t, kBuggifyPoints> buggify_evaluated_{};  // of processes torn down
  std::array<uint64_t, kBuggifyPoints> buggify_fired_{};
};

}  // namespace meshd::sim
