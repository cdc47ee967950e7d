// Buggify: named in-code fault points that widen rare paths — a lost
// handshake initiation, an early rekey, a skipped keepalive, a late timer —
// after FoundationDB's BUGGIFY. They fire only under the simulator and only
// for seeds that enable them; production code holds no Buggify at all
// (Env::buggify == nullptr), so buggify() is one pointer test there.
//
// Contract:
//  * Points are a closed enum, so a sweep can list every point that exists
//    and show which never fired (untested paths are visible).
//  * A point may only push behaviour to somewhere the protocol must already
//    cope with (a retry, a timeout, a rekey), never break a promise: a
//    buggified run that fails an invariant is a real bug.
//  * Simulator: per run, each point is enabled with probability
//    enable_percent (one draw per point, in enum order, from the run's own
//    stream), and an enabled point fires with probability fire_percent at
//    each evaluation, drawn from the node's own stream. So enabling a point
//    never perturbs any other stream of the seed.
// Not thread-safe (one per simulated node process).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "core/env/random.h"

namespace meshd {

enum class BuggifyPoint : uint8_t {
  transport_initiation_lost,  // our handshake initiation is not sent: retry/backoff path
  transport_early_rekey,      // a peer's session is rekeyed now: rekey with traffic in flight
  transport_keepalive_skipped,  // a passive keepalive is not sent: silence re-handshake path
  liveness_late_tick,         // the liveness fiber wakes late (<= 1/4 ping interval)
  // SWIM (core/membership/swim.h): appended, so existing points keep their draws.
  swim_push_pull_early,       // anti-entropy brought forward to this protocol period
  swim_relay_refused,         // a ping_req refused as if the relay table were full
  swim_gossip_skipped,        // a gossip round sends nothing (piggybacking carries the news)
};
constexpr size_t kBuggifyPoints = static_cast<size_t>(BuggifyPoint::swim_gossip_skipped) + 1;
std::string_view buggify_point_name(BuggifyPoint point);

// Which points a run enables (shared by every node of the run).
struct BuggifyPlan {
  std::array<bool, kBuggifyPoints> enabled{};
  uint32_t fire_percent = 0;  // 0..100
  // One draw per point from `stream`, in enum order.
  static BuggifyPlan draw(RandomStream& stream, uint32_t enable_percent, uint32_t fire_percent);
  bool any() const;
};

class Buggify {
 public:
  Buggify(const BuggifyPlan& plan, RandomStream stream) : plan_(plan), rng_(stream) {}

  // True if `point` fires now. Counts every evaluation and every firing.
  bool fire(BuggifyPoint point);
  // A value in [0, bound) from the node's buggify stream (the size of a
  // perturbation once a point fired); bound > 0.
  uint64_t below(uint64_t bound) { return rng_.below(bound); }

  bool enabled(BuggifyPoint point) const { return plan_.enabled[index(point)]; }
  uint64_t evaluated(BuggifyPoint point) const { return evaluated_[index(point)]; }
  uint64_t fired(BuggifyPoint point) const { return fired_[index(point)]; }

 private:
  static size_t index(BuggifyPoint p) { return static_cast<size_t>(p); }
  BuggifyPlan plan_;
  RandomStream rng_;
  std::array<uint64_t, kBuggifyPoints> evaluated_{};
  std::array<uint64_t, kBuggifyPoints> fired_{};
};

}  // namespace meshd
