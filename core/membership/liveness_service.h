// LivenessService: runs a LivenessTracker on a node's Env.
//
// One fiber ("liveness") sleeps until the tracker's next tick, ticks it and
// sends what it produced; datagrams are fed in by the node's dispatcher
// (on_datagram, loop context). Verdict changes are logged (peer_up /
// peer_down, info) and counted; drops are counted by reason in
// meshd_liveness_dropped_total{reason=...}. Nothing is logged per packet.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <optional>

#include "core/env/env.h"
#include "core/membership/liveness.h"

namespace meshd::membership {

class LivenessService {
 public:
  using ChangeObserver = std::function<void(const PeerView&, const VerdictChange&)>;

  LivenessService(Env& env, const LivenessConfig& config, std::vector<PeerSpec> peers,
                  uint64_t incarnation);
  ~LivenessService();

  Status start();
  void stop();
  void on_datagram(const Address& from, std::span<const uint8_t> bytes);
  void set_observer(ChangeObserver observer) { observer_ = std::move(observer); }

  const LivenessTracker& tracker() const { return tracker_; }
  nlohmann::json status() const;

 private:
  void run();
  void flush(LivenessOutput& out);

  Env& env_;
  LivenessTracker tracker_;
  ChangeObserver observer_;
  Event wake_;  // set by stop() so the fiber notices promptly
  std::optional<Runtime::FiberId> fiber_;
  bool stopping_ = false;
  uint64_t& sent_;
  uint64_t& send_failed_;
  uint64_t& received_;
  uint64_t& changes_up_;
  uint64_t& changes_down_;
  uint64_t& restarts_;
  std::array<uint64_t*, kLivenessDropReasons> dropped_{};
};

}  // namespace meshd::membership
