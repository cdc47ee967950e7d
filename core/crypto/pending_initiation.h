// PendingInitiation: one of our handshake initiations in flight (to a
// known peer, or a first-contact probe by address), with its retry state.
// Plain data; HandshakeManager builds and retires it.
#pragma once

#include <algorithm>
#include <cstdint>

#include "core/crypto/cookie.h"
#include "core/crypto/handshake_state.h"

namespace meshd::crypto {

struct PendingInitiation {
  HandshakeState hs;
  uint32_t local_index = 0;
  uint32_t remote_index = 0;
  bool xx = false;
  int64_t started_us = 0;     // first attempt: the timeout runs from here
  int64_t next_retry_us = 0;
  uint32_t attempts = 0;
  uint32_t static_index = 0;  // which of our keys (current, then archived) we presented
  int64_t sent_us = 0;        // when this initiation went out
  Mac binding{};              // this initiation's mac1: what a twin notice must name
  bool noticed = false;       // a twin notice for it was accepted (no replays)

  // When tick() next has work for it: a retry or the timeout.
  int64_t deadline_us(int64_t handshake_timeout_us) const {
    return std::min(next_retry_us, started_us + handshake_timeout_us);
  }
};

}  // namespace meshd::crypto
