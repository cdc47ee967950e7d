// SwimMember: sending (piggybacked broadcasts), the broadcast queue,
// gossip rounds, joining and push-pull anti-entropy.
#include "core/membership/swim.h"

#include <algorithm>
#include <numeric>

#include "core/env/assert.h"

namespace meshd::membership {

void SwimMember::send(const Address& to, SwimMessage m, SwimOutput& out,
                      std::span<const MemberUpdate> first, bool piggyback) {
  m.sender = self_.id;
  std::vector<size_t> order(piggyback ? broadcasts_.size() : 0);
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const Broadcast& x = broadcasts_[a];
    const Broadcast& y = broadcasts_[b];
    return x.transmits != y.transmits ? x.transmits < y.transmits : x.order > y.order;
  });
  if (order.size() > kUpdatesPerMessageMax) order.resize(kUpdatesPerMessageMax);
  std::vector<MemberUpdate> updates;
  updates.reserve(order.size() + first.size());
  updates.insert(updates.end(), first.begin(), first.end());
  // carried[k]: the queue entry updates[k] transmits, if any. A queued fact
  // that is also in `first` goes once, and counts as sent if `first` did.
  std::vector<std::optional<size_t>> carried(first.size());
  for (size_t i : order) {
    const MemberUpdate& q = broadcasts_[i].update;
    auto same = std::find_if(first.begin(), first.end(), [&](const MemberUpdate& f) {
      return f.id == q.id && f.status == q.status && f.incarnation == q.incarnation && f.origin == q.origin;
    });
    if (same != first.end()) {
      carried[static_cast<size_t>(same - first.begin())] = i;
      continue;
    }
    updates.push_back(q);
    carried.push_back(i);
  }
  MESHD_ASSERT(carried.size() == updates.size());
  size_t written = 0;
  std::vector<uint8_t> bytes = encode(m, updates, &written, config_.datagram_bytes_max);
  MESHD_ASSERT(written <= updates.size() && bytes.size() <= config_.datagram_bytes_max);
  if (m.type == SwimType::gossip && written == 0) return;
  // At least one transmit: a leaving member whose peers are all gone or
  // failed counts no active member (itself included) yet still sends.
  const uint32_t limit = retransmit_limit(config_.retransmit_mult, std::max<size_t>(active_count(), 1));
  for (size_t k = 0; k < written; ++k) {
    if (carried[k]) ++broadcasts_[*carried[k]].transmits;
  }
  std::erase_if(broadcasts_, [&](const Broadcast& b) { return b.transmits >= limit; });
  MESHD_ASSERT(limit >= 1 && broadcasts_.size() <= kBroadcastQueueMax);
  out.send.push_back(Datagram{to, std::move(bytes)});
}

void SwimMember::send_full_state(const Address& to, uint8_t flags, SwimOutput& out) {
  std::vector<MemberUpdate> state;
  state.reserve(table_.size());
  for (const auto& [id, m] : table_.members()) {
    if (auto u = table_.update_of(id)) state.push_back(std::move(*u));
  }
  size_t offset = 0;
  bool first = true;
  do {
    SwimMessage m;
    m.type = SwimType::push_pull;
    m.sender = self_.id;
    m.flags = first ? flags : 0;  // one answer per exchange, not per chunk
    size_t written = 0;
    std::vector<uint8_t> bytes =
        encode(m, std::span(state).subspan(offset), &written, config_.datagram_bytes_max);
    MESHD_ASSERT(written > 0 || offset == state.size());
    offset += written;
    out.send.push_back(Datagram{to, std::move(bytes)});
    first = false;
  } while (offset < state.size());
  ++counters_.push_pulls_sent;
}

void SwimMember::enqueue(const MemberUpdate& u) {
  for (Broadcast& b : broadcasts_) {
    if (b.update.id == u.id) {  // the newer fact about a node replaces the older
      b.update = u;
      b.transmits = 0;
      b.order = next_order_++;
      return;
    }
  }
  if (broadcasts_.size() >= kBroadcastQueueMax) {
    auto victim = std::max_element(broadcasts_.begin(), broadcasts_.end(),
                                   [](const Broadcast& a, const Broadcast& b) {
                                     return a.transmits != b.transmits ? a.transmits < b.transmits
                                                                       : a.order > b.order;
                                   });
    broadcasts_.erase(victim);
    ++counters_.broadcast_overflow;
  }
  broadcasts_.push_back(Broadcast{u, 0, next_order_++});
  MESHD_ASSERT(broadcasts_.size() <= kBroadcastQueueMax);
}

void SwimMember::tick_join(int64_t now_us, SwimOutput& out) {
  if (joined_ || leaving_ || now_us < next_join_us_) return;
  next_join_us_ = now_us + config_.join_retry_us;
  MESHD_ASSERT(next_join_us_ > now_us);
  for (const Address& seed : seeds_) {
    if (seed != self_.address) send_full_state(seed, kPushPullRequest | kPushPullJoin, out);
  }
}

void SwimMember::tick_push_pull(int64_t now_us, SwimOutput& out) {
  if (leaving_ || now_us < next_push_pull_us_) return;
  next_push_pull_us_ =
      now_us + config_.push_pull_interval_us * static_cast<int64_t>(push_pull_scale(active_count()));
  auto live = random_members(1, nullptr, false);
  if (!live.empty()) send_full_state(live[0]->address, kPushPullRequest, out);
  auto failed = random_members(1, nullptr, true);
  if (!failed.empty()) send_full_state(failed[0]->address, kPushPullRequest, out);
}

void SwimMember::gossip_to_random_members(SwimOutput& out) {
  // Addresses first: the Member pointers need not survive send().
  std::vector<Address> targets;
  for (const Member* m : random_members(config_.gossip_fanout, nullptr, false)) {
    targets.push_back(m->address);
  }
  for (const Address& a : targets) {
    SwimMessage g;
    g.type = SwimType::gossip;
    send(a, g, out);
  }
}

void SwimMember::tick_gossip(int64_t now_us, SwimOutput& out) {
  if (now_us < next_gossip_us_) return;
  next_gossip_us_ = now_us + config_.gossip_interval_us;
  if (broadcasts_.empty()) return;
  // Fault point: this round sends nothing; the queue still rides on every
  // probe and ack, and the next round comes one interval later.
  if (fault(BuggifyPoint::swim_gossip_skipped)) return;
  gossip_to_random_members(out);
}

std::vector<const Member*> SwimMember::random_members(size_t count, const NodeId* exclude,
                                                      bool failed_instead) {
  std::vector<const Member*> candidates;
  for (const auto& [id, m] : table_.members()) {
    if (id == self_.id || (exclude && id == *exclude)) continue;
    const bool wanted = failed_instead ? (m.has_identity && m.status == MemberStatus::failed)
                                       : m.active();
    if (wanted) candidates.push_back(&m);
  }
  // Partial Fisher-Yates: the first `count` are a uniform sample.
  const size_t n = std::min(count, candidates.size());
  for (size_t i = 0; i < n; ++i) {
    const size_t j = i + static_cast<size_t>(rng_.below(candidates.size() - i));
    std::swap(candidates[i], candidates[j]);
  }
  candidates.resize(n);
  MESHD_ASSERT(candidates.size() <= count);
  return candidates;
}

}  // namespace meshd::membership
