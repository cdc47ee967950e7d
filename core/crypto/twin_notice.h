// The twin_notice wire codec (docs/protocol.md, "Twins"): a responder's
// signed statement that it refused an initiation because the initiator's
// identity is live at another endpoint.
//
// Payload (110 bytes):
//   holder IPv4 u32 | holder port u16 | holder boot u64 | binding (16)
//   | Ed25519 signature (64) | mac (16)
// signature = Ed25519(responder key, kTwinNoticeDomain || header AAD ||
//   the 30 field bytes) — the header binds both NodeIds and the refused
//   initiator's index; `binding` is the refused message's mac1.
// mac = mac1 (PSK-keyed, cookie.h) over header AAD || the first 94 payload
//   bytes, so junk costs one hash before any signature check.
// Pure functions; decoders take hostile bytes and never assert on them.
#pragma once

#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "core/crypto/cookie.h"
#include "core/crypto/identity.h"
#include "core/env/address.h"
#include "core/wire/drop_reason.h"
#include "core/wire/header.h"

namespace meshd::crypto {

constexpr size_t kTwinNoticeSignedBytes = 4 + 2 + 8 + kMacBytes;                           // 30
constexpr size_t kTwinNoticeBytes = kTwinNoticeSignedBytes + kSignatureBytes + kMacBytes;  // 110
constexpr std::string_view kTwinNoticeDomain = "meshd twin notice v1";

struct TwinNoticeFields {
  Address holder;
  uint64_t holder_boot = 0;
  Mac binding{};  // the refused message's mac1
  bool operator==(const TwinNoticeFields&) const = default;
};

struct TwinNoticeBody {
  TwinNoticeFields fields;
  Signature signature{};
  Mac mac{};
};

// A kTwinNoticeBytes payload with the fields written and signature and mac
// zero: seal_twin_notice() fills them once the header is in place.
std::vector<uint8_t> encode_twin_notice(const TwinNoticeFields& fields);
// Signs and MACs a twin notice packet in place (header || encode_twin_notice()).
void seal_twin_notice(std::span<uint8_t> packet, const Identity& signer, const Psk& psk);
// none if `payload_bytes` is a twin notice's size, else truncated / too_large.
wire::DropReason twin_notice_size_check(size_t payload_bytes);
// nullopt unless exactly kTwinNoticeBytes.
std::optional<TwinNoticeBody> decode_twin_notice(std::span<const uint8_t> payload);
// The PSK mac (cheap; check first).
bool twin_notice_mac_valid(const CookieChecker& checker, std::span<const uint8_t> header_bytes,
                           std::span<const uint8_t> payload, const Mac& mac);
bool twin_notice_signature_valid(const SigningPublic& key, std::span<const uint8_t> header_bytes,
                                 std::span<const uint8_t> payload, const Signature& signature);

}  // namespace meshd::crypto
