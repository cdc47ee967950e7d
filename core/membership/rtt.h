// Round-trip smoothing shared by the protocols that measure it (SWIM's
// direct probes in MemberTable, the liveness probe's ping/ack): RFC 6298's
// SRTT/RTTVAR in integer microseconds (alpha 1/8, beta 1/4), so every
// build computes the same figures.
#pragma once

#include <algorithm>
#include <cstdint>

#include "core/env/assert.h"

namespace meshd::membership {

// Folds one sample into (srtt_us, rttvar_us); srtt_us == 0 means "no
// sample yet" (the first sample sets SRTT = R, RTTVAR = R / 2).
// Precondition: rtt_us >= 0. Postcondition: srtt_us >= 1, rttvar_us >= 0.
inline void fold_rtt_sample(int64_t& srtt_us, int64_t& rttvar_us, int64_t rtt_us) {
  MESHD_ASSERT(rtt_us >= 0 && srtt_us >= 0 && rttvar_us >= 0);
  if (srtt_us == 0) {
    srtt_us = std::max<int64_t>(1, rtt_us);
    rttvar_us = rtt_us / 2;
  } else {
    const int64_t err = srtt_us > rtt_us ? srtt_us - rtt_us : rtt_us - srtt_us;
    rttvar_us = (3 * rttvar_us + err) / 4;
    srtt_us = std::max<int64_t>(1, (7 * srtt_us + rtt_us) / 8);
  }
  MESHD_ASSERT(srtt_us >= 1 && rttvar_us >= 0);
}

}  // namespace meshd::membership
