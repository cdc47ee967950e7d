#include "io/entropy.h"

#include <sys/random.h>

#include <cerrno>

#include "core/env/assert.h"
#include "io/errno_status.h"

namespace meshd::io {

Status read_entropy(std::span<uint8_t> out) {
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::getrandom(out.data() + done, out.size() - done, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return status_from_errno(errno, "getrandom");
    }
    done += static_cast<size_t>(n);
  }
  return Status::ok();
}

Key32 entropy_key() {
  Key32 key{};
  const Status s = read_entropy(key);
  MESHD_ASSERT_MSG(s.is_ok(), "getrandom failed: no entropy for the root key");
  return key;
}

}  // namespace meshd::io
