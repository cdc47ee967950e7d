// Runtime: one node's single-threaded fiber scheduler (Boost.Context).
//
// The runtime owns fibers, timers and posted callbacks; it does not own time
// or I/O. A *driver* (sim/ or io/) runs it:
//
//   loop:
//     wait until clock >= next_deadline_us() or I/O arrives   (driver's job)
//     deliver I/O by calling handlers (loop context)           (driver's job)
//     run_due()   // fires due timers, then runs every ready fiber/callback
//
// Contract:
//  * Deterministic: given the same sequence of driver calls and clock
//    readings, fibers run in the same order. Timers fire in (deadline,
//    creation order); ready work runs FIFO.
//  * Blocking calls (sleep_until, park, Event::wait, Channel::recv/send) are
//    legal only inside a fiber. They return Errc::timeout when their
//    deadline passes and Errc::cancelled once the fiber has been cancelled;
//    a cancelled fiber should return promptly.
//  * kill_all() destroys every fiber without letting it run again: their
//    stacks are unwound (destructors run, no other code) — this is a
//    process crash. Timers and posted callbacks are discarded.
//  * Limits: at most Limits::fibers_max live fibers (spawn fails with
//    Errc::unavailable beyond it); run_due() performs at most
//    Limits::run_steps_max steps and then returns with work still ready
//    (next_deadline_us() then reports "now") so a livelock cannot hang the
//    driver inside one call. post() keeps at most Limits::posted_max
//    callbacks waiting and call_at() at most Limits::timers_max callback
//    timers pending; going beyond is a programming error (asserted: an
//    unbounded producer, not load), and the high-water marks are kept
//    (stats()) so a test can see how close a run came.
// Not thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <vector>

#include "core/env/clock.h"
#include "core/env/status.h"

namespace meshd {

class Runtime {
 public:
  using FiberId = uint64_t;
  using TimerId = uint64_t;

  struct Limits {
    size_t fibers_max = 256;
    size_t stack_bytes = 128 * 1024;
    size_t run_steps_max = 1'000'000;
    size_t posted_max = 65'536;   // post()ed callbacks not yet run
    size_t timers_max = 65'536;   // call_at() callbacks not yet due or cancelled
  };
  struct Stats {
    size_t posted_high_water = 0;  // most post()ed callbacks waiting at once
    size_t timers_high_water = 0;  // most call_at() callbacks pending at once
  };

  // A list of fibers parked on some condition (used by Event, Channel).
  class WaitList {
   public:
    bool empty() const { return fibers_.empty(); }
   private:
    friend class Runtime;
    std::deque<FiberId> fibers_;
  };

  explicit Runtime(const Clock& clock) : Runtime(clock, Limits{}) {}
  Runtime(const Clock& clock, Limits limits);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  const Clock& clock() const { return clock_; }
  int64_t now_us() const { return clock_.monotonic_us(); }

  // --- fibers -------------------------------------------------------------
  // The fiber starts at the next run_due(). `name` is for diagnostics.
  Result<FiberId> spawn(std::string_view name, std::function<void()> body);
  // Marks the fiber cancelled and wakes it if it is blocked.
  void cancel(FiberId id);
  bool alive(FiberId id) const { return fibers_.count(id) != 0; }
  size_t fiber_count() const { return fibers_.size(); }

  // --- inside a fiber -------------------------------------------------------
  bool in_fiber() const { return current_ != nullptr; }
  FiberId current_fiber() const;
  bool cancelled() const;  // the current fiber has been cancelled
  Status sleep_until(int64_t deadline_us);
  Status sleep_for(int64_t duration_us);
  Status yield();  // let other ready work run, then continue
  // Parks the current fiber on `list` until woken, the deadline, or cancel.
  Status park(WaitList& list, int64_t deadline_us);
  void wake_one(WaitList& list);
  void wake_all(WaitList& list);

  // --- loop context (callable from anywhere) -----------------------------
  TimerId call_at(int64_t deadline_us, std::function<void()> fn);
  void cancel_timer(TimerId id);
  void post(std::function<void()> fn);

  // --- driver -----------------------------------------------------------------
  // Monotonic time at which run_due() next has work: the earliest timer, or
  // now_us() when work is already ready; nullopt when idle forever.
  std::optional<int64_t> next_deadline_us() const;
  // Fires due timers and runs ready work until quiescent (bounded).
  // Returns the number of steps performed.
  size_t run_due();
  void kill_all();
  uint64_t switches() const { return switches_; }
  const Stats& stats() const { return stats_; }
  const Limits& limits() const { return limits_; }

 private:
  struct Fiber;
  enum class WakeReason : uint8_t { none, woken, timeout, cancelled };
  struct TimerEntry {
    int64_t deadline_us;
    uint64_t seq;
    FiberId fiber;        // 0: a callback timer
    uint64_t park_seq;    // for fiber timers: which park() it belongs to
    bool operator>(const TimerEntry& o) const {
      return deadline_us != o.deadline_us ? deadline_us > o.deadline_us : seq > o.seq;
    }
  };
  struct ReadyItem {
    FiberId fiber = 0;             // non-zero: resume this fiber
    std::function<void()> fn;      // otherwise: run this callback
    bool posted = false;           // fn came from post() (counts against posted_max)
  };

  void make_ready(Fiber& f, WakeReason reason);
  void resume(Fiber& f);
  void suspend_current();
  bool fire_one_due_timer(int64_t now_us);
  void destroy(FiberId id);

  const Clock& clock_;
  Limits limits_;
  std::map<FiberId, std::unique_ptr<Fiber>> fibers_;
  std::priority_queue<TimerEntry, std::vector<TimerEntry>, std::greater<>> timers_;
  std::map<TimerId, std::function<void()>> timer_callbacks_;
  std::deque<ReadyItem> ready_;
  size_t posted_waiting_ = 0;  // entries of ready_ that came from post()
  Stats stats_;
  Fiber* current_ = nullptr;
  FiberId next_fiber_id_ = 1;
  uint64_t next_timer_seq_ = 1;
  uint64_t switches_ = 0;
  bool killing_ = false;
};

// A manual-reset event: set() wakes every waiter until reset().
class Event {
 public:
  explicit Event(Runtime& rt) : rt_(rt) {}
  void set() { set_ = true; rt_.wake_all(waiters_); }
  void reset() { set_ = false; }
  bool is_set() const { return set_; }
  // Returns ok once set; Errc::timeout / Errc::cancelled otherwise.
  Status wait(int64_t deadline_us = kNoDeadline) {
    while (!set_) {
      if (Status s = rt_.park(waiters_, deadline_us); !s) return s;
    }
    return Status::ok();
  }

 private:
  Runtime& rt_;
  Runtime::WaitList waiters_;
  bool set_ = false;
};

// A bounded FIFO channel between loop context and fibers.
template <class T>
class Channel {
 public:
  Channel(Runtime& rt, size_t capacity) : rt_(rt), capacity_(capacity) {
    MESHD_ASSERT(capacity > 0);
  }
  // Never blocks; false when full or closed (the caller counts the drop).
  bool try_send(T value) {
    if (closed_ || items_.size() >= capacity_) return false;
    items_.push_back(std::move(value));
    rt_.wake_one(receivers_);
    return true;
  }
  // Blocks (fiber only) while full.
  Status send(T value, int64_t deadline_us = kNoDeadline) {
    while (!closed_ && items_.size() >= capacity_) {
      if (Status s = rt_.park(senders_, deadline_us); !s) return s;
    }
    if (closed_) return Status(Errc::closed);
    items_.push_back(std::move(value));
    rt_.wake_one(receivers_);
    return Status::ok();
  }
  // Blocks (fiber only) while empty; Errc::closed once closed and drained.
  Result<T> recv(int64_t deadline_us = kNoDeadline) {
    while (items_.empty()) {
      if (closed_) return Status(Errc::closed);
      if (Status s = rt_.park(receivers_, deadline_us); !s) return s;
    }
    T v = std::move(items_.front());
    items_.pop_front();
    rt_.wake_one(senders_);
    return v;
  }
  void close() {
    closed_ = true;
    rt_.wake_all(receivers_);
    rt_.wake_all(senders_);
  }
  size_t size() const { return items_.size(); }
  size_t capacity() const { return capacity_; }
  bool closed() const { return closed_; }

 private:
  Runtime& rt_;
  size_t capacity_;
  std::deque<T> items_;
  Runtime::WaitList receivers_;
  Runtime::WaitList senders_;
  bool closed_ = false;
};

}  // namespace meshd
