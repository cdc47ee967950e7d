// EventQueue: the simulator's global agenda — a binary min-heap of small
// POD events ordered by (t_us, seq). seq is the insertion counter, so two
// events at the same virtual time run in the order they were scheduled:
// deterministic with no reference to pointers or payload. Payloads live
// elsewhere (World's pools) and are named by `arg`. Pushing and popping do
// not allocate once the heap's vector has grown. Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace meshd::sim {

enum class EventKind : uint8_t { wake, deliver, deliver_local, world_fn };

struct SimEvent {
  int64_t t_us = 0;
  uint64_t seq = 0;
  uint64_t arg = 0;   // wake: generation; deliver: packet id; world_fn: slot
  uint32_t node = 0;
  EventKind kind = EventKind::wake;
};

class EventQueue {
 public:
  void push(int64_t t_us, EventKind kind, uint32_t node, uint64_t arg);
  bool empty() const { return heap_.empty(); }
  size_t size() const { return heap_.size(); }
  const SimEvent& top() const { return heap_.front(); }
  SimEvent pop();
  uint64_t pushed() const { return next_seq_; }

 private:
  static bool later(const SimEvent& a, const SimEvent& b) {
    return a.t_us != b.t_us ? a.t_us > b.t_us : a.seq > b.seq;
  }
  std::vector<SimEvent> heap_;
  uint64_t next_seq_ = 0;
};

}  // namespace meshd::sim
