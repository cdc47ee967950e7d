// PeerSessions: the transport sessions held for one peer across rekeys.
//
// Three slots, as in WireGuard's keypairs:
//  * current  — seals outgoing packets and opens incoming ones;
//  * previous — the session before the last rekey; opens (never seals)
//               in-flight packets for SessionConfig::previous_keep_us;
//  * next     — a responder-side session not yet confirmed: it becomes
//               current when the first packet opens on it (the initiator
//               speaks first), so a replayed initiation can create at most
//               an unconfirmed `next` and never displaces a working
//               current session.
// open() routes by the header's session_id (the receiver's local index).
// Pure state: time comes in as now_us. Bounded: 3 sessions per peer.
#pragma once

#include <optional>

#include "core/crypto/session.h"

namespace meshd::crypto {

class PeerSessions {
 public:
  explicit PeerSessions(const SessionConfig& config) : config_(config) {}

  // A session whose peer has proven the keys (we initiated it, or the
  // peer's last handshake message was authenticated): current at once.
  void install_confirmed(const Session& session, int64_t now_us);
  // A session we answered in a 1-RTT pattern (IK): waits in `next` until
  // the first packet from the initiator opens on it.
  void install_unconfirmed(const Session& session);

  // The session to seal with, or nullptr (none, or expired).
  Session* sending(int64_t now_us);
  // On success `receive_key_id` (optional) names the key that opened it.
  wire::DropReason open(const wire::DecodedPacket& packet, std::span<uint8_t> out,
                        size_t& plaintext_bytes, int64_t now_us, uint64_t* receive_key_id = nullptr);
  // Drops the previous session after its grace and expired sessions.
  void expire(int64_t now_us);
  bool owns_index(uint32_t local_index) const;
  // When expire() next has work: the previous session's grace ends or a
  // session reaches reject_after_us. INT64_MAX if none is held.
  int64_t next_expiry_us() const;
  size_t held() const { return (current_ ? 1 : 0) + (previous_ ? 1 : 0) + (next_ ? 1 : 0); }

  const std::optional<Session>& current() const { return current_; }
  const std::optional<Session>& previous() const { return previous_; }
  const std::optional<Session>& next() const { return next_; }
  // When a packet last opened on any of the sessions (kNeverUs: never).
  static constexpr int64_t kNeverUs = INT64_MIN / 2;
  static constexpr size_t kSessionsMax = 3;  // current, previous, next
  int64_t last_opened_us() const { return last_opened_us_; }

 private:
  void rotate_in(const Session& session, int64_t now_us);

  SessionConfig config_;
  std::optional<Session> current_;
  std::optional<Session> previous_;
  std::optional<Session> next_;
  int64_t previous_until_us_ = 0;
  int64_t last_opened_us_ = kNeverUs;
};

}  // namespace meshd::crypto
