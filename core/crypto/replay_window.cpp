#include "core/crypto/replay_window.h"

#include <algorithm>

#include "core/env/assert.h"

namespace meshd::crypto {

void ReplayWindow::commit(uint64_t counter) {
  MESHD_ASSERT_MSG(check(counter), "ReplayWindow::commit of a rejected counter");
  const uint64_t c = counter + 1;
  if (c > greatest_) {
    // Clear the words between the old and the new highest: they hold bits
    // of counters that have just fallen out of the window.
    const uint64_t index_new = c / kReplayWordBits;
    const uint64_t index_current = greatest_ / kReplayWordBits;
    const uint64_t to_clear = std::min(index_new - index_current, kReplayBitmapWords);
    for (uint64_t i = 1; i <= to_clear; ++i) {
      bitmap_[(index_current + i) & (kReplayBitmapWords - 1)] = 0;
    }
    greatest_ = c;
  }
  bitmap_[word_index(c)] |= bit(c);
}

}  // namespace meshd::crypto
