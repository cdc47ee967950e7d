#include "core/crypto/handshake_state.h"

#include <sodium.h>

#include <algorithm>

namespace meshd::crypto {

namespace {

bool pre_has(const std::array<Token, kPreMessageTokensMax>& tokens, uint8_t count, Token t) {
  for (uint8_t i = 0; i < count; ++i) {
    if (tokens[i] == t) return true;
  }
  return false;
}

void wipe_pair(std::optional<DhKeyPair>& kp) {
  if (kp) sodium_memzero(kp->private_key.data(), kp->private_key.size());
}

}  // namespace

HandshakeState::~HandshakeState() {
  wipe_pair(s_);
  wipe_pair(e_);
  if (fixed_ephemeral_) sodium_memzero(fixed_ephemeral_->data(), fixed_ephemeral_->size());
  for (Psk& psk : psks_) sodium_memzero(psk.data(), psk.size());
}

Result<HandshakeState> HandshakeState::create(const HandshakeConfig& config) {
  ensure_sodium();
  auto pattern = parse_protocol_name(config.protocol_name);
  if (!pattern) return pattern.status();
  if (config.psks.size() != pattern->psk_count) {
    return Status(Errc::invalid, "noise: pattern needs " + std::to_string(pattern->psk_count) +
                                     " psks, got " + std::to_string(config.psks.size()));
  }
  HandshakeState hs;
  hs.pattern_ = std::move(*pattern);
  hs.initiator_ = config.initiator;
  if (config.local_static) hs.s_ = dh_keypair_from_private(*config.local_static);
  hs.rs_ = config.remote_static;
  hs.re_ = config.remote_ephemeral;
  hs.fixed_ephemeral_ = config.fixed_ephemeral;
  hs.psks_ = config.psks;
  hs.rng_ = config.rng;

  hs.symmetric_.initialize(config.protocol_name);
  hs.symmetric_.mix_hash(config.prologue);
  // Pre-messages: the initiator's keys first, then the responder's (§5.3).
  const HandshakePattern& p = hs.pattern_;
  for (int side = 0; side < 2; ++side) {
    const bool initiator_side = side == 0;
    const auto& tokens = initiator_side ? p.pre_initiator : p.pre_responder;
    const uint8_t count = initiator_side ? p.pre_initiator_count : p.pre_responder_count;
    const bool mine = initiator_side == hs.initiator_;
    for (Token t : {Token::e, Token::s}) {
      if (!pre_has(tokens, count, t)) continue;
      const std::optional<DhPublic> key =
          t == Token::s ? (mine ? (hs.s_ ? std::optional(hs.s_->public_key) : std::nullopt) : hs.rs_)
                        : (mine ? std::nullopt : hs.re_);
      if (!key) return Status(Errc::invalid, "noise: pre-message key missing");
      hs.symmetric_.mix_hash(*key);
    }
  }
  return hs;
}

bool HandshakeState::is_my_turn() const {
  if (failed_ || next_message_ >= pattern_.message_count) return false;
  return pattern_.messages[next_message_].from_initiator == initiator_;
}

Status HandshakeState::check_turn(bool writing) const {
  if (failed_) return Status(Errc::invalid, "noise: handshake already failed");
  if (next_message_ >= pattern_.message_count) return Status(Errc::invalid, "noise: handshake complete");
  if (is_my_turn() != writing) return Status(Errc::invalid, "noise: message out of turn");
  return Status::ok();
}

Status HandshakeState::fail(Status status) {
  failed_ = true;
  return status;
}

Status HandshakeState::mix_dh(const std::optional<DhKeyPair>& local,
                              const std::optional<DhPublic>& remote) {
  if (!local || !remote) return Status(Errc::invalid, "noise: DH key missing");
  auto shared = dh(local->private_key, *remote);
  if (!shared) return shared.status();
  symmetric_.mix_key(*shared);
  sodium_memzero(shared->data(), shared->size());
  return Status::ok();
}

Status HandshakeState::token_shared(Token token) {
  if (token == Token::psk) {
    MESHD_ASSERT(next_psk_ < psks_.size());
    symmetric_.mix_key_and_hash(psks_[next_psk_++]);
    return Status::ok();
  }
  switch (token) {
    case Token::ee: return mix_dh(e_, re_);
    case Token::ss: return mix_dh(s_, rs_);
    // es: initiator's ephemeral with responder's static.
    case Token::es: return initiator_ ? mix_dh(e_, rs_) : mix_dh(s_, re_);
    case Token::se: return initiator_ ? mix_dh(s_, re_) : mix_dh(e_, rs_);
    default: MESHD_ASSERT_MSG(false, "token_shared: not a psk or DH token"); return Status(Errc::invalid);
  }
}

Status HandshakeState::write_message(std::span<const uint8_t> payload, std::vector<uint8_t>& out) {
  if (Status s = check_turn(true); !s) return s;
  const size_t start = out.size();
  const MessagePattern& m = pattern_.messages[next_message_];
  for (uint8_t i = 0; i < m.token_count; ++i) {
    const Token t = m.tokens[i];
    Status st;
    switch (t) {
      case Token::e: {
        if (!fixed_ephemeral_ && rng_ == nullptr) {
          st = Status(Errc::invalid, "noise: no ephemeral key source");
          break;
        }
        DhPrivate priv{};
        if (fixed_ephemeral_) {
          priv = *fixed_ephemeral_;
        } else {
          rng_->fill(priv);
        }
        e_ = dh_keypair_from_private(priv);
        sodium_memzero(priv.data(), priv.size());
        out.insert(out.end(), e_->public_key.begin(), e_->public_key.end());
        symmetric_.mix_hash(e_->public_key);
        if (pattern_.psk_count > 0) symmetric_.mix_key(e_->public_key);
        break;
      }
      case Token::s:
        if (!s_) {
          st = Status(Errc::invalid, "noise: local static key missing");
          break;
        }
        st = symmetric_.encrypt_and_hash(s_->public_key, out);
        break;
      default:  // psk and the DH tokens: the same whichever side writes
        st = token_shared(t);
        break;
    }
    if (!st) {
      out.resize(start);
      return fail(st);
    }
  }
  if (Status st = symmetric_.encrypt_and_hash(payload, out); !st) {
    out.resize(start);
    return fail(st);
  }
  if (out.size() - start > kNoiseMessageBytesMax) {
    out.resize(start);
    return fail(Status(Errc::too_large, "noise: handshake message over 65535 bytes"));
  }
  ++next_message_;
  return Status::ok();
}

Status HandshakeState::read_message(std::span<const uint8_t> message,
                                    std::vector<uint8_t>& payload_out) {
  if (Status s = check_turn(false); !s) return s;
  if (message.size() > kNoiseMessageBytesMax) {
    return fail(Status(Errc::too_large, "noise: handshake message over 65535 bytes"));
  }
  const MessagePattern& m = pattern_.messages[next_message_];
  std::span<const uint8_t> rest = message;
  std::vector<uint8_t> plain;
  for (uint8_t i = 0; i < m.token_count; ++i) {
    const Token t = m.tokens[i];
    Status st;
    switch (t) {
      case Token::e: {
        if (rest.size() < kDhBytes) return fail(Status(Errc::invalid, "noise: message truncated"));
        DhPublic re{};
        std::copy_n(rest.begin(), kDhBytes, re.begin());
        rest = rest.subspan(kDhBytes);
        re_ = re;
        symmetric_.mix_hash(re);
        if (pattern_.psk_count > 0) symmetric_.mix_key(re);
        break;
      }
      case Token::s: {
        const size_t len = kDhBytes + (symmetric_.has_key() ? kAeadTagBytes : 0);
        if (rest.size() < len) return fail(Status(Errc::invalid, "noise: message truncated"));
        if (rs_) return fail(Status(Errc::invalid, "noise: remote static already known"));
        st = symmetric_.decrypt_and_hash(rest.first(len), plain);
        if (st) {
          MESHD_ASSERT(plain.size() == kDhBytes);
          DhPublic rs{};
          std::copy_n(plain.begin(), kDhBytes, rs.begin());
          rs_ = rs;
        }
        rest = rest.subspan(len);
        break;
      }
      default:  // psk and the DH tokens: the same whichever side writes
        st = token_shared(t);
        break;
    }
    if (!st) return fail(st);
  }
  if (symmetric_.has_key() && rest.size() < kAeadTagBytes) {
    return fail(Status(Errc::invalid, "noise: message truncated"));
  }
  if (Status st = symmetric_.decrypt_and_hash(rest, payload_out); !st) return fail(st);
  ++next_message_;
  return Status::ok();
}

std::pair<CipherState, CipherState> HandshakeState::split() const {
  MESHD_ASSERT(is_complete());
  auto [c1, c2] = symmetric_.split();
  if (initiator_) return {c1, c2};
  return {c2, c1};
}

}  // namespace meshd::crypto
