#include "sim/scenario/membership_bounds.h"

#include "core/env/assert.h"
#include "core/membership/suspicion.h"

namespace meshd::sim {

MembershipInvariants derive_membership_bounds(const membership::SwimConfig& w, size_t nodes,
                                              int64_t handshake_retry_us) {
  MESHD_ASSERT(nodes >= 1 && handshake_retry_us >= 0);
  const int64_t n = static_cast<int64_t>(nodes);
  const int64_t period = w.protocol_period_us, gossip = w.gossip_interval_us;
  const int64_t push_pull = w.push_pull_interval_us * static_cast<int64_t>(membership::push_pull_scale(nodes));
  const int64_t suspicion_max =
      membership::suspicion_bounds(w.suspicion_mult, w.suspicion_max_timeout_mult, period, nodes).max_us;
  MembershipInvariants b;
  b.detect_failed_within_us = 2 * (n > 1 ? n - 1 : 1) * period + period + suspicion_max + push_pull + 2 * gossip;
  b.leave_within_us = 2 * push_pull + 2 * gossip;
  b.converge_within_us = suspicion_max + 2 * push_pull + 10 * gossip + handshake_retry_us;
  b.rejoin_within_us = 2 * w.join_retry_us + push_pull + 10 * gossip + handshake_retry_us;
  MESHD_ASSERT(b.detect_failed_within_us > suspicion_max && b.converge_within_us > 2 * push_pull);
  return b;
}

void fill_membership_bounds(const MembershipInvariants& d, MembershipInvariants& into) {
  auto fill = [](int64_t& bound, int64_t derived) {
    if (bound == 0) bound = derived;
  };
  fill(into.detect_failed_within_us, d.detect_failed_within_us);
  fill(into.leave_within_us, d.leave_within_us);
  fill(into.converge_within_us, d.converge_within_us);
  fill(into.rejoin_within_us, d.rejoin_within_us);
}

}  // namespace meshd::sim
