#include "tools/meshsim/fork_pool.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace meshd::tools {

std::string signal_name(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev ? fmt::format("SIG{}", abbrev) : fmt::format("signal {}", sig);
}

std::string ChildOutcome::failure() const {
  if (timed_out) return "timeout (killed)";
  if (!exited) return fmt::format("crashed: {}", signal_name(signal));
  if (exit_code != 0) return fmt::format("exited with code {}", exit_code);
  return "";
}

ForkPool::ForkPool(size_t jobs, double task_timeout_s)
    : jobs_(jobs == 0 ? 1 : std::min(jobs, kForkPoolJobsMax)), task_timeout_s_(task_timeout_s) {}

ForkPool::~ForkPool() {
  for (Child& c : children_) {
    kill(c.pid, SIGKILL);
    close(c.fd);
    waitpid(c.pid, nullptr, 0);
  }
}

namespace {
void write_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = write(fd, s.data() + off, s.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) _exit(3);
    off += static_cast<size_t>(n);
  }
}
}  // namespace

bool ForkPool::start(uint64_t tag, const std::function<std::string()>& fn, ChildOutcome* error) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    error->tag = tag;
    error->exited = true;
    error->exit_code = 125;
    return false;
  }
  // Anything still buffered would otherwise be written by parent and child.
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    error->tag = tag;
    error->exited = true;
    error->exit_code = 125;
    return false;
  }
  if (pid == 0) {
    close(fds[0]);
    std::string out = fn();
    write_all(fds[1], out);
    _exit(0);
  }
  close(fds[1]);
  children_.push_back({tag, pid, fds[0], {}, std::chrono::steady_clock::now(), false});
  return true;
}

ChildOutcome ForkPool::reap(Child& c) {
  ChildOutcome o;
  o.tag = c.tag;
  o.output = std::move(c.output);
  int status = 0;
  while (waitpid(c.pid, &status, 0) < 0 && errno == EINTR) {}
  close(c.fd);
  o.exited = WIFEXITED(status);
  o.exit_code = o.exited ? WEXITSTATUS(status) : 0;
  o.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  o.timed_out = c.killed_for_timeout;
  o.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - c.started).count();
  return o;
}

std::vector<ChildOutcome> ForkPool::wait_some(int wait_ms) {
  std::vector<ChildOutcome> done;
  if (children_.empty()) return done;
  std::vector<pollfd> pfds;
  pfds.reserve(children_.size());
  for (const Child& c : children_) pfds.push_back({c.fd, POLLIN, 0});
  const int n = poll(pfds.data(), pfds.size(), wait_ms);
  if (n < 0 && errno != EINTR) return done;
  std::vector<bool> finished(children_.size(), false);
  char buf[65536];
  for (size_t i = 0; i < children_.size(); ++i) {
    if (pfds[i].revents == 0) continue;
    const ssize_t got = read(children_[i].fd, buf, sizeof buf);
    if (got > 0) {
      if (children_[i].output.size() + static_cast<size_t>(got) <= kChildOutputBytesMax) {
        children_[i].output.append(buf, static_cast<size_t>(got));
      }
    } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
      finished[i] = true;  // EOF: the child exited (or died)
    }
  }
  const auto now = std::chrono::steady_clock::now();
  for (Child& c : children_) {
    if (task_timeout_s_ > 0 && !c.killed_for_timeout &&
        std::chrono::duration<double>(now - c.started).count() > task_timeout_s_) {
      kill(c.pid, SIGKILL);  // its pipe reaches EOF next round
      c.killed_for_timeout = true;
    }
  }
  std::vector<Child> still;
  for (size_t i = 0; i < children_.size(); ++i) {
    if (finished[i]) {
      done.push_back(reap(children_[i]));
    } else {
      still.push_back(std::move(children_[i]));
    }
  }
  children_ = std::move(still);
  return done;
}

}  // namespace meshd::tools
