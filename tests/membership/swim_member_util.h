// Helpers for the tests that step one SwimMember by hand (swim_test.cpp,
// swim_verify_test.cpp): member n's identity and address, its alive
// update, a member built at incarnation 1, and stepping to a time.
#pragma once

#include <algorithm>
#include <string>

#include "core/membership/swim.h"

namespace meshd::membership::test {

inline NodeId id_of(size_t n) {
  NodeId id;
  id.bytes[0] = 0xA5;
  id.bytes[14] = static_cast<uint8_t>(n >> 8);
  id.bytes[15] = static_cast<uint8_t>(n);
  return id;
}
inline Address addr_of(size_t n) { return Address{0x0a000000u + static_cast<uint32_t>(n), 7000}; }
inline MemberUpdate alive(size_t n, uint64_t inc = 1) {
  MemberUpdate u;
  u.id = id_of(n);
  u.incarnation = inc;
  u.address = addr_of(n);
  u.hostname = "node-" + std::to_string(n);
  return u;
}
// Member `self` at incarnation 1, no seeds, a fixed random stream.
inline SwimMember make(size_t self, SwimConfig c = {}) {
  SwimIdentity me;
  me.id = id_of(self);
  me.address = addr_of(self);
  me.hostname = "node-" + std::to_string(self);
  me.incarnation = 1;
  return SwimMember(c, me, {}, Random::from_seed(42).stream("t", "swim"), 0);
}
inline bool has_event(const SwimOutput& out, size_t n, MemberEventKind kind) {
  return std::any_of(out.events.begin(), out.events.end(),
                     [&](const MemberEvent& e) { return e.id == id_of(n) && e.kind == kind; });
}
// Ticks `s` at each of its deadlines up to `until_us`, collecting output.
inline void run_to(SwimMember& s, int64_t until_us, SwimOutput& out) {
  while (s.next_tick_us() <= until_us) s.on_tick(s.next_tick_us(), out);
}

}  // namespace meshd::membership::test
