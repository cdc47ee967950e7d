#include "core/crypto/peer_sessions.h"

#include <algorithm>
#include <climits>

#include "core/env/assert.h"

namespace meshd::crypto {

using wire::DropReason;

void PeerSessions::rotate_in(const Session& session, int64_t now_us) {
  if (current_) {
    previous_ = *current_;
    previous_until_us_ = now_us + config_.previous_keep_us;
  }
  current_ = session;
  MESHD_ASSERT(held() <= kSessionsMax);
}

void PeerSessions::install_confirmed(const Session& session, int64_t now_us) {
  MESHD_ASSERT(session.local_index() != 0);
  rotate_in(session, now_us);
  next_.reset();
  MESHD_ASSERT(current_ && current_->local_index() == session.local_index());
}

void PeerSessions::install_unconfirmed(const Session& session) {
  MESHD_ASSERT(session.local_index() != 0 && !session.initiator());
  next_ = session;
}

Session* PeerSessions::sending(int64_t now_us) {
  if (current_ && !current_->expired(now_us)) return &*current_;
  return nullptr;
}

DropReason PeerSessions::open(const wire::DecodedPacket& packet, std::span<uint8_t> out,
                              size_t& plaintext_bytes, int64_t now_us, uint64_t* receive_key_id) {
  plaintext_bytes = 0;
  const uint32_t index = packet.header.session_id;
  Session* session = nullptr;
  if (current_ && current_->local_index() == index) {
    session = &*current_;
  } else if (next_ && next_->local_index() == index) {
    const DropReason r = next_->open(packet, out, plaintext_bytes, now_us);
    if (r == DropReason::none) {
      last_opened_us_ = now_us;
      if (receive_key_id != nullptr) *receive_key_id = next_->receive_key_id();
      rotate_in(*next_, now_us);
      next_.reset();
    }
    return r;
  } else if (previous_ && previous_->local_index() == index && now_us < previous_until_us_) {
    session = &*previous_;
  }
  if (session == nullptr) return DropReason::unknown_session;
  const DropReason r = session->open(packet, out, plaintext_bytes, now_us);
  if (r == DropReason::none) last_opened_us_ = now_us;
  if (r == DropReason::none && receive_key_id != nullptr) *receive_key_id = session->receive_key_id();
  return r;
}

void PeerSessions::expire(int64_t now_us) {
  if (previous_ && (now_us >= previous_until_us_ || previous_->expired(now_us))) previous_.reset();
  if (current_ && current_->expired(now_us)) current_.reset();
  if (next_ && next_->expired(now_us)) next_.reset();
  MESHD_ASSERT(next_expiry_us() > now_us);  // expiry moved forward
}

int64_t PeerSessions::next_expiry_us() const {
  int64_t next = INT64_MAX;
  const int64_t reject_after_us = config_.reject_after_us;
  if (current_) next = std::min(next, current_->established_us() + reject_after_us);
  if (next_) next = std::min(next, next_->established_us() + reject_after_us);
  if (previous_) next = std::min({next, previous_until_us_, previous_->established_us() + reject_after_us});
  return next;
}

bool PeerSessions::owns_index(uint32_t local_index) const {
  return (current_ && current_->local_index() == local_index) ||
         (previous_ && previous_->local_index() == local_index) ||
         (next_ && next_->local_index() == local_index);
}

}  // namespace meshd::crypto
