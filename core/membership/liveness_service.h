// LivenessService: runs a LivenessTracker on a node's Env.
//
// The tracker runs under the one ProtocolDriver (core/env/protocol_driver.h):
// a fiber ("liveness") sleeps until the tracker's next deadline, ticks it
// and sends what it produced; datagrams are fed in by the node's dispatcher
// (on_datagram, loop context). Verdict changes are logged (peer_up /
// peer_down, info) and counted; datagrams are counted by the driver
// (meshd_liveness_{sent,send_failed,received}_total, and
// meshd_liveness_dropped_total{reason=...}). Nothing is logged per packet.
// Fault point: liveness_late_tick (the fiber wakes up to 1/4 ping interval
// late).
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <optional>

#include "core/env/env.h"
#include "core/env/protocol_driver.h"
#include "core/membership/liveness.h"

namespace meshd::membership {

namespace metric {
inline constexpr CounterKey kLivenessReceived{"meshd_liveness_received_total", "liveness datagrams accepted"};
inline constexpr CounterKey kLivenessSent{"meshd_liveness_sent_total", "liveness datagrams sent"};
inline constexpr CounterKey kLivenessUp{"meshd_liveness_verdicts_total{to=\"up\"}", "peer verdict changes"};
inline constexpr CounterKey kLivenessDown{"meshd_liveness_verdicts_total{to=\"down\"}", "peer verdict changes"};
inline constexpr CounterKey kLivenessRestarts{"meshd_liveness_peer_restarts_total", "peer incarnation increases seen"};
inline constexpr CounterFamily<LivenessDrop> kLivenessDropped{"meshd_liveness_dropped_total", "reason", liveness_drop_name,
                                                              "liveness datagrams dropped, by reason"};
}  // namespace metric

class LivenessService {
 public:
  using ChangeObserver = std::function<void(const PeerView&, const VerdictChange&)>;

  LivenessService(Env& env, const LivenessConfig& config, std::vector<PeerSpec> peers,
                  uint64_t incarnation);

  Status start() { return driver_.start(); }
  void stop() { driver_.stop(); }
  void on_datagram(const Address& from, std::span<const uint8_t> bytes) { driver_.on_datagram(from, bytes); }
  void set_observer(ChangeObserver observer) { observer_ = std::move(observer); }

  const LivenessTracker& tracker() const { return tracker_; }
  nlohmann::json status() const;

 private:
  void flush(LivenessOutput& out);

  Env& env_;
  LivenessTracker tracker_;
  ChangeObserver observer_;
  uint64_t& changes_up_;
  uint64_t& changes_down_;
  uint64_t& restarts_;
  ProtocolDriver<LivenessTracker> driver_;  // last: its fiber uses the members above
};

}  // namespace meshd::membership
