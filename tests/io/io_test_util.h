// Helpers for io/ tests: temp directories and a bounded loop driver.
//
// run_until() drives an EventLoop until a predicate holds or a generous
// real-time budget passes. The budget is a failure bound, never the thing
// asserted: tests assert the predicate's outcome (ordering, contents).
#pragma once

#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <string>

#include "io/loop.h"

namespace meshd::io::test {

constexpr int64_t kTestBudgetMs = 10'000;
constexpr int64_t kIdleWaitUs = 10'000;  // re-check the predicate this often

inline int64_t monotonic_ms_now() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

// Returns true when `done` became true within the budget.
inline bool run_until(EventLoop& loop, const std::function<bool()>& done,
                      int64_t budget_ms = kTestBudgetMs) {
  const int64_t deadline_ms = monotonic_ms_now() + budget_ms;
  while (!done()) {
    if (monotonic_ms_now() > deadline_ms) return false;
    if (!loop.run_once(kIdleWaitUs)) return false;
  }
  return true;
}

// A fresh directory under /tmp, removed (recursively) on destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = "/tmp/meshd_io_test_XXXXXX";
    char* made = ::mkdtemp(tmpl.data());
    path_ = made != nullptr ? std::string(made) : std::string();
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace meshd::io::test
