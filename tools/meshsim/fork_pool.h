// ForkPool: runs tasks in forked child processes, at most `jobs` at a time,
// so a crash, abort or runaway in one task is a reported outcome, not the
// end of the caller. A task returns a string (one JSON record); the child
// writes it to a pipe and _exit()s without running destructors or atexit
// handlers, so it never flushes the parent's buffers twice.
//
// Outcomes: `output` is what the child wrote; `exited`/`exit_code` or
// `signal` say how it ended; `timed_out` when the pool killed it after
// `task_timeout_s` (0: no limit). Single-threaded; tools/ only (sim/ and
// core/ must not fork or read clocks).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace meshd::tools {

constexpr size_t kForkPoolJobsMax = 256;
constexpr size_t kChildOutputBytesMax = 64 * 1024 * 1024;

struct ChildOutcome {
  uint64_t tag = 0;
  std::string output;
  bool exited = false;
  int exit_code = 0;
  int signal = 0;
  bool timed_out = false;
  double wall_s = 0;        // fork to reap, as seen by the parent
  bool ok() const { return exited && exit_code == 0 && !timed_out; }
  std::string failure() const;  // "signal SIGABRT", "exit 3", "timeout after 30 s" ...
};

class ForkPool {
 public:
  ForkPool(size_t jobs, double task_timeout_s);
  ~ForkPool();
  ForkPool(const ForkPool&) = delete;
  ForkPool& operator=(const ForkPool&) = delete;

  bool has_slot() const { return children_.size() < jobs_; }
  size_t running() const { return children_.size(); }
  // Forks a child running fn (requires has_slot()). Returns false and an
  // outcome describing the error if fork/pipe failed.
  bool start(uint64_t tag, const std::function<std::string()>& fn, ChildOutcome* error);
  // Blocks up to wait_ms for children to finish; returns those that did.
  std::vector<ChildOutcome> wait_some(int wait_ms);

 private:
  struct Child {
    uint64_t tag;
    pid_t pid;
    int fd;
    std::string output;
    std::chrono::steady_clock::time_point started;
    bool killed_for_timeout = false;
  };
  ChildOutcome reap(Child& c);

  size_t jobs_;
  double task_timeout_s_;
  std::vector<Child> children_;
};

std::string signal_name(int sig);

}  // namespace meshd::tools
