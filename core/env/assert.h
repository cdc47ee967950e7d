// Always-on invariant assertions.
//
// MESHD_ASSERT states an invariant of production code. It is never compiled
// out: a violated invariant in the simulator is a found bug, and in
// production it is better to stop than to keep running on corrupt state.
// Use it for programmer errors only; bad *input* is a handled case that
// returns a Status, never an assertion.
#pragma once

namespace meshd {
[[noreturn]] void assert_fail(const char* expr, const char* file, int line, const char* msg);
}  // namespace meshd

#define MESHD_ASSERT(expr) \
  ((expr) ? (void)0 : ::meshd::assert_fail(#expr, __FILE__, __LINE__, nullptr))
#define MESHD_ASSERT_MSG(expr, msg) \
  ((expr) ? (void)0 : ::meshd::assert_fail(#expr, __FILE__, __LINE__, (msg)))
