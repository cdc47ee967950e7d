// Fuzz target: the SWIM codec and state machine on hostile bytes.
// Invariants: decode never crashes or reads out of bounds (ASan); an
// accepted message re-encodes to exactly the input (one encoding per
// message); a rejection names a reason; and feeding the bytes to a
// SwimMember never trips an assertion, whatever it believes afterwards;
// with a verifier, a datagram the identity rules refuse is counted as such.
#include <algorithm>
#include <cstdint>
#include <cstdlib>

#include "core/membership/swim.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace meshd;
  using namespace meshd::membership;
  const std::span<const uint8_t> input(data, size);
  SwimDrop why = SwimDrop::none;
  const auto m = decode_swim(input, &why);
  if (m) {
    if (why != SwimDrop::none) std::abort();
    size_t written = 0;
    const auto again = encode(*m, m->updates, &written);
    if (written != m->updates.size()) std::abort();
    if (again.size() != size || !std::equal(again.begin(), again.end(), data)) std::abort();
  } else if (why == SwimDrop::none) {
    std::abort();
  }
  SwimIdentity me;
  me.id.bytes[0] = 0xA5;
  me.address = Address{0x0a000001, 7000};
  SwimMember member(SwimConfig{}, me, {Address{0x0a000002, 7000}}, Random::from_seed(1).stream("f", "s"), 0);
  SwimOutput out;
  (void)member.on_datagram(1000, Address{0x0a000003, 7000}, input, out);
  for (int i = 0; i < 4; ++i) member.on_tick(member.next_deadline_us(), out);
  (void)member.on_datagram(member.next_deadline_us(), Address{0x0a000003, 7000}, input, out);
  // The identity rules on hostile bytes: a verifier that authenticates
  // whatever sender address 3 claims, derives ids from the key's first
  // bytes and accepts signatures whose first byte is even.
  SwimVerifier v;
  v.peer_id = [](const Address& a) -> std::optional<NodeId> {
    if (a.ipv4 != 0x0a000003) return std::nullopt;
    NodeId id;
    id.bytes[0] = 0xB1;
    return id;
  };
  v.derive_id = [](const PublicKeyBytes& k) {
    NodeId id;
    std::copy_n(k.begin(), id.bytes.size(), id.bytes.begin());
    return id;
  };
  v.verify = [](const PublicKeyBytes&, std::span<const uint8_t>, const SignatureBytes& sig) { return sig[0] % 2 == 0; };
  SwimMember guarded(SwimConfig{}, me, {}, Random::from_seed(2).stream("f", "s"), 0, {}, std::move(v));
  const SwimDrop d = guarded.on_datagram(10, Address{0x0a000003, 7000}, input, out);
  if ((d == SwimDrop::sender_mismatch || d == SwimDrop::identity_rejected || d == SwimDrop::bad_signature) !=
      (guarded.counters().identity_rejections == 1)) {
    std::abort();
  }
  return 0;
}
