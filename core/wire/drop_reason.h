// DropReason: why a received packet was discarded, and its counters.
//
// Every drop on the receive path is counted by exactly one reason; per
// packet outcomes are metrics, never info-level logs (core/env/log.h).
// Series: meshd_packets_dropped_total{reason="<name>"}. The set of reasons
// is closed (kDropReasonCount) so the series are fixed at construction.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "core/env/assert.h"
#include "core/env/metric_key.h"
#include "core/env/metrics.h"

namespace meshd::wire {

enum class DropReason : uint8_t {
  none = 0,           // not dropped
  truncated,          // shorter than the header or its payload_length says
  too_large,          // datagram or payload over a named limit
  bad_magic,          // not a meshd packet
  bad_version,        // a wire version we don't speak
  unknown_type,       // packet type not defined for this version
  bad_flags,          // a flag bit not defined for this version is set
  bad_reserved,       // reserved byte not zero
  bad_hops,           // hop_limit 0 or over kHopLimitMax, or hop_count > hop_limit
  length_mismatch,    // bytes after header + payload_length
  not_for_us,         // destination is another node (and we don't relay it)
  unknown_session,    // session_id names no live session
  replay,             // counter already seen, too old, or UINT64_MAX
  auth_failure,       // AEAD or handshake authentication failed
  stale_handshake,    // handshake initiation older than the live one (replay)
  handshake_failed,   // well-formed handshake that failed (wrong key, PSK, prologue)
  cookie_required,    // under load: answered with a cookie reply instead
  bad_cookie,         // cookie MAC missing or wrong
  peer_table_full,    // authenticated handshake from a new peer, but kPeersMax peers are known
  nonce_exhausted,    // sender's counter reached the reserved value
  handshake_collision,  // simultaneous initiation lost the tie-break (expected, benign)
  unexpected_handshake, // response/cookie/twin notice for no handshake in flight
  twin_refused,       // initiation from a twin: the identity's live session elsewhere keeps it (policy)
};

constexpr size_t kDropReasonCount = static_cast<size_t>(DropReason::twin_refused) + 1;

std::string_view drop_reason_name(DropReason reason);

namespace metric {
// meshd_packets_dropped_total{reason="<name>"}: the transport's drops (the
// ProtocolDriver that runs the transport registers the same series).
inline constexpr CounterFamily<DropReason> kPacketsDropped{"meshd_packets_dropped_total", "reason",
                                                           drop_reason_name, "transport datagrams dropped, by reason"};
}  // namespace metric

// Registers one counter per reason (except none) at construction; count()
// is a plain add. Borrowed Metrics must outlive this object.
class DropCounters {
 public:
  explicit DropCounters(Metrics& metrics);
  void count(DropReason reason) {
    MESHD_ASSERT(static_cast<size_t>(reason) < kDropReasonCount);
    if (reason != DropReason::none) ++*counters_[static_cast<size_t>(reason)];
  }
  uint64_t value(DropReason reason) const {
    return reason == DropReason::none ? 0 : *counters_[static_cast<size_t>(reason)];
  }

 private:
  std::array<uint64_t*, kDropReasonCount> counters_{};
};

}  // namespace meshd::wire
