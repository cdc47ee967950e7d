// Clock: a node's view of time. All time in core/ comes from here.
//
// Two clocks that may disagree:
//  * monotonic_us(): never goes backwards while the process lives; used for
//    every timeout, interval and RTT. Its origin is arbitrary (in the
//    simulator each node has its own offset and drift).
//  * wall_us(): microseconds since the Unix epoch as the host believes it;
//    may jump forwards or backwards (NTP steps, operator changes, simulator
//    clock-jump faults). Use only for human-facing timestamps and for
//    values that must survive a restart (e.g. key-archive grace periods),
//    never for timeouts.
// Both are cheap and have no side effects. Not thread-safe (one per node).
#pragma once

#include <cstdint>

namespace meshd {

// "No deadline": a wait that ends only when woken; a machine with no timer.
constexpr int64_t kNoDeadline = INT64_MAX;
constexpr int64_t kMicrosPerMilli = 1000;
constexpr int64_t kMicrosPerSecond = 1000 * 1000;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t monotonic_us() const = 0;
  virtual int64_t wall_us() const = 0;
};

}  // namespace meshd
