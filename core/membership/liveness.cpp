#include "core/membership/liveness.h"

#include <algorithm>

#include "core/env/assert.h"
#include "core/env/clock.h"
#include "core/membership/rtt.h"

namespace meshd::membership {

namespace {
Datagram datagram(const Address& to, const LivenessMessage& m) {
  const auto bytes = encode(m);
  return Datagram{to, std::vector<uint8_t>(bytes.begin(), bytes.end())};
}
}  // namespace

std::string_view peer_state_name(PeerState state) {
  switch (state) {
    case PeerState::unknown: return "unknown";
    case PeerState::up: return "up";
    case PeerState::down: return "down";
  }
  return "invalid";
}

LivenessTracker::LivenessTracker(const LivenessConfig& config, std::vector<PeerSpec> peers,
                                 uint64_t incarnation, RandomStream jitter, int64_t now_us)
    : config_(config), incarnation_(incarnation), jitter_(std::move(jitter)), started_us_(now_us),
      next_ping_us_(now_us) {
  MESHD_ASSERT(config_.ping_interval_ms > 0 && config_.down_after_ms > 0);
  MESHD_ASSERT(config_.ping_jitter_percent >= 0 && config_.ping_jitter_percent < 100);
  MESHD_ASSERT(peers.size() <= kLivenessPeersMax);
  peers_.reserve(peers.size());
  for (auto& spec : peers) {
    PeerView v;
    v.spec = std::move(spec);
    v.state_since_us = now_us;
    peer_index_.emplace_back(v.spec.address, peers_.size());
    peers_.push_back(std::move(v));
  }
  // Stable: among equal addresses the first configured peer comes first.
  std::stable_sort(peer_index_.begin(), peer_index_.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  MESHD_ASSERT(peer_index_.size() == peers_.size());
}

int64_t LivenessTracker::find_peer(const Address& address) const {
  auto it = std::lower_bound(peer_index_.begin(), peer_index_.end(), address,
                             [](const auto& entry, const Address& a) { return entry.first < a; });
  if (it == peer_index_.end() || it->first != address) return -1;
  return static_cast<int64_t>(it->second);
}

void LivenessTracker::set_state(size_t i, PeerState to, int64_t now_us, LivenessOutput& out) {
  PeerView& p = peers_[i];
  if (p.state == to) return;
  MESHD_ASSERT(i < peers_.size());
  out.changes.push_back(VerdictChange{i, p.state, to, now_us});
  p.state = to;
  p.state_since_us = now_us;
  ++p.transitions;
}

void LivenessTracker::schedule_next_ping(int64_t now_us) {
  const int64_t interval_us = config_.ping_interval_ms * kMicrosPerMilli;
  const int64_t spread_us = interval_us * config_.ping_jitter_percent / 100;
  next_ping_us_ = now_us + interval_us + (spread_us > 0 ? jitter_.range(-spread_us, spread_us) : 0);
  MESHD_ASSERT(next_ping_us_ > now_us);  // jitter < 100 %
}

int64_t LivenessTracker::next_deadline_us() const {
  int64_t t = next_ping_us_;
  const int64_t down_us = config_.down_after_ms * kMicrosPerMilli;
  for (const PeerView& p : peers_) {
    if (p.state == PeerState::down) continue;
    const int64_t heard = p.last_ack_us >= 0 ? p.last_ack_us : started_us_;
    t = std::min(t, heard + down_us);
  }
  return t;
}

void LivenessTracker::on_tick(int64_t now_us, LivenessOutput& out) {
  const int64_t down_us = config_.down_after_ms * kMicrosPerMilli;
  for (size_t i = 0; i < peers_.size(); ++i) {
    PeerView& p = peers_[i];
    const int64_t heard = p.last_ack_us >= 0 ? p.last_ack_us : started_us_;
    if (p.state != PeerState::down && now_us >= heard + down_us) {
      set_state(i, PeerState::down, now_us, out);
    }
  }
  if (now_us < next_ping_us_) {
    MESHD_ASSERT_MSG(next_deadline_us() > now_us, "liveness tick did not advance");
    return;
  }
  for (PeerView& p : peers_) {
    const uint64_t seq = next_seq_++;
    const size_t slot = seq % kOutstandingPingsMax;
    p.outstanding_seq[slot] = seq;
    p.outstanding_sent_us[slot] = now_us;
    ++p.pings_sent;
    out.send.push_back(datagram(p.spec.address, {LivenessType::ping, incarnation_, seq}));
  }
  schedule_next_ping(now_us);
  MESHD_ASSERT_MSG(next_deadline_us() > now_us, "liveness tick did not advance");
}

LivenessDrop LivenessTracker::on_datagram(int64_t now_us, const Address& from,
                                          std::span<const uint8_t> bytes, LivenessOutput& out) {
  LivenessDrop reason = LivenessDrop::none;
  auto msg = decode(bytes, &reason);
  if (!msg) return reason;
  const int64_t idx = find_peer(from);
  if (msg->type == LivenessType::ping) {
    // Always answer: the asker decides what our silence means.
    out.send.push_back(datagram(from, {LivenessType::ack, incarnation_, msg->seq}));
    if (idx >= 0 && msg->incarnation > peers_[idx].incarnation) {
      if (peers_[idx].incarnation != 0) {
        ++peers_[idx].restarts_seen;
        out.restarted.push_back(static_cast<size_t>(idx));
      }
      peers_[idx].incarnation = msg->incarnation;
    }
    return LivenessDrop::none;
  }
  if (idx < 0) return LivenessDrop::unknown_peer;
  PeerView& p = peers_[static_cast<size_t>(idx)];
  const size_t slot = msg->seq % kOutstandingPingsMax;
  if (msg->seq == 0 || p.outstanding_seq[slot] != msg->seq) return LivenessDrop::unexpected_ack;
  MESHD_ASSERT(slot < kOutstandingPingsMax);
  p.outstanding_seq[slot] = 0;  // one ACK per PING: duplicates are unexpected
  const int64_t rtt_us = std::max<int64_t>(0, now_us - p.outstanding_sent_us[slot]);
  fold_rtt_sample(p.srtt_us, p.rttvar_us, rtt_us);
  ++p.acks_received;
  p.last_ack_us = now_us;
  if (msg->incarnation > p.incarnation) {
    if (p.incarnation != 0) {
      ++p.restarts_seen;
      out.restarted.push_back(static_cast<size_t>(idx));
    }
    p.incarnation = msg->incarnation;
  }
  set_state(static_cast<size_t>(idx), PeerState::up, now_us, out);
  return LivenessDrop::none;
}

}  // namespace meshd::membership
