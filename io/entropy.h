// Entropy: the production root key for meshd::Random, from getrandom(2).
//
// getrandom() blocks only until the kernel pool is first initialised (early
// boot) and never fails afterwards, so:
//  * read_entropy() reports failures (ENOSYS on ancient kernels) as Status;
//  * entropy_key() asserts instead: a process that cannot get entropy must
//    not run with a predictable key.
// Production: meshd::Random random(meshd::io::entropy_key());
#pragma once

#include <cstdint>
#include <span>

#include "core/env/random.h"
#include "core/env/status.h"

namespace meshd::io {

// Fills `out` completely (loops over EINTR and short reads).
Status read_entropy(std::span<uint8_t> out);
Key32 entropy_key();

}  // namespace meshd::io
