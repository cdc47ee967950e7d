#include "core/wire/drop_reason.h"

#include <string>

namespace meshd::wire {

std::string_view drop_reason_name(DropReason reason) {
  switch (reason) {
    case DropReason::none: return "none";
    case DropReason::truncated: return "truncated";
    case DropReason::too_large: return "too_large";
    case DropReason::bad_magic: return "bad_magic";
    case DropReason::bad_version: return "bad_version";
    case DropReason::unknown_type: return "unknown_type";
    case DropReason::bad_flags: return "bad_flags";
    case DropReason::bad_reserved: return "bad_reserved";
    case DropReason::bad_hops: return "bad_hops";
    case DropReason::length_mismatch: return "length_mismatch";
    case DropReason::not_for_us: return "not_for_us";
    case DropReason::unknown_session: return "unknown_session";
    case DropReason::replay: return "replay";
    case DropReason::auth_failure: return "auth_failure";
    case DropReason::stale_handshake: return "stale_handshake";
    case DropReason::handshake_failed: return "handshake_failed";
    case DropReason::cookie_required: return "cookie_required";
    case DropReason::bad_cookie: return "bad_cookie";
    case DropReason::peer_table_full: return "peer_table_full";
    case DropReason::nonce_exhausted: return "nonce_exhausted";
    case DropReason::handshake_collision: return "handshake_collision";
    case DropReason::unexpected_handshake: return "unexpected_handshake";
    case DropReason::twin_refused: return "twin_refused";
  }
  return "unknown";
}

DropCounters::DropCounters(Metrics& metrics) {
  for (size_t i = 1; i < kDropReasonCount; ++i) {
    counters_[i] = &metrics.counter(metric::kPacketsDropped, static_cast<DropReason>(i));
    MESHD_ASSERT(counters_[i] != nullptr && drop_reason_name(static_cast<DropReason>(i)) != "unknown");
  }
  MESHD_ASSERT(counters_[0] == nullptr);  // none is never counted
}

}  // namespace meshd::wire
