#include "core/membership/liveness_service.h"

#include "core/env/clock.h"

namespace meshd::membership {

LivenessService::LivenessService(Env& env, const LivenessConfig& config,
                                 std::vector<PeerSpec> peers, uint64_t incarnation)
    : env_(env),
      tracker_(config, std::move(peers), incarnation, env.random.stream("liveness", "ping_jitter"),
               env.clock.monotonic_us()),
      changes_up_(env.metrics.counter(metric::kLivenessUp)),
      changes_down_(env.metrics.counter(metric::kLivenessDown)),
      restarts_(env.metrics.counter(metric::kLivenessRestarts)),
      driver_(env, tracker_,
              ProtocolDriverOptions{.fiber_name = "liveness",
                                    .metric_prefix = "meshd_liveness",
                                    .noun = "liveness",
                                    .late_wake = BuggifyPoint::liveness_late_tick,
                                    // A late wake (scheduler hiccup): at most a quarter ping interval.
                                    .late_wake_max_us = config.ping_interval_ms * kMicrosPerMilli / 4},
              [this](LivenessOutput& out) { flush(out); }) {}

void LivenessService::flush(LivenessOutput& out) {
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
