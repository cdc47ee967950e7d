#include "core/env/buggify.h"

#include "core/env/assert.h"

namespace meshd {

std::string_view buggify_point_name(BuggifyPoint point) {
  switch (point) {
    case BuggifyPoint::transport_initiation_lost: return "transport_initiation_lost";
    case BuggifyPoint::transport_early_rekey: return "transport_early_rekey";
    case BuggifyPoint::transport_keepalive_skipped: return "transport_keepalive_skipped";
    case BuggifyPoint::liveness_late_tick: return "liveness_late_tick";
    case BuggifyPoint::swim_push_pull_early: return "swim_push_pull_early";
    case BuggifyPoint::swim_relay_refused: return "swim_relay_refused";
    case BuggifyPoint::swim_gossip_skipped: return "swim_gossip_skipped";
  }
  return "unknown";
}

BuggifyPlan BuggifyPlan::draw(RandomStream& stream, uint32_t enable_percent, uint32_t fire_percent) {
  MESHD_ASSERT(enable_percent <= 100 && fire_percent <= 100);
  BuggifyPlan plan;
  plan.fire_percent = fire_percent;
  for (bool& e : plan.enabled) e = stream.below(100) < enable_percent;
  MESHD_ASSERT(enable_percent != 0 || !plan.any());
  return plan;
}

bool BuggifyPlan::any() const {
  for (bool e : enabled) {
    if (e) return true;
  }
  return false;
}

bool Buggify::fire(BuggifyPoint point) {
  const size_t i = index(point);
  MESHD_ASSERT(i < kBuggifyPoints);
  ++evaluated_[i];
  if (!plan_.enabled[i] || rng_.below(100) >= plan_.fire_percent) return false;
  ++fired_[i];
  MESHD_ASSERT(fired_[i] <= evaluated_[i]);
  return true;
}

}  // namespace meshd
