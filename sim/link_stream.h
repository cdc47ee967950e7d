// LinkStream: a compact random stream for one directed network link.
//
// Same construction as meshd::RandomStream (a ChaCha20 keystream under a
// key derived from the world's Random), but with a 64-byte buffer instead
// of 256 so a 1000-node full mesh (~10^6 links) stays small. The key is the
// first 32 bytes of Random::stream("net", "link:a->b"), so the link's draws
// are still a pure function of (seed, a, b) and independent of every other
// stream. Distributions mirror RandomStream's exactly (integer-exact
// below(), 53-bit unit(), capped exponential). Not thread-safe.
#pragma once

#include <array>
#include <cstdint>

#include "core/env/random.h"

namespace meshd::sim {

class LinkStream {
 public:
  explicit LinkStream(RandomStream&& seed_stream);
  uint64_t next_u64();
  uint64_t below(uint64_t bound);  // bound > 0
  double unit();
  bool chance(double p);
  int64_t exponential(int64_t mean);  // capped at 64 * mean

 private:
  void refill();
  Key32 key_{};
  uint64_t block_counter_ = 0;
  std::array<uint8_t, 64> buffer_{};
  uint8_t buffer_pos_ = sizeof(buffer_);
};

}  // namespace meshd::sim
