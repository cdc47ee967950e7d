#include "core/env/assert.h"

#include <cstdio>
#include <cstdlib>

namespace meshd {
void assert_fail(const char* expr, const char* file, int line, const char* msg) {
  std::fprintf(stderr, "meshd: assertion failed: %s at %s:%d%s%s\n", expr, file, line,
               msg ? ": " : "", msg ? msg : "");
  std::fflush(stderr);
  std::abort();
}
}  // namespace meshd
