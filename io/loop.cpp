#include "io/loop.h"

#include <signal.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>

#include "core/env/assert.h"
#include "io/errno_status.h"

namespace meshd::io {

namespace {
// epoll user data: fd in the low half, registration generation in the high.
uint64_t tag(int fd, uint32_t generation) {
  return (static_cast<uint64_t>(generation) << 32) | static_cast<uint32_t>(fd);
}
}  // namespace

Result<std::unique_ptr<EventLoop>> EventLoop::create(Runtime& runtime) {
  std::unique_ptr<EventLoop> loop(new EventLoop(runtime));
  loop->epoll_fd_.reset(::epoll_create1(EPOLL_CLOEXEC));
  if (!loop->epoll_fd_.valid()) return status_from_errno(errno, "epoll_create1");
  // CLOCK_MONOTONIC matches RealClock::monotonic_us(); we arm it relative
  // to runtime.now_us() anyway, so any monotonic Clock works.
  loop->timer_fd_.reset(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
  if (!loop->timer_fd_.valid()) return status_from_errno(errno, "timerfd_create");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = tag(loop->timer_fd_.get(), 0);
  if (::epoll_ctl(loop->epoll_fd_.get(), EPOLL_CTL_ADD, loop->timer_fd_.get(), &ev) != 0) {
    return status_from_errno(errno, "epoll_ctl(timerfd)");
  }
  return loop;
}

EventLoop::~EventLoop() {
  if (signal_fd_.valid()) {
    remove_fd(signal_fd_.get());
    (void)::sigprocmask(SIG_SETMASK, &previous_signal_mask_, nullptr);
  }
}

Status EventLoop::add_fd(int fd, uint32_t epoll_events, FdCallback callback) {
  MESHD_ASSERT(fd >= 0);
  MESHD_ASSERT(callback != nullptr);
  if (fds_.count(fd) != 0) return Status(Errc::exists, "fd already registered");
  if (fds_.size() >= kFdsMax) return Status(Errc::too_large, "event loop fd limit");
  const uint32_t generation = next_generation_++;
  epoll_event ev{};
  ev.events = epoll_events;
  ev.data.u64 = tag(fd, generation);
  if (::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
    return status_from_errno(errno, "epoll_ctl(add)");
  }
  fds_.emplace(fd, Registration{generation, std::make_shared<FdCallback>(std::move(callback))});
  return Status::ok();
}

Status EventLoop::modify_fd(int fd, uint32_t epoll_events) {
  auto it = fds_.find(fd);
  if (it == fds_.end()) return Status(Errc::not_found, "fd not registered");
  epoll_event ev{};
  ev.events = epoll_events;
  ev.data.u64 = tag(fd, it->second.generation);
  if (::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_MOD, fd, &ev) != 0) {
    return status_from_errno(errno, "epoll_ctl(mod)");
  }
  return Status::ok();
}

void EventLoop::remove_fd(int fd) {
  auto it = fds_.find(fd);
  if (it == fds_.end()) return;
  fds_.erase(it);
  // Failure means the fd was already closed, which removed it from epoll.
  (void)::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_DEL, fd, nullptr);
}

Status EventLoop::watch_termination_signals(SignalCallback callback) {
  MESHD_ASSERT_MSG(!signal_fd_.valid(), "termination signals watched twice");
  MESHD_ASSERT(callback != nullptr);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGHUP);  // meshd: reload the config
  // Blocked so the default action (death) never runs; the signalfd then
  // reports them as readable data.
  if (::sigprocmask(SIG_BLOCK, &mask, &previous_signal_mask_) != 0) return status_from_errno(errno, "sigprocmask");
  UniqueFd fd(::signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!fd.valid()) return status_from_errno(errno, "signalfd");
  signal_callback_ = std::move(callback);
  const int raw = fd.get();
  signal_fd_ = std::move(fd);
  return add_fd(raw, EPOLLIN, [this](uint32_t) { on_signalfd_readable(); });
}

void EventLoop::on_signalfd_readable() {
  // Bounded: at most a handful of pending signals exist (standard signals
  // do not queue), so one read per wakeup suffices.
  signalfd_siginfo info{};
  const ssize_t n = ::read(signal_fd_.get(), &info, sizeof(info));
  if (n != static_cast<ssize_t>(sizeof(info))) return;
  signal_callback_(static_cast<int>(info.ssi_signo));
}

int64_t EventLoop::wait_budget_us(int64_t max_wait_us) const {
  int64_t wait_us = -1;
  if (std::optional<int64_t> deadline = runtime_.next_deadline_us()) {
    const int64_t now = runtime_.now_us();
    wait_us = *deadline <= now ? 0 : *deadline - now;
  }
  if (max_wait_us >= 0 && (wait_us < 0 || max_wait_us < wait_us)) wait_us = max_wait_us;
  return wait_us;
}

Status EventLoop::arm_timer(int64_t wait_us) {
  itimerspec spec{};  // all zero: disarm
  if (wait_us > 0) {
    spec.it_value.tv_sec = static_cast<time_t>(wait_us / 1'000'000);
    spec.it_value.tv_nsec = static_cast<long>((wait_us % 1'000'000) * 1000);
  }
  if (wait_us <= 0 && !timer_armed_) return Status::ok();
  if (::timerfd_settime(timer_fd_.get(), 0, &spec, nullptr) != 0) {
    return status_from_errno(errno, "timerfd_settime");
  }
  timer_armed_ = wait_us > 0;
  return Status::ok();
}

Status EventLoop::run_once(int64_t max_wait_us) {
  ++iterations_;
  const int64_t wait_us = stop_requested_ ? 0 : wait_budget_us(max_wait_us);
  // 0: poll; >0: the timerfd wakes us with microsecond precision; -1:
  // sleep until I/O.
  if (Status s = arm_timer(wait_us); !s) return s;
  const int epoll_timeout_ms = wait_us == 0 ? 0 : -1;

  epoll_event events[kEventsPerWaitMax];
  const int n = ::epoll_wait(epoll_fd_.get(), events, kEventsPerWaitMax, epoll_timeout_ms);
  if (n < 0 && errno != EINTR) return status_from_errno(errno, "epoll_wait");
  for (int i = 0; i < n; ++i) {
    const int fd = static_cast<int>(events[i].data.u64 & 0xffffffffu);
    const auto generation = static_cast<uint32_t>(events[i].data.u64 >> 32);
    if (fd == timer_fd_.get()) {
      uint64_t expirations = 0;
      (void)::read(timer_fd_.get(), &expirations, sizeof(expirations));  // EAGAIN is fine
      timer_armed_ = false;
      continue;
    }
    auto it = fds_.find(fd);
    // Removed (or removed and the number reused) by an earlier callback
    // this round: the event belongs to a registration that is gone.
    if (it == fds_.end() || it->second.generation != generation) continue;
    std::shared_ptr<FdCallback> callback = it->second.callback;
    (*callback)(events[i].events);
  }
  runtime_.run_due();
  return Status::ok();
}

Status EventLoop::run() {
  while (!stop_requested_) {
    if (Status s = run_once(); !s) return s;
  }
  return Status::ok();
}

}  // namespace meshd::io
