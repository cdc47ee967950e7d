// The one shape of a protocol state machine (liveness, SWIM; the handshake
// manager and every protocol after them adopt it).
//
// A protocol is a pure state machine: no Runtime, no Network, no Clock.
// Time comes in as an argument, randomness from a RandomStream it was
// given, faults from an optional Buggify it was given. Its inputs are
//
//   void on_tick(int64_t now_us, Output& out);
//       Does the work due at now_us. Postcondition (asserted inside the
//       machine): next_deadline_us() > now_us — a tick always moves the
//       machine forward, so a driver can never spin.
//   Drop on_datagram(int64_t now_us, const Address& from,
//                    std::span<const uint8_t> bytes, Output& out);
//       Handles one datagram (decoded once, inside). Returns Drop::none if
//       it was accepted, else why it was dropped (an enum: every reason is
//       a named, countable value).
//   int64_t next_deadline_us() const;
//       The earliest time on_tick() has work. It includes every timer the
//       machine has (a timer left out is a timer that only fires when some
//       other one happens to): a driver sleeps exactly until then.
//   bool finished() const;
//       The machine has nothing more to do (a graceful leave drained); the
//       driver then stops. Most machines never finish.
//
// and it appends everything it wants done to an Output struct of its own
// whose `send` member is a std::vector<Datagram>: the one type for "a
// datagram to send" (other members: events, verdicts, security findings).
// Inputs other than these (announce, leave) take (now_us, ..., Output&)
// too. A machine also names its drop reasons: Machine::kDropReasons and a
// drop_reason_name(Drop) found by argument-dependent lookup.
//
// ProtocolDriver (protocol_driver.h) runs any such machine on an Env: one
// fiber, metrics for sent/failed/received/dropped, a clean stop.
#pragma once

#include <concepts>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "core/env/address.h"

namespace meshd {

// A datagram a protocol wants sent: destination and payload (at most
// kDatagramBytesMax, the network's limit, which the network enforces).
struct Datagram {
  Address to;
  std::vector<uint8_t> bytes;
};

template <class M>
concept ProtocolMachine = requires(M& m, const M& cm, int64_t now_us, const Address& from,
                                   std::span<const uint8_t> bytes, typename M::Output& out,
                                   typename M::Drop drop) {
  { m.on_tick(now_us, out) } -> std::same_as<void>;
  { m.on_datagram(now_us, from, bytes, out) } -> std::same_as<typename M::Drop>;
  { cm.next_deadline_us() } -> std::same_as<int64_t>;
  { cm.finished() } -> std::same_as<bool>;
  { out.send } -> std::convertible_to<std::vector<Datagram>&>;
  { M::kDropReasons } -> std::convertible_to<size_t>;
  { drop_reason_name(drop) } -> std::convertible_to<std::string_view>;
};

}  // namespace meshd
