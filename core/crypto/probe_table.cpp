#include "core/crypto/probe_table.h"

#include <climits>

#include "core/env/assert.h"

namespace meshd::crypto {

ProbeTable::ProbeTable(size_t max_probes) : max_probes_(max_probes) { MESHD_ASSERT(max_probes > 0); }

Probe* ProbeTable::find(const Address& address) {
  auto it = probes_.find(address);
  return it == probes_.end() ? nullptr : &it->second;
}

const Probe* ProbeTable::find(const Address& address) const {
  auto it = probes_.find(address);
  return it == probes_.end() ? nullptr : &it->second;
}

std::optional<Address> ProbeTable::address_of(uint32_t local_index) const {
  auto it = by_index_.find(local_index);
  if (it == by_index_.end()) return std::nullopt;
  MESHD_ASSERT(probes_.count(it->second) == 1);
  return it->second;
}

std::vector<Address> ProbeTable::addresses() const {
  std::vector<Address> out;
  out.reserve(probes_.size());
  for (const auto& [address, probe] : probes_) out.push_back(address);
  return out;
}

void ProbeTable::insert(const Address& address, PendingInitiation pending, CookieJar jar) {
  MESHD_ASSERT(!full());
  MESHD_ASSERT(by_index_.count(pending.local_index) == 0);
  const uint32_t index = pending.local_index;
  const bool added = probes_.emplace(address, Probe{std::move(pending), std::move(jar)}).second;
  MESHD_ASSERT(added);
  by_index_.emplace(index, address);
  check(address);
}

void ProbeTable::replace(const Address& address, PendingInitiation pending) {
  auto it = probes_.find(address);
  MESHD_ASSERT(it != probes_.end());
  MESHD_ASSERT(pending.local_index == it->second.pending.local_index || by_index_.count(pending.local_index) == 0);
  by_index_.erase(it->second.pending.local_index);
  by_index_[pending.local_index] = address;
  it->second.pending = std::move(pending);
  check(address);
}

Probe ProbeTable::take(const Address& address) {
  auto it = probes_.find(address);
  MESHD_ASSERT(it != probes_.end());
  Probe probe = std::move(it->second);
  by_index_.erase(probe.pending.local_index);
  probes_.erase(it);
  MESHD_ASSERT(probes_.size() == by_index_.size());
  return probe;
}

bool ProbeTable::erase(const Address& address) {
  auto it = probes_.find(address);
  if (it == probes_.end()) return false;
  by_index_.erase(it->second.pending.local_index);
  probes_.erase(it);
  MESHD_ASSERT(probes_.size() == by_index_.size());
  return true;
}

int64_t ProbeTable::next_deadline_us(int64_t handshake_timeout_us) const {
  int64_t next = INT64_MAX;
  for (const auto& [address, probe] : probes_) next = std::min(next, probe.pending.deadline_us(handshake_timeout_us));
  return next;
}

void ProbeTable::check(const Address& address) const {
  auto it = probes_.find(address);
  MESHD_ASSERT(it != probes_.end());
  auto back = by_index_.find(it->second.pending.local_index);
  MESHD_ASSERT(back != by_index_.end() && back->second == address);
  MESHD_ASSERT(probes_.size() == by_index_.size());
  MESHD_ASSERT(probes_.size() <= max_probes_);
}

}  // namespace meshd::crypto
