// Helpers for the tests that step one SwimMember by hand (swim_test.cpp,
// swim_verify_test.cpp): member n's identity and address, its alive
// update, a member built at incarnation 1, and stepping to a time.
#pragma once

#include <catch2/catch.hpp>

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
// Step limit of the hand-stepping helpers: a regression that stops the
// awaited thing from happening fails the test instead of hanging it.
constexpr size_t kTicksMax = 100'000;

// Ticks `s` at each of its deadlines up to `until_us`, collecting output.
inline void run_to(SwimMember& s, int64_t until_us, SwimOutput& out) {
  size_t ticks = 0;
  while (s.next_deadline_us() <= until_us && ticks++ < kTicksMax) s.on_tick(s.next_deadline_us(), out);
  REQUIRE(s.next_deadline_us() > until_us);
}

// Ticks `s` at its next deadline until done(step, t) holds for one tick's
// output `step` at time t (also appended to *all), at most `ticks_max`
// ticks. Returns whether it did.
template <class Done>
bool tick_until(SwimMember& s, Done done, SwimOutput* all = nullptr, size_t ticks_max = kTicksMax) {
  for (size_t i = 0; i < ticks_max; ++i) {
    const int64_t t = s.next_deadline_us();
    SwimOutput step;
    s.on_tick(t, step);
    const bool hit = done(step, t);
    if (all) {
      for (auto& d : step.send) all->send.push_back(std::move(d));
      for (auto& e : step.events) all->events.push_back(e);
    }
    if (hit) return true;
  }
  return false;
}

}  // namespace meshd::membership::test
