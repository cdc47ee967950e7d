#include "sim/network_model.h"

#include <fmt/format.h>

#include "core/env/assert.h"

namespace meshd::sim {

std::string_view net_counter_name(NetCounter c) {
  switch (c) {
    case NetCounter::sent: return "sent";
    case NetCounter::delivered: return "delivered";
    case NetCounter::dropped_loss: return "dropped_loss";
    case NetCounter::dropped_partition: return "dropped_partition";
    case NetCounter::dropped_queue: return "dropped_queue";
    case NetCounter::dropped_mtu: return "dropped_mtu";
    case NetCounter::dropped_node_down: return "dropped_node_down";
    case NetCounter::dropped_unknown_address: return "dropped_unknown_address";
    case NetCounter::dropped_no_handler: return "dropped_no_handler";
    case NetCounter::duplicated: return "duplicated";
    case NetCounter::corrupted: return "corrupted";
    case NetCounter::reordered: return "reordered";
    case NetCounter::held_clog: return "held_clog";
    case NetCounter::count_: break;
  }
  return "unknown";
}

NetworkModel::NetworkModel(const Random& world_random) : random_(world_random) {}

void NetworkModel::note(std::string_view what, size_t from, size_t to) {
  if (observe_) observe_(fmt::format("net.{} {}->{}", what, from, to));
}

void NetworkModel::set_default_link(const LinkConfig& config) {
  MESHD_ASSERT(config.queue_packets_max <= UINT32_MAX);  // Link::in_flight is 32-bit
  default_ = config;
  if (observe_) {
    observe_(fmt::format("net.default_link lat={}+{} loss={} dup={} reorder={} corrupt={}",
                         config.latency_us_min, config.latency_us_mean, config.loss,
                         config.duplicate, config.reorder, config.corrupt));
  }
}

void NetworkModel::set_link(size_t from, size_t to, const LinkConfig& config) {
  MESHD_ASSERT(config.queue_packets_max <= UINT32_MAX);
  link(from, to).has_config = true;
  configs_[key(from, to)] = config;
  note("set_link", from, to);
}

const LinkConfig& NetworkModel::link_config(size_t from, size_t to) const {
  const Link* l = find(from, to);
  return l == nullptr ? default_ : config_of(key(from, to), *l);
}

const LinkConfig& NetworkModel::config_of(uint64_t link_key, const Link& l) const {
  if (!l.has_config) return default_;
  return configs_.at(link_key);
}

NetworkModel::Link& NetworkModel::link(size_t from, size_t to) {
  if (from < index_.size() && to < index_[from].size() && index_[from][to] != nullptr) {
    return *index_[from][to];
  }
  const uint64_t k = key(from, to);
  auto it = links_.find(k);
  if (it == links_.end()) {
    it = links_.emplace(k, Link(random_.stream("net", fmt::format("link:{}->{}", from, to)))).first;
  }
  if (from >= index_.size()) index_.resize(from + 1);
  if (to >= index_[from].size()) index_[from].resize(to + 1, nullptr);
  index_[from][to] = &it->second;
  return it->second;
}

const NetworkModel::Link* NetworkModel::find(size_t from, size_t to) const {
  if (from < index_.size() && to < index_[from].size()) return index_[from][to];
  return nullptr;  // every Link is indexed when created
}

void NetworkModel::block(size_t from, size_t to) {
  link(from, to).blocked = true;
  note("block", from, to);
}

void NetworkModel::unblock(size_t from, size_t to) {
  link(from, to).blocked = false;
  note("unblock", from, to);
}

void NetworkModel::partition(const std::vector<size_t>& side_a, const std::vector<size_t>& side_b) {
  for (size_t a : side_a) {
    for (size_t b : side_b) {
      if (a == b) continue;
      block(a, b);
      block(b, a);
    }
  }
}

void NetworkModel::heal_all() {
  if (observe_) observe_("net.heal_all");
  for (auto& [k, l] : links_) {
    l.blocked = false;
    if (l.clogged) {
      l.clogged = false;
      release(k);
    }
  }
}

void NetworkModel::clog(size_t from, size_t to) {
  link(from, to).clogged = true;
  note("clog", from, to);
}

void NetworkModel::unclog(size_t from, size_t to) {
  note("unclog", from, to);
  Link& l = link(from, to);
  if (!l.clogged) return;
  l.clogged = false;
  release(key(from, to));
}

void NetworkModel::release(uint64_t link_key) {
  auto it = held_.find(link_key);
  if (it == held_.end()) return;
  std::vector<uint64_t> ids = std::move(it->second);
  held_.erase(it);
  // Released datagrams re-enter on_arrival() through World, which
  // decrements in_flight then.
  MESHD_ASSERT_MSG(static_cast<bool>(release_), "clogged datagrams need a release handler");
  release_(ids);
}

bool NetworkModel::blocked(size_t from, size_t to) const {
  const Link* l = find(from, to);
  return l != nullptr && l->blocked;
}

bool NetworkModel::clogged(size_t from, size_t to) const {
  const Link* l = find(from, to);
  return l != nullptr && l->clogged;
}

size_t NetworkModel::in_flight(size_t from, size_t to) const {
  const Link* l = find(from, to);
  return l == nullptr ? 0 : l->in_flight;
}

const std::map<std::string, uint64_t>& NetworkModel::counters() const {
  for (size_t i = 0; i < counts_.size(); ++i) {
    counter_view_[std::string(net_counter_name(static_cast<NetCounter>(i)))] = counts_[i];
  }
  return counter_view_;
}

NetworkModel::Copy NetworkModel::draw_copy(Link& l, const LinkConfig& cfg, size_t size_bytes) {
  Copy c;
  c.delay_us = cfg.latency_us_min + l.rng.exponential(cfg.latency_us_mean);
  if (l.rng.chance(cfg.reorder)) {
    c.delay_us += cfg.reorder_delay_us;
    c.reordered = true;
    ++counts_[static_cast<size_t>(NetCounter::reordered)];
  }
  if (size_bytes > 0 && l.rng.chance(cfg.corrupt)) {
    c.flip_count = static_cast<uint8_t>(1 + l.rng.below(kFlipBitsMax));
    for (uint8_t i = 0; i < c.flip_count; ++i) c.flip_bits[i] = l.rng.below(size_bytes * 8);
    ++counts_[static_cast<size_t>(NetCounter::corrupted)];
  }
  return c;
}

NetworkModel::SendDecision NetworkModel::on_send(size_t from, size_t to, size_t size_bytes) {
  ++counts_[static_cast<size_t>(NetCounter::sent)];
  Link& l = link(from, to);
  const LinkConfig& cfg = config_of(key(from, to), l);
  SendDecision d;
  auto drop = [&](SendFate fate, NetCounter c) {
    ++counts_[static_cast<size_t>(c)];
    d.fate = fate;
    return d;
  };
  if (l.blocked) return drop(SendFate::dropped_partition, NetCounter::dropped_partition);
  if (size_bytes > cfg.mtu_bytes) return drop(SendFate::dropped_mtu, NetCounter::dropped_mtu);
  if (l.in_flight >= cfg.queue_packets_max) {
    return drop(SendFate::dropped_queue, NetCounter::dropped_queue);
  }
  if (l.rng.chance(cfg.loss)) return drop(SendFate::dropped_loss, NetCounter::dropped_loss);
  d.copies[0] = draw_copy(l, cfg, size_bytes);
  d.copy_count = 1;
  // The duplicate also needs queue room; a full queue just skips it.
  if (l.rng.chance(cfg.duplicate) && l.in_flight + 1 < cfg.queue_packets_max) {
    d.copies[1] = draw_copy(l, cfg, size_bytes);
    d.copy_count = 2;
    ++counts_[static_cast<size_t>(NetCounter::duplicated)];
  }
  l.in_flight += d.copy_count;
  return d;
}

NetworkModel::ArrivalFate NetworkModel::on_arrival(size_t from, size_t to, uint64_t packet_id) {
  Link& l = link(from, to);
  MESHD_ASSERT(l.in_flight > 0);
  if (l.clogged) {
    held_[key(from, to)].push_back(packet_id);
    ++counts_[static_cast<size_t>(NetCounter::held_clog)];
    return ArrivalFate::held;
  }
  --l.in_flight;
  if (l.blocked) {
    ++counts_[static_cast<size_t>(NetCounter::dropped_partition)];
    return ArrivalFate::dropped_partition;
  }
  return ArrivalFate::deliver;
}

}  // namespace meshd::sim
