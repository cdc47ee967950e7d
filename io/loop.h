// EventLoop: the production driver of one meshd::Runtime (core/env/runtime.h).
//
// One iteration (run_once):
//   1. wait in epoll_wait until a registered fd is ready, the runtime's
//      next deadline passes (a timerfd armed with microsecond precision,
//      relative to runtime.now_us()), or stop() was requested;
//   2. call the callback of every ready fd (loop context: never inside a
//      fiber), at most kEventsPerWaitMax per iteration;
//   3. runtime.run_due().
// run() repeats until stop(). Nothing here decides anything the simulator
// could not decide: all node logic lives in core/ and only sees the Runtime.
//
// Ownership: the loop borrows the Runtime (it must outlive the loop) and
// the registered fds (the caller closes them, after remove_fd()). It owns
// its epoll fd, timerfd and signalfd. Callbacks may add/remove fds,
// including their own, and may call stop(). Single-threaded.
// Errors: setup failures are Status values; a failing epoll_wait other
// than EINTR stops the loop and run() returns that Status.
#pragma once

#include <signal.h>
#include <sys/epoll.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>

#include "core/env/runtime.h"
#include "core/env/status.h"
#include "io/fd.h"

namespace meshd::io {

class EventLoop {
 public:
  // Ready events handled per epoll_wait; more simply wait for the next round
  // (epoll is level-triggered, nothing is lost).
  static constexpr int kEventsPerWaitMax = 64;
  // Upper bound on registered fds (sockets, control clients, signals).
  static constexpr size_t kFdsMax = 1024;

  using FdCallback = std::function<void(uint32_t epoll_events)>;
  using SignalCallback = std::function<void(int signal_number)>;

  // Creates the epoll fd and timerfd; Status on failure.
  static Result<std::unique_ptr<EventLoop>> create(Runtime& runtime);
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  Runtime& runtime() { return runtime_; }

  // Level-triggered registration. Errc::exists if fd is registered,
  // Errc::too_large beyond kFdsMax.
  Status add_fd(int fd, uint32_t epoll_events, FdCallback callback);
  Status modify_fd(int fd, uint32_t epoll_events);
  // Safe from inside any callback (also the fd's own); a no-op if absent.
  void remove_fd(int fd);
  size_t fd_count() const { return fds_.size(); }

  // Blocks SIGTERM, SIGINT and SIGHUP for the process and delivers them through a
  // signalfd to `callback` in loop context. Call once, before any thread.
  // The destructor restores the previous signal mask.
  Status watch_termination_signals(SignalCallback callback);

  // One iteration as described above; waits at most max_wait_us (<0: no
  // extra bound). Returns a non-ok Status only on an epoll failure.
  Status run_once(int64_t max_wait_us = -1);
  // Iterates until stop(); returns ok, or the epoll failure.
  Status run();
  // Makes run() return after the current iteration (or at once, if called
  // before run()). Sticky: a stopped loop stays stopped. Callable from
  // callbacks and fibers.
  void stop() { stop_requested_ = true; }
  bool stop_requested() const { return stop_requested_; }
  uint64_t iterations() const { return iterations_; }

 private:
  explicit EventLoop(Runtime& runtime) : runtime_(runtime) {}
  // Microseconds to wait before the runtime has work; -1: forever.
  int64_t wait_budget_us(int64_t max_wait_us) const;
  Status arm_timer(int64_t wait_us);
  void on_signalfd_readable();

  Runtime& runtime_;
  UniqueFd epoll_fd_;
  UniqueFd timer_fd_;
  UniqueFd signal_fd_;
  SignalCallback signal_callback_;
  sigset_t previous_signal_mask_{};
  struct Registration {
    uint32_t generation;  // tells a reused fd number from its predecessor
    // shared_ptr so a callback that removes itself stays alive until it
    // returns.
    std::shared_ptr<FdCallback> callback;
  };
  std::map<int, Registration> fds_;
  uint32_t next_generation_ = 1;
  bool timer_armed_ = false;
  bool stop_requested_ = false;
  uint64_t iterations_ = 0;
};

}  // namespace meshd::io
