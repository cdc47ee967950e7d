// SWIM wire format v2 (docs/membership.md has the byte-by-byte table).
//
// Every integer is little-endian (core/wire/byte_io.h). A datagram is
//
//   0   2   magic     'M' 'S' (0x4D 0x53), distinct from liveness's "ML"
//   2   1   version   2 (v1 had no instance, endpoints, keys on left, signatures)
//   3   1   type      1 ping, 2 ack, 3 ping_req, 4 nack, 5 push_pull, 6 gossip
//   4   16  sender    the sender's NodeId
//   20  ... body by type:
//     ping      seq u64, target NodeId (16)                 then updates
//     ack       seq u64                                     then updates
//     ping_req  seq u64, target NodeId (16), target addr (ipv4 u32, port u16)
//                                                           then updates
//     nack      seq u64                                     then updates
//     push_pull flags u8 (bit0 request: answer with your state; bit1 join)
//                                                           then updates
//     gossip    (nothing)                                   then updates
//   updates: count u8 (<= kUpdatesPerMessageMax), then each update:
//     status u8 (1 alive, 2 suspect, 3 failed, 4 left), node NodeId (16),
//     incarnation u64, then by status:
//       alive   instance u64, endpoint count u8 (1..kEndpointsMax),
//               endpoints (ipv4 u32, port u16 each; the first is primary),
//               public key (32), hostname_len u8 (<= kHostnameBytesMax),
//               hostname bytes, fingerprint digest u64, capability digest
//               u64, signature (64)
//       suspect origin NodeId (16)
//       failed  origin NodeId (16)
//       left    public key (32), signature (64)
//   The signature (Ed25519, by the node the update is about) covers
//   kSwimSignatureDomain followed by the update's own bytes up to the
//   signature (update_signing_bytes). Alive and left are the two facts
//   only a node may state about itself; suspect/failed are anyone's
//   observation and are not signed. The codec does not verify: the
//   member's identity rules do (swim_admission.h), with the verifier the
//   owner gives it.
//   nothing may follow the last update (trailing bytes are dropped).
//
// Limits: an encoded message never exceeds the size the caller gives
// (kSwimDatagramBytesMin..kDatagramBytesMax; an encrypted mesh passes the
// transport's payload limit); the encoder stops adding updates at the
// first one that would not fit and reports how many it wrote. decode() never reads out of bounds, never
// asserts on input, allocates at most kUpdatesPerMessageMax updates, and
// says why it rejected bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "core/env/network.h"
#include "core/membership/member_table.h"

namespace meshd::membership {

constexpr uint8_t kSwimMagic0 = 0x4D;  // 'M'
constexpr uint8_t kSwimMagic1 = 0x53;  // 'S'
constexpr uint8_t kSwimVersion = 2;
constexpr size_t kSwimHeaderBytes = 20;
// 255 fits the count byte; the real bound is the datagram size (an alive
// update is 153..234 bytes, a left update 121, suspect/failed 41), so at
// most 33 updates fit.
constexpr size_t kUpdatesPerMessageMax = 64;
constexpr size_t kUpdateAliveBytesMin =
    1 + 16 + 8 + 8 + 1 + 6 + kPublicKeyBytes + 1 + 8 + 8 + kSignatureBytes;
constexpr size_t kUpdateBytesMax = kUpdateAliveBytesMin + 6 * (kEndpointsMax - 1) + kHostnameBytesMax;
constexpr size_t kUpdateLeftBytes = 1 + 16 + 8 + kPublicKeyBytes + kSignatureBytes;
constexpr std::string_view kSwimSignatureDomain = "meshd-swim-update-v2";
// The smallest datagram limit SWIM accepts: the largest fixed part (51)
// plus the largest update (234) always fit, so every message and every
// full-state chunk makes progress.
constexpr size_t kSwimDatagramBytesMin = 512;

enum class SwimType : uint8_t { ping = 1, ack = 2, ping_req = 3, nack = 4, push_pull = 5, gossip = 6 };
std::string_view swim_type_name(SwimType type);

constexpr uint8_t kPushPullRequest = 0x01;
constexpr uint8_t kPushPullJoin = 0x02;
constexpr uint8_t kPushPullFlagsKnown = kPushPullRequest | kPushPullJoin;

struct SwimMessage {
  SwimType type = SwimType::ping;
  NodeId sender;
  uint64_t seq = 0;               // ping, ack, ping_req, nack
  NodeId target;                  // ping, ping_req
  Address target_address;         // ping_req
  uint8_t flags = 0;              // push_pull
  std::vector<MemberUpdate> updates;
  bool operator==(const SwimMessage&) const = default;
};

// Why a datagram (or, in swim.h, a message) was dropped. The first group
// is the codec's; the second the state machine's; the last the identity
// rules' (swim_admission.h), checked before the machine acts on anything.
enum class SwimDrop : uint8_t {
  none = 0, truncated, bad_magic, bad_version, unknown_type, bad_flags, bad_status,
  too_many_updates, bad_hostname, trailing_bytes, bad_endpoints,
  from_self, not_for_us, unexpected_ack, relay_full,
  displaced,  // we yielded our identity to a twin (swim.h): we no longer take part
  sender_mismatch,    // the sender is not the peer the transport authenticated
  identity_rejected,  // an alive/left update about another node with a key not its own
  bad_signature,      // an alive/left update whose signature does not verify
};
constexpr size_t kSwimDropReasons = static_cast<size_t>(SwimDrop::bad_signature) + 1;
std::string_view swim_drop_name(SwimDrop reason);
// The protocol shape's name for drop reasons (core/env/protocol.h).
inline std::string_view drop_reason_name(SwimDrop reason) { return swim_drop_name(reason); }

// Size of one update on the wire.
size_t encoded_update_bytes(const MemberUpdate& u);
// What the owner signs for an alive or left update: the domain, then the
// update's wire bytes without the signature (asserts status alive/left).
std::vector<uint8_t> update_signing_bytes(const MemberUpdate& u);
// Size of the message without its updates (header + body + count byte).
size_t encoded_fixed_bytes(SwimType type);

// Encodes the header and body of `m`, then as many of `updates` (in
// order) as fit in max_bytes (asserted in kSwimDatagramBytesMin..
// kDatagramBytesMax) and kUpdatesPerMessageMax; m.updates is ignored.
// *written (if given) = how many updates went in.
std::vector<uint8_t> encode(const SwimMessage& m, std::span<const MemberUpdate> updates,
                            size_t* written = nullptr, size_t max_bytes = kDatagramBytesMax);
// Convenience: encodes m with m.updates (all must fit; asserted).
std::vector<uint8_t> encode(const SwimMessage& m);

// Returns the message, or nullopt with *reason set.
std::optional<SwimMessage> decode_swim(std::span<const uint8_t> bytes, SwimDrop* reason);
// The message type of well-formed SWIM header bytes, without decoding the
// rest (tests, observers); nullopt if the header is not SWIM v2.
std::optional<SwimType> swim_type_of(std::span<const uint8_t> bytes);
// True if bytes start with the SWIM magic (for dispatch).
bool is_swim(std::span<const uint8_t> bytes);

}  // namespace meshd::membership
