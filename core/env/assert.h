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
// Writes the report of a failed assertion before the abort; the default is
// one plain-text line on stderr. meshd installs one that writes a JSON log
// line (its stderr is JSON lines only). Set once at startup.
using AssertReporter = void (*)(const char* expr, const char* file, int line, const char* msg);
void set_assert_reporter(AssertReporter reporter);
}  // namespace meshd

#define MESHD_ASSERT(expr) \
  ((expr) ? (void)0 : ::meshd::assert_fail(#expr, __FILE__, __LINE__, nullptr))
#define MESHD_ASSERT_MSG(expr, msg) \
  ((expr) ? (void)0 : ::meshd::assert_fail(#expr, __FILE__, __LINE__, (msg)))
