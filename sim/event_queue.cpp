#include "sim/event_queue.h"

#include <algorithm>

#include "core/env/assert.h"

namespace meshd::sim {

void EventQueue::push(int64_t t_us, EventKind kind, uint32_t node, uint64_t arg) {
  heap_.push_back(SimEvent{t_us, next_seq_++, arg, node, kind});
  std::push_heap(heap_.begin(), heap_.end(), later);
}

SimEvent EventQueue::pop() {
  MESHD_ASSERT(!heap_.empty());
  std::pop_heap(heap_.begin(), heap_.end(), later);
  SimEvent ev = heap_.back();
  heap_.pop_back();
  return ev;
}

}  // namespace meshd::sim
