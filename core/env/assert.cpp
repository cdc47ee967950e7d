#include "core/env/assert.h"

#include <cstdio>
#include <cstdlib>

namespace meshd {
namespace {
AssertReporter g_reporter = nullptr;  // reporting only: never affects behaviour
}  // namespace

void set_assert_reporter(AssertReporter reporter) { g_reporter = reporter; }

void assert_fail(const char* expr, const char* file, int line, const char* msg) {
  if (g_reporter != nullptr) {
    g_reporter(expr, file, line, msg);
  } else {
    std::fprintf(stderr, "meshd: assertion failed: %s at %s:%d%s%s\n", expr, file, line,
                 msg ? ": " : "", msg ? msg : "");
  }
  std::fflush(stderr);
  std::abort();
}
}  // namespace meshd
