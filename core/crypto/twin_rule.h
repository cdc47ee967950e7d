// The twin rule (docs/protocol.md, "Twins"): how a responder judges an
// authenticated initiation for NodeId X from address `from`, given what it
// knows about X's liveness. Pure functions over a small view — no
// HandshakeManager, no sessions — so the whole decision table is testable
// alone (tests/crypto/twin_rule_test.cpp).
//
//  * The holder is live if a packet opened on X's sessions within
//    stale_grace_us.
//  * `from` is a twin if the holder is live at another address and nothing
//    opened from `from` lately (a peer that moved is no twin of itself).
//  * prefer_oldest / allow_concurrent refuse a twin (twin_refused);
//    prefer_newest lets freshness decide.
//  * A fresher initiation (boot, timestamp) is accepted. A stale one is
//    accepted once the holder is silent (it lost its state, or a standby
//    takes over; nothing live can be displaced); while the holder is live
//    it is a replay from the holder's address, else a stale twin.
#pragma once

#include <cstdint>

#include "core/crypto/handshake_payload.h"
#include "core/env/address.h"
#include "core/wire/drop_reason.h"

namespace meshd::crypto {

// What a responder does with a twin initiation. Node maps
// membership.identity_policy onto it.
enum class TwinPolicy : uint8_t { prefer_newest, prefer_oldest, allow_concurrent };

// "Never" for the *_us fields below: far enough in the past that
// now_us - kNeverUs never falls inside any grace.
constexpr int64_t kLivenessNeverUs = INT64_MIN / 2;

// What the responder knows about the identity's current holder.
struct LivenessView {
  Address holder;                                  // the address its session is bound to
  int64_t last_opened_us = kLivenessNeverUs;       // a packet last opened on its sessions
  Address last_opened_from;                        // that packet's source
  int64_t last_opened_from_us = kLivenessNeverUs;  // when (kLivenessNeverUs: unknown)
  HandshakeFreshness last_freshness;               // greatest initiation accepted
};

enum class TwinVerdict : uint8_t { accept, replay, twin_stale, twin_refused };

bool holder_live(const LivenessView& view, int64_t now_us, int64_t stale_grace_us);
bool twin_at(const LivenessView& view, const Address& from, int64_t now_us, int64_t stale_grace_us);
TwinVerdict judge_initiation(const LivenessView& view, const Address& from, const HandshakeFreshness& freshness,
                             TwinPolicy policy, int64_t now_us, int64_t stale_grace_us);
// The drop reason of a refusing verdict (precondition: not accept).
wire::DropReason refusal_drop(TwinVerdict verdict);
// A refusal is answered with a twin notice unless it is a plain replay
// from the holder's own address (nobody to tell).
bool refusal_notifies(TwinVerdict verdict);

}  // namespace meshd::crypto
