// NetworkModel: the fate of every datagram between simulated nodes.
//
// Pure model, owned by World: it decides, per directed link (from -> to),
// whether a datagram is dropped and why, how long each copy takes, whether
// it is duplicated, reordered or corrupted; World moves the bytes and
// schedules the deliveries. Every random draw comes from the link's own
// stream, keyed from Random::stream("net", "link:<from>-><to>") (see
// link_stream.h), so traffic on one link never perturbs another link's fate.
// Memory: ~150 B per directed link that has carried traffic.
//
// Per copy: latency = latency_us_min + exponential(latency_us_mean), plus
// reorder_delay_us with probability `reorder` (so later datagrams overtake
// it). Draw order per datagram is fixed: loss, then per copy latency,
// reorder, corruption (1..3 bit positions), then duplicate.
// Partitions (block) are directed and are checked both at send and at
// arrival, so a partition also eats datagrams already in flight. A clogged
// link holds arriving datagrams (they stay in flight and count against
// queue_packets_max) and releases them, in order, on unclog / heal_all.
// Limits: queue_packets_max in-flight datagrams per directed link (overflow
// drops, counted); mtu_bytes per datagram (larger dropped, counted).
// Not thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/env/random.h"
#include "sim/link_stream.h"

namespace meshd::sim {

struct LinkConfig {
  int64_t latency_us_min = 500;      // fixed propagation part
  int64_t latency_us_mean = 500;     // mean of the exponential extra part (jitter); 0 = none
  double loss = 0, duplicate = 0, reorder = 0 /* chance of an extra reorder_delay_us */,
         corrupt = 0 /* chance to flip 1..3 bits */;
  int64_t reorder_delay_us = 5000;
  size_t queue_packets_max = 1024;   // in-flight per directed link; overflow drops (counted)
  size_t mtu_bytes = 1400;           // larger datagrams dropped (counted)
};

enum class NetCounter : uint8_t {
  sent, delivered, dropped_loss, dropped_partition, dropped_queue, dropped_mtu,
  dropped_node_down, dropped_unknown_address, dropped_no_handler, duplicated, corrupted,
  reordered, held_clog, count_
};

class NetworkModel {
 public:
  static constexpr size_t kCopiesMax = 2;   // original + one duplicate
  static constexpr size_t kFlipBitsMax = 3;

  enum class SendFate : uint8_t { accept, dropped_loss, dropped_partition, dropped_queue, dropped_mtu };
  struct Copy {
    int64_t delay_us = 0;
    bool reordered = false;
    uint8_t flip_count = 0;                      // 0: intact
    std::array<uint64_t, kFlipBitsMax> flip_bits{};  // bit indexes into the datagram
  };
  struct SendDecision {
    SendFate fate = SendFate::accept;
    uint8_t copy_count = 0;
    std::array<Copy, kCopiesMax> copies{};
  };
  enum class ArrivalFate : uint8_t { deliver, held, dropped_partition };
  // World's hook: re-deliver datagrams released by unclog, in hold order.
  using ReleaseHandler = std::function<void(const std::vector<uint64_t>& packet_ids)>;

  explicit NetworkModel(const Random& world_random);
  // index_ points into links_: not copyable.
  NetworkModel(const NetworkModel&) = delete;
  NetworkModel& operator=(const NetworkModel&) = delete;

  void set_default_link(const LinkConfig& config);
  void set_link(size_t from, size_t to, const LinkConfig& config);
  const LinkConfig& link_config(size_t from, size_t to) const;

  void block(size_t from, size_t to);
  void unblock(size_t from, size_t to);
  // Symmetric: blocks both directions between every a in side_a and b in side_b.
  void partition(const std::vector<size_t>& side_a, const std::vector<size_t>& side_b);
  void heal_all();  // removes every block and clog (releasing held datagrams)
  void clog(size_t from, size_t to);
  void unclog(size_t from, size_t to);
  bool blocked(size_t from, size_t to) const;
  bool clogged(size_t from, size_t to) const;

  // Counters by reason name (see NetCounter); rebuilt on each call.
  const std::map<std::string, uint64_t>& counters() const;
  uint64_t counter(NetCounter c) const { return counts_[static_cast<size_t>(c)]; }
  size_t in_flight(size_t from, size_t to) const;

  // --- World's side ----------------------------------------------------------
  SendDecision on_send(size_t from, size_t to, size_t size_bytes);
  // A copy reached the far end of the link (packet_id is World's handle).
  ArrivalFate on_arrival(size_t from, size_t to, uint64_t packet_id);
  // A copy left the network without arriving (e.g. dropped by World).
  void count(NetCounter c) { ++counts_[static_cast<size_t>(c)]; }
  void set_release_handler(ReleaseHandler handler) { release_ = std::move(handler); }
  // World's hook: every topology/config change (block, clog, set_link...)
  // is reported as text so it can be folded into the trace as a fault.
  void set_fault_observer(std::function<void(std::string_view)> observer) {
    observe_ = std::move(observer);
  }

 private:
  struct Link {
    explicit Link(RandomStream s) : rng(std::move(s)) {}
    LinkStream rng;
    uint32_t in_flight = 0;
    bool blocked = false;
    bool clogged = false;
    bool has_config = false;  // an override lives in configs_
  };
  static uint64_t key(size_t from, size_t to) { return (uint64_t{from} << 32) | to; }
  Link& link(size_t from, size_t to);
  const Link* find(size_t from, size_t to) const;
  void release(uint64_t link_key);
  const LinkConfig& config_of(uint64_t link_key, const Link& l) const;
  Copy draw_copy(Link& l, const LinkConfig& cfg, size_t size_bytes);

  Random random_;
  LinkConfig default_;
  std::map<uint64_t, Link> links_;                 // created on first use; never erased
  // O(1) lookup on the per-datagram path: index_[from][to] points into
  // links_ (std::map nodes are address-stable). links_ keeps the ordered
  // iteration that heal() and the counters rely on.
  std::vector<std::vector<Link*>> index_;
  std::map<uint64_t, LinkConfig> configs_;         // per-link overrides (rare)
  std::map<uint64_t, std::vector<uint64_t>> held_;  // packet ids held by clogs
  std::array<uint64_t, static_cast<size_t>(NetCounter::count_)> counts_{};
  mutable std::map<std::string, uint64_t> counter_view_;
  ReleaseHandler release_;
  std::function<void(std::string_view)> observe_;
  void note(std::string_view what, size_t from, size_t to);
};

std::string_view net_counter_name(NetCounter c);

}  // namespace meshd::sim
