// Fuzz target: the SWIM codec and state machine on hostile bytes.
// Invariants: decode never crashes or reads out of bounds (ASan); an
// accepted message re-encodes to exactly the input (one encoding per
// message); a rejection names a reason; and feeding the bytes to a
// SwimMember never trips an assertion, whatever it believes afterwards.
#include <cstdint>
#include <algorithm>
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
  (void)member.on_datagram(Address{0x0a000003, 7000}, input, 1000, out);
  for (int i = 0; i < 4; ++i) member.on_tick(member.next_tick_us(), out);
  (void)member.on_datagram(Address{0x0a000003, 7000}, input, member.next_tick_us(), out);
  return 0;
}
