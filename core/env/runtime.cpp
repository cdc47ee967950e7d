#include "core/env/runtime.h"

#include <boost/context/fiber.hpp>
#include <boost/context/protected_fixedsize_stack.hpp>

#include <algorithm>
#include <cstdio>
#include <exception>

#include "core/env/assert.h"

#if defined(__SANITIZE_ADDRESS__)
#define MESHD_ASAN_FIBERS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MESHD_ASAN_FIBERS 1
#endif
#endif
#ifdef MESHD_ASAN_FIBERS
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

namespace meshd {

namespace bctx = boost::context;

namespace {
// Clears ASan's shadow for a whole fiber stack. A fiber destroyed by a
// forced unwind (a crash in the simulator) leaves the scope poisoning of
// the frames it abandoned; the next stack mmap'ed at the same addresses
// would inherit it and report use-after-scope on live locals (found by
// the swim sim tests under the asan preset).
void unpoison_stack(const bctx::stack_context& sc) {
#ifdef MESHD_ASAN_FIBERS
  __asan_unpoison_memory_region(static_cast<char*>(sc.sp) - sc.size, sc.size);
#else
  (void)sc;
#endif
}

// A protected stack allocator that remembers the stack bounds, which ASan
// needs to follow stack switches.
struct RecordingStack {
  bctx::protected_fixedsize_stack inner;
  bctx::stack_context* record;
  bctx::stack_context allocate() {
    bctx::stack_context sc = inner.allocate();
    unpoison_stack(sc);
    *record = sc;
    return sc;
  }
  void deallocate(bctx::stack_context& sc) noexcept {
    unpoison_stack(sc);
    inner.deallocate(sc);
  }
};
}  // namespace

struct Runtime::Fiber {
  FiberId id = 0;
  std::string name;
  std::function<void()> body;
  bctx::fiber context;   // the fiber's own continuation (while suspended)
  bctx::fiber caller;    // the scheduler's continuation (while running)
  bctx::stack_context stack{};
  enum class State : uint8_t { ready, running, parked, done } state = State::ready;
  bool cancelled = false;
  uint64_t park_seq = 0;
  WakeReason wake_reason = WakeReason::none;
  WaitList* waiting_on = nullptr;
#ifdef MESHD_ASAN_FIBERS
  void* fake_stack = nullptr;
  const void* scheduler_stack_bottom = nullptr;
  size_t scheduler_stack_size = 0;
#endif
};

Runtime::Runtime(const Clock& clock, Limits limits) : clock_(clock), limits_(limits) {
  MESHD_ASSERT(limits_.fibers_max > 0 && limits_.stack_bytes >= 16 * 1024);
  MESHD_ASSERT(limits_.run_steps_max > 0 && limits_.posted_max > 0 && limits_.timers_max > 0);
}

Runtime::~Runtime() { kill_all(); }

Result<Runtime::FiberId> Runtime::spawn(std::string_view name, std::function<void()> body) {
  if (fibers_.size() >= limits_.fibers_max) {
    return Status(Errc::unavailable, "fibers_max reached spawning " + std::string(name));
  }
  auto f = std::make_unique<Fiber>();
  f->id = next_fiber_id_++;
  f->name = std::string(name);
  f->body = std::move(body);
  Fiber* raw = f.get();
  f->context = bctx::fiber(
      std::allocator_arg, RecordingStack{bctx::protected_fixedsize_stack(limits_.stack_bytes), &raw->stack},
      [raw](bctx::fiber&& caller) -> bctx::fiber {
#ifdef MESHD_ASAN_FIBERS
        __sanitizer_finish_switch_fiber(nullptr, &raw->scheduler_stack_bottom,
                                        &raw->scheduler_stack_size);
#endif
        raw->caller = std::move(caller);
        try {
          raw->body();
        } catch (const bctx::detail::forced_unwind&) {
          // destroy(): let Boost.Context finish unwinding this stack. Only
          // Boost's entry frame runs between here and the final switch back.
#ifdef MESHD_ASAN_FIBERS
          __sanitizer_start_switch_fiber(nullptr, raw->scheduler_stack_bottom,
                                         raw->scheduler_stack_size);
#endif
          throw;
        } catch (const std::exception& e) {
          std::fprintf(stderr, "meshd: fiber '%s' threw: %s\n", raw->name.c_str(), e.what());
          assert_fail("fiber body must not throw", __FILE__, __LINE__, raw->name.c_str());
        }
        raw->state = Fiber::State::done;
        raw->body = nullptr;  // release captures now, on this stack
#ifdef MESHD_ASAN_FIBERS
        __sanitizer_start_switch_fiber(nullptr, raw->scheduler_stack_bottom,
                                       raw->scheduler_stack_size);
#endif
        return std::move(raw->caller);
      });
  const FiberId id = f->id;
  fibers_.emplace(id, std::move(f));
  ready_.push_back(ReadyItem{id, nullptr, false});
  MESHD_ASSERT(fibers_.size() <= limits_.fibers_max);
  return id;
}

void Runtime::cancel(FiberId id) {
  auto it = fibers_.find(id);
  if (it == fibers_.end()) return;
  Fiber& f = *it->second;
  f.cancelled = true;
  if (f.state == Fiber::State::parked) make_ready(f, WakeReason::cancelled);
}

Runtime::FiberId Runtime::current_fiber() const {
  MESHD_ASSERT(current_ != nullptr);
  return current_->id;
}

bool Runtime::cancelled() const { return current_ != nullptr && current_->cancelled; }

void Runtime::make_ready(Fiber& f, WakeReason reason) {
  MESHD_ASSERT(f.state == Fiber::State::parked);
  if (f.waiting_on != nullptr) {
    auto& q = f.waiting_on->fibers_;
    for (auto it = q.begin(); it != q.end(); ++it) {
      if (*it == f.id) {
        q.erase(it);
        break;
      }
    }
    f.waiting_on = nullptr;
  }
  f.state = Fiber::State::ready;
  f.wake_reason = reason;
  ready_.push_back(ReadyItem{f.id, nullptr, false});
  MESHD_ASSERT(f.waiting_on == nullptr && reason != WakeReason::none);
}

Status Runtime::park(WaitList& list, int64_t deadline_us) {
  MESHD_ASSERT_MSG(current_ != nullptr, "blocking call outside a fiber");
  Fiber& f = *current_;
  if (f.cancelled || killing_) return Status(Errc::cancelled);
  if (deadline_us <= now_us()) return Status(Errc::timeout);
  f.state = Fiber::State::parked;
  f.wake_reason = WakeReason::none;
  f.waiting_on = &list;
  ++f.park_seq;
  list.fibers_.push_back(f.id);
  MESHD_ASSERT(list.fibers_.size() <= limits_.fibers_max);
  if (deadline_us != kNoDeadline) {
    timers_.push(TimerEntry{deadline_us, next_timer_seq_++, f.id, f.park_seq});
  }
  suspend_current();
  MESHD_ASSERT(f.state == Fiber::State::running);
  switch (f.wake_reason) {
    case WakeReason::woken: return Status::ok();
    case WakeReason::timeout: return Status(Errc::timeout);
    case WakeReason::cancelled: return Status(Errc::cancelled);
    case WakeReason::none: break;
  }
  MESHD_ASSERT_MSG(false, "fiber resumed without a wake reason");
  return Status(Errc::invalid);
}

Status Runtime::sleep_until(int64_t deadline_us) {
  WaitList never_woken;
  Status s = park(never_woken, deadline_us);
  // A sleep ends by its deadline: timeout is the expected outcome.
  if (s.code() == Errc::timeout) return Status::ok();
  return s;
}

Status Runtime::sleep_for(int64_t duration_us) {
  return sleep_until(duration_us <= 0 ? now_us() : now_us() + duration_us);
}

Status Runtime::yield() {
  MESHD_ASSERT_MSG(current_ != nullptr, "yield outside a fiber");
  Fiber& f = *current_;
  if (f.cancelled || killing_) return Status(Errc::cancelled);
  f.state = Fiber::State::ready;
  ready_.push_back(ReadyItem{f.id, nullptr, false});
  suspend_current();
  return f.cancelled ? Status(Errc::cancelled) : Status::ok();
}

void Runtime::wake_one(WaitList& list) {
  if (list.fibers_.empty()) return;
  auto it = fibers_.find(list.fibers_.front());
  MESHD_ASSERT(it != fibers_.end());
  make_ready(*it->second, WakeReason::woken);
}

void Runtime::wake_all(WaitList& list) {
  while (!list.fibers_.empty()) wake_one(list);
}

Runtime::TimerId Runtime::call_at(int64_t deadline_us, std::function<void()> fn) {
  MESHD_ASSERT(fn != nullptr);
  MESHD_ASSERT_MSG(timer_callbacks_.size() < limits_.timers_max, "call_at: timers_max pending callbacks");
  const uint64_t seq = next_timer_seq_++;
  timers_.push(TimerEntry{deadline_us, seq, 0, 0});
  timer_callbacks_.emplace(seq, std::move(fn));
  stats_.timers_high_water = std::max(stats_.timers_high_water, timer_callbacks_.size());
  MESHD_ASSERT(timers_.size() >= timer_callbacks_.size());
  return seq;
}

void Runtime::cancel_timer(TimerId id) { timer_callbacks_.erase(id); }

void Runtime::post(std::function<void()> fn) {
  MESHD_ASSERT(fn != nullptr);
  MESHD_ASSERT_MSG(posted_waiting_ < limits_.posted_max, "post: posted_max callbacks waiting");
  ready_.push_back(ReadyItem{0, std::move(fn), true});
  ++posted_waiting_;
  stats_.posted_high_water = std::max(stats_.posted_high_water, posted_waiting_);
}

std::optional<int64_t> Runtime::next_deadline_us() const {
  if (!ready_.empty()) return now_us();
  if (timers_.empty()) return std::nullopt;
  // Stale entries (cancelled timers, fibers already woken) may sit on top;
  // reporting them early costs one empty run_due(), never a missed timer.
  return timers_.top().deadline_us;
}

bool Runtime::fire_one_due_timer(int64_t now) {
  if (timers_.empty() || timers_.top().deadline_us > now) return false;
  TimerEntry t = timers_.top();
  timers_.pop();
  if (t.fiber == 0) {
    auto it = timer_callbacks_.find(t.seq);
    if (it != timer_callbacks_.end()) {
      ready_.push_back(ReadyItem{0, std::move(it->second), false});
      timer_callbacks_.erase(it);
    }
    return true;
  }
  auto it = fibers_.find(t.fiber);
  if (it != fibers_.end()) {
    Fiber& f = *it->second;
    if (f.state == Fiber::State::parked && f.park_seq == t.park_seq) {
      make_ready(f, WakeReason::timeout);
    }
  }
  return true;
}

size_t Runtime::run_due() {
  MESHD_ASSERT_MSG(current_ == nullptr, "run_due() from inside a fiber");
  size_t steps = 0;
  while (steps < limits_.run_steps_max) {
    const int64_t now = now_us();
    while (fire_one_due_timer(now)) {
    }
    if (ready_.empty()) break;
    // Run the work that is ready now; work it makes ready runs next round,
    // after timers that fell due meanwhile (FIFO fairness).
    size_t batch = ready_.size();
    while (batch-- > 0 && steps < limits_.run_steps_max) {
      ReadyItem item = std::move(ready_.front());
      ready_.pop_front();
      ++steps;
      if (item.fiber == 0) {
        if (item.posted) {
          MESHD_ASSERT(posted_waiting_ > 0);
          --posted_waiting_;
        }
        item.fn();
        continue;
      }
      auto it = fibers_.find(item.fiber);
      if (it == fibers_.end()) continue;
      Fiber& f = *it->second;
      if (f.state != Fiber::State::ready) continue;
      resume(f);
      if (f.state == Fiber::State::done) destroy(f.id);
    }
  }
  return steps;
}

void Runtime::resume(Fiber& f) {
  MESHD_ASSERT(current_ == nullptr);
  MESHD_ASSERT(f.state == Fiber::State::ready);
  current_ = &f;
  f.state = Fiber::State::running;
  ++switches_;
#ifdef MESHD_ASAN_FIBERS
  void* fake = nullptr;
  __sanitizer_start_switch_fiber(&fake, static_cast<char*>(f.stack.sp) - f.stack.size,
                                 f.stack.size);
#endif
  f.context = std::move(f.context).resume();
#ifdef MESHD_ASAN_FIBERS
  __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#endif
  current_ = nullptr;
}

void Runtime::suspend_current() {
  MESHD_ASSERT(current_ != nullptr);
  Fiber& f = *current_;
#ifdef MESHD_ASAN_FIBERS
  __sanitizer_start_switch_fiber(&f.fake_stack, f.scheduler_stack_bottom, f.scheduler_stack_size);
#endif
#ifdef MESHD_ASAN_FIBERS
  try {
    f.caller = std::move(f.caller).resume();
  } catch (const bctx::detail::forced_unwind&) {
    // destroy() switched here to unwind this stack: tell ASan we arrived.
    __sanitizer_finish_switch_fiber(f.fake_stack, &f.scheduler_stack_bottom,
                                    &f.scheduler_stack_size);
    throw;
  }
  __sanitizer_finish_switch_fiber(f.fake_stack, &f.scheduler_stack_bottom,
                                  &f.scheduler_stack_size);
#else
  f.caller = std::move(f.caller).resume();
#endif
  // Back on this fiber: the scheduler has set current_ and state.
}

void Runtime::destroy(FiberId id) {
  auto it = fibers_.find(id);
  if (it == fibers_.end()) return;
  std::unique_ptr<Fiber> f = std::move(it->second);
  fibers_.erase(it);
  if (f->waiting_on != nullptr) {
    auto& q = f->waiting_on->fibers_;
    for (auto qi = q.begin(); qi != q.end(); ++qi) {
      if (*qi == f->id) {
        q.erase(qi);
        break;
      }
    }
    f->waiting_on = nullptr;
  }
  if (f->context) {
    // Suspended mid-body: unwinding runs its destructors (forced_unwind).
    current_ = f.get();
    f->cancelled = true;
#ifdef MESHD_ASAN_FIBERS
    void* fake = nullptr;
    __sanitizer_start_switch_fiber(&fake, static_cast<char*>(f->stack.sp) - f->stack.size,
                                   f->stack.size);
#endif
    { bctx::fiber doomed = std::move(f->context); }
#ifdef MESHD_ASAN_FIBERS
    __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#endif
    current_ = nullptr;
  }
}

void Runtime::kill_all() {
  killing_ = true;
  while (!fibers_.empty()) destroy(fibers_.begin()->first);
  killing_ = false;
  ready_.clear();
  posted_waiting_ = 0;
  timer_callbacks_.clear();
  timers_ = {};
  MESHD_ASSERT(fibers_.empty() && current_ == nullptr);
}

}  // namespace meshd
