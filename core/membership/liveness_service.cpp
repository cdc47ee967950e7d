#include "core/membership/liveness_service.h"

#include <fmt/format.h>

#include <algorithm>

namespace meshd::membership {

LivenessService::LivenessService(Env& env, const LivenessConfig& config,
                                 std::vector<PeerSpec> peers, uint64_t incarnation)
    : env_(env),
      tracker_(config, std::move(peers), incarnation, env.random.stream("liveness", "ping_jitter"),
               env.clock.monotonic_us()),
      wake_(env.runtime),
      sent_(env.metrics.counter("meshd_liveness_sent_total", "liveness datagrams sent")),
      send_failed_(env.metrics.counter("meshd_liveness_send_failed_total",
                                       "liveness datagrams the network refused")),
      received_(env.metrics.counter("meshd_liveness_received_total",
                                    "liveness datagrams accepted")),
      changes_up_(env.metrics.counter("meshd_liveness_verdicts_total{to=\"up\"}",
                                      "peer verdict changes")),
      changes_down_(env.metrics.counter("meshd_liveness_verdicts_total{to=\"down\"}")),
      restarts_(env.metrics.counter("meshd_liveness_peer_restarts_total",
                                    "peer incarnation increases seen")) {
  for (size_t r = 1; r < kLivenessDropReasons; ++r) {
    dropped_[r] = &env.metrics.counter(
        fmt::format("meshd_liveness_dropped_total{{reason=\"{}\"}}",
                    liveness_drop_name(static_cast<LivenessDrop>(r))),
        "liveness datagrams dropped, by reason");
  }
}

LivenessService::~LivenessService() { stop(); }

Status LivenessService::start() {
  MESHD_ASSERT(!fiber_);
  auto id = env_.runtime.spawn("liveness", [this] { run(); });
  if (!id) return id.status();
  fiber_ = *id;
  return Status::ok();
}

void LivenessService::stop() {
  stopping_ = true;
  if (fiber_ && env_.runtime.alive(*fiber_)) env_.runtime.cancel(*fiber_);
  wake_.set();
}

void LivenessService::run() {
  while (!stopping_) {
    int64_t wake_us = std::max(env_.clock.monotonic_us(), tracker_.next_tick_us());
    if (buggify(env_, BuggifyPoint::liveness_late_tick)) {
      // A late wake (scheduler hiccup): at most a quarter ping interval.
      wake_us += static_cast<int64_t>(
          env_.buggify->below(static_cast<uint64_t>(tracker_.config().ping_interval_ms * 1000 / 4) + 1));
    }
    Status s = wake_.wait(wake_us);
    if (s.code() == Errc::cancelled || stopping_) return;
    LivenessOutput out;
    const int64_t now_us = env_.clock.monotonic_us();
    tracker_.on_tick(now_us, out);
    flush(out);
    // Never spin: a tick moves next_tick past the `now` it was given (not
    // past the clock, which real time moves on while the tick runs).
    MESHD_ASSERT_MSG(now_us < tracker_.next_tick_us(), "liveness tick did not advance");
  }
}

void LivenessService::on_datagram(const Address& from, std::span<const uint8_t> bytes) {
  LivenessOutput out;
  LivenessDrop drop = tracker_.on_datagram(from, bytes, env_.clock.monotonic_us(), out);
  if (drop != LivenessDrop::none) {
    ++*dropped_[static_cast<size_t>(drop)];
    return;
  }
  ++received_;
  flush(out);
}

void LivenessService::flush(LivenessOutput& out) {
  for (const Outgoing& o : out.send) {
    if (env_.network.send(o.to, o.bytes)) {
      ++sent_;
    } else {
      ++send_failed_;
    }
  }
  for (const VerdictChange& c : out.changes) {
    const PeerView& p = tracker_.peers()[c.peer];
    (c.to == PeerState::up ? changes_up_ : changes_down_)++;
    env_.log.info(c.to == PeerState::up ? "peer_up" : "peer_down",
                  {{"peer", p.spec.name}, {"address", p.spec.address.to_string()},
                   {"from", peer_state_name(c.from)}, {"rtt_us", p.srtt_us}});
    if (observer_) observer_(p, c);
  }
  for (size_t i : out.restarted) {
    ++restarts_;
    const PeerView& p = tracker_.peers()[i];
    env_.log.info("peer_restarted", {{"peer", p.spec.name}, {"incarnation", p.incarnation}});
  }
}

nlohmann::json LivenessService::status() const {
  nlohmann::json peers = nlohmann::json::array();
  for (const PeerView& p : tracker_.peers()) {
    peers.push_back({{"name", p.spec.name},
                     {"address", p.spec.address.to_string()},
                     {"state", peer_state_name(p.state)},
                     {"state_since_us", p.state_since_us},
                     {"rtt_us", p.srtt_us},
                     {"rttvar_us", p.rttvar_us},
                     {"incarnation", p.incarnation},
                     {"pings_sent", p.pings_sent},
                     {"acks_received", p.acks_received},
                     {"transitions", p.transitions}});
  }
  return peers;
}

}  // namespace meshd::membership
