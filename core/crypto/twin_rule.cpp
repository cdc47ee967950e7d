#include "core/crypto/twin_rule.h"

#include "core/env/assert.h"

namespace meshd::crypto {

bool holder_live(const LivenessView& view, int64_t now_us, int64_t stale_grace_us) {
  MESHD_ASSERT(stale_grace_us > 0);
  return now_us - view.last_opened_us < stale_grace_us;
}

bool twin_at(const LivenessView& view, const Address& from, int64_t now_us, int64_t stale_grace_us) {
  // Packets from `from` itself open on the peer's sessions: the peer moved
  // there (a new source address for the same process), it is no twin.
  const bool speaks_from_here =
      from == view.last_opened_from && now_us - view.last_opened_from_us < stale_grace_us;
  return holder_live(view, now_us, stale_grace_us) && from != view.holder && !speaks_from_here;
}

TwinVerdict judge_initiation(const LivenessView& view, const Address& from, const HandshakeFreshness& freshness,
                             TwinPolicy policy, int64_t now_us, int64_t stale_grace_us) {
  const bool live = holder_live(view, now_us, stale_grace_us);
  const bool twin = twin_at(view, from, now_us, stale_grace_us);
  MESHD_ASSERT(!twin || live);
  if (twin && policy != TwinPolicy::prefer_newest) return TwinVerdict::twin_refused;
  if (freshness > view.last_freshness) return TwinVerdict::accept;
  // Stale, but nothing has opened from the peer for stale_grace_us: accept
  // it from any address. Either the peer lost its state and its boot count
  // went back (a corrupt incarnation record re-derived from a clock that
  // stepped back), or the copy that held the identity died and a twin
  // (a standby under allow_concurrent, possibly with the lower boot) takes
  // over. A replay gains nothing here: the holder is already silent, an IK
  // responder session waits unconfirmed (PeerSessions::next) until the
  // initiator proves the keys, so nothing working is displaced, and the
  // real peer's next (fresher) handshake takes its address back. Until
  // then our packets for a silent peer may go to the replay's source.
  if (!live) return TwinVerdict::accept;
  return twin ? TwinVerdict::twin_stale : TwinVerdict::replay;
}

wire::DropReason refusal_drop(TwinVerdict verdict) {
  MESHD_ASSERT(verdict != TwinVerdict::accept);
  return verdict == TwinVerdict::twin_refused ? wire::DropReason::twin_refused : wire::DropReason::stale_handshake;
}

bool refusal_notifies(TwinVerdict verdict) {
  MESHD_ASSERT(verdict != TwinVerdict::accept);
  return verdict != TwinVerdict::replay;
}

}  // namespace meshd::crypto
