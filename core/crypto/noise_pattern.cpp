#include "core/crypto/noise_pattern.h"

#include "core/env/assert.h"

namespace meshd::crypto {

namespace {

constexpr std::string_view kSuiteSuffix = "_25519_ChaChaPoly_BLAKE2b";
constexpr std::string_view kProtocolPrefix = "Noise_";

// The table mirrors the spec text: pre-messages "-> s" / "<- s" (joined by
// ';'), messages "-> e, es" joined by ';'. Parsed on lookup (cheap next to
// one DH) so the table reads exactly like the spec.
struct PatternText {
  std::string_view name;
  std::string_view pre;       // e.g. "-> s;<- s" or ""
  std::string_view messages;  // e.g. "-> e;<- e, ee"
};

constexpr PatternText kPatterns[] = {
    // One-way (§7.4).
    {"N", "<- s", "-> e, es"},
    {"K", "-> s;<- s", "-> e, es, ss"},
    {"X", "<- s", "-> e, es, s, ss"},
    // Fundamental interactive (§7.4).
    {"NN", "", "-> e;<- e, ee"},
    {"NK", "<- s", "-> e, es;<- e, ee"},
    {"NX", "", "-> e;<- e, ee, s, es"},
    {"KN", "-> s", "-> e;<- e, ee, se"},
    {"KK", "-> s;<- s", "-> e, es, ss;<- e, ee, se"},
    {"KX", "-> s", "-> e;<- e, ee, se, s, es"},
    {"XN", "", "-> e;<- e, ee;-> s, se"},
    {"XK", "<- s", "-> e, es;<- e, ee;-> s, se"},
    {"XX", "", "-> e;<- e, ee, s, es;-> s, se"},
    {"IN", "", "-> e, s;<- e, ee, se"},
    {"IK", "<- s", "-> e, es, s, ss;<- e, ee, se"},
    {"IX", "", "-> e, s;<- e, ee, se, s, es"},
    // Deferred (§7.6).
    {"NK1", "<- s", "-> e;<- e, ee, es"},
    {"NX1", "", "-> e;<- e, ee, s;-> es"},
    {"X1N", "", "-> e;<- e, ee;-> s;<- se"},
    {"X1K", "<- s", "-> e, es;<- e, ee;-> s;<- se"},
    {"XK1", "<- s", "-> e;<- e, ee, es;-> s, se"},
    {"X1K1", "<- s", "-> e;<- e, ee, es;-> s;<- se"},
    {"X1X", "", "-> e;<- e, ee, s, es;-> s;<- se"},
    {"XX1", "", "-> e;<- e, ee, s;-> es, s, se"},
    {"X1X1", "", "-> e;<- e, ee, s;-> es, s;<- se"},
    {"K1N", "-> s", "-> e;<- e, ee;-> se"},
    {"K1K", "-> s;<- s", "-> e, es;<- e, ee;-> se"},
    {"KK1", "-> s;<- s", "-> e;<- e, ee, se, es"},
    {"K1K1", "-> s;<- s", "-> e;<- e, ee, es;-> se"},
    {"K1X", "-> s", "-> e;<- e, ee, s, es;-> se"},
    {"KX1", "-> s", "-> e;<- e, ee, se, s;-> es"},
    {"K1X1", "-> s", "-> e;<- e, ee, s;-> se, es"},
    {"I1N", "", "-> e, s;<- e, ee;-> se"},
    {"I1K", "<- s", "-> e, es, s;<- e, ee;-> se"},
    {"IK1", "<- s", "-> e, s;<- e, ee, se, es"},
    {"I1K1", "<- s", "-> e, s;<- e, ee, es;-> se"},
    {"I1X", "", "-> e, s;<- e, ee, s, es;-> se"},
    {"IX1", "", "-> e, s;<- e, ee, se, s;-> es"},
    {"I1X1", "", "-> e, s;<- e, ee, s;-> se, es"},
};

Token parse_token(std::string_view text) {
  if (text == "e") return Token::e;
  if (text == "s") return Token::s;
  if (text == "ee") return Token::ee;
  if (text == "es") return Token::es;
  if (text == "se") return Token::se;
  if (text == "ss") return Token::ss;
  MESHD_ASSERT_MSG(false, "noise pattern table: unknown token");
  return Token::psk;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

// Calls fn(from_initiator, tokens_text) for each ';'-separated line.
template <class Fn>
void for_each_line(std::string_view text, Fn fn) {
  while (!text.empty()) {
    const size_t end = text.find(';');
    std::string_view line = trim(text.substr(0, end));
    MESHD_ASSERT(line.size() >= 2);
    const bool from_initiator = line.substr(0, 2) == "->";
    MESHD_ASSERT(from_initiator || line.substr(0, 2) == "<-");
    fn(from_initiator, trim(line.substr(2)));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
}

template <class Fn>
void for_each_token(std::string_view text, Fn fn) {
  while (!text.empty()) {
    const size_t end = text.find(',');
    fn(parse_token(trim(text.substr(0, end))));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
}

HandshakePattern build(const PatternText& text) {
  HandshakePattern p;
  p.base_name = std::string(text.name);
  for_each_line(text.pre, [&](bool from_initiator, std::string_view tokens) {
    for_each_token(tokens, [&](Token t) {
      if (from_initiator) {
        MESHD_ASSERT(p.pre_initiator_count < kPreMessageTokensMax);
        p.pre_initiator[p.pre_initiator_count++] = t;
      } else {
        MESHD_ASSERT(p.pre_responder_count < kPreMessageTokensMax);
        p.pre_responder[p.pre_responder_count++] = t;
      }
    });
  });
  for_each_line(text.messages, [&](bool from_initiator, std::string_view tokens) {
    MESHD_ASSERT(p.message_count < kPatternMessagesMax);
    MessagePattern& m = p.messages[p.message_count++];
    m.from_initiator = from_initiator;
    for_each_token(tokens, [&](Token t) {
      MESHD_ASSERT(m.token_count < kPatternTokensMax);
      m.tokens[m.token_count++] = t;
    });
  });
  p.one_way = p.message_count == 1;
  return p;
}

Status apply_psk(HandshakePattern& p, unsigned position) {
  if (p.psk_count >= kPskModifiersMax) return Status(Errc::invalid, "noise: too many psk modifiers");
  if (position > p.message_count) return Status(Errc::invalid, "noise: psk position past last message");
  MessagePattern& m = p.messages[position == 0 ? 0 : position - 1];
  if (m.token_count >= kPatternTokensMax) return Status(Errc::invalid, "noise: message too long");
  if (position == 0) {
    for (size_t i = m.token_count; i > 0; --i) m.tokens[i] = m.tokens[i - 1];
    m.tokens[0] = Token::psk;
  } else {
    m.tokens[m.token_count] = Token::psk;
  }
  ++m.token_count;
  ++p.psk_count;
  return Status::ok();
}

}  // namespace

Result<HandshakePattern> find_pattern(std::string_view base_name) {
  for (const PatternText& text : kPatterns) {
    if (text.name == base_name) return build(text);
  }
  return Status(Errc::invalid, "noise: unknown pattern " + std::string(base_name));
}

Result<HandshakePattern> parse_pattern_with_modifiers(std::string_view name) {
  const size_t psk_at = name.find("psk");
  auto pattern = find_pattern(name.substr(0, psk_at));
  if (!pattern || psk_at == std::string_view::npos) return pattern;
  std::string_view modifiers = name.substr(psk_at);
  while (true) {
    const size_t end = modifiers.find('+');
    std::string_view mod = modifiers.substr(0, end);
    // Exactly "psk" followed by one decimal digit: positions are tiny and a
    // bounded parse can't overflow.
    if (mod.size() != 4 || mod.substr(0, 3) != "psk" || mod[3] < '0' || mod[3] > '9') {
      return Status(Errc::invalid, "noise: unsupported modifier " + std::string(mod));
    }
    if (Status s = apply_psk(*pattern, static_cast<unsigned>(mod[3] - '0')); !s) return s;
    if (end == std::string_view::npos) break;
    modifiers.remove_prefix(end + 1);
  }
  return pattern;
}

Result<HandshakePattern> parse_protocol_name(std::string_view protocol_name) {
  if (protocol_name.substr(0, kProtocolPrefix.size()) != kProtocolPrefix ||
      protocol_name.size() < kProtocolPrefix.size() + kSuiteSuffix.size() ||
      protocol_name.substr(protocol_name.size() - kSuiteSuffix.size()) != kSuiteSuffix) {
    return Status(Errc::invalid, "noise: unsupported protocol " + std::string(protocol_name));
  }
  const std::string_view middle = protocol_name.substr(
      kProtocolPrefix.size(), protocol_name.size() - kProtocolPrefix.size() - kSuiteSuffix.size());
  return parse_pattern_with_modifiers(middle);
}

}  // namespace meshd::crypto
