// Membership bounds derived from the SWIM timing (docs/simulation.md,
// "Membership bounds"): what the MembershipOracle may promise for a
// scenario that sets SWIM's knobs but not every bound.
//
// With P = protocol_period, G = gossip_interval, S = push_pull_interval ×
// push_pull_scale(n), J = join_retry, H = one handshake retry of the
// transport (retry_max; 0 in plaintext), and max = the unconfirmed
// suspicion timeout for n members (suspicion.h):
//   detect_failed = 2(n−1)·P   some member's shuffled round-robin reaches
//                              the dead node (two passes at worst)
//                 + P          that probe fails at the end of its period
//                 + max        its suspicion, unconfirmed, times out
//                 + S + 2G     a member that missed the `failed` gossip
//                              learns it from its next push-pull
//   leave         = 2S + 2G    pushed at once; a member that missed every
//                              copy learns it from a push-pull
//   converge      = max + 2S + 10G + H   members still suspecting the
//                              other side time out, one reconnect
//                              push-pull carries "you were failed", a
//                              second carries the refutation; gossip and
//                              a new handshake across the healed cut
//   rejoin        = 2J + S + 10G + H     the restarted node push-pulls its
//                              seeds at once (a lost one is retried after
//                              J) over new sessions
// Lifeguard health is taken as 0: true on lossless links, where every
// missed ack comes with the helpers' nacks. Lossy scenarios state their
// bounds explicitly. Pure integer arithmetic: same bounds on every build.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/membership/swim.h"
#include "sim/scenario/scenario.h"

namespace meshd::sim {

MembershipInvariants derive_membership_bounds(const membership::SwimConfig& swim, size_t nodes,
                                              int64_t handshake_retry_us);

// Sets every time bound of `into` that is 0 (unset) from `derived`;
// flaps_max and no_false_failed are never derived.
void fill_membership_bounds(const MembershipInvariants& derived, MembershipInvariants& into);

}  // namespace meshd::sim
