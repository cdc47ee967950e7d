// Random: keyed, independent, reproducible random streams.
//
// A Random holds a 32-byte key. stream(component, purpose) derives a new
// key with BLAKE2b(key, component || 0 || purpose) and returns a ChaCha20
// keystream under it. Consequences:
//  * Streams are independent: adding a draw to one stream never changes
//    another's draws, so a seed keeps reproducing a run's faults after an
//    unrelated code change adds randomness somewhere else.
//  * for_node(i) derives a node's Random from the run's, so nodes do not
//    perturb each other either.
//  * The output is cryptographically strong: production seeds the root key
//    from getrandom() and uses the very same code for key generation.
// Distributions are our own (integer-exact where possible) because the
// standard library's <random> distributions differ between libstdc++ and
// libc++. Not thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

namespace meshd {

// Lemire, "Fast Random Integer Generation in an Interval" (2019): an
// unbiased value in [0, bound) from uniform 64-bit words. Shared by
// RandomStream and the simulator's per-link LinkStream. bound > 0.
template <class NextU64>
uint64_t unbiased_below(uint64_t bound, NextU64&& next_u64) {
  unsigned __int128 m = static_cast<unsigned __int128>(next_u64()) * bound;
  uint64_t low = static_cast<uint64_t>(m);
  if (low < bound) {
    const uint64_t threshold = (0 - bound) % bound;
    while (low < threshold) {
      m = static_cast<unsigned __int128>(next_u64()) * bound;
      low = static_cast<uint64_t>(m);
    }
  }
  return static_cast<uint64_t>(m >> 64);
}

using Key32 = std::array<uint8_t, 32>;

class RandomStream {
 public:
  explicit RandomStream(const Key32& key);

  uint64_t next_u64();
  // Uniform in [0, bound); bound > 0. Unbiased (Lemire's method).
  uint64_t below(uint64_t bound);
  // Uniform in [lo, hi] inclusive; lo <= hi.
  int64_t range(int64_t lo, int64_t hi);
  // Uniform double in [0, 1) with 53 random bits.
  double unit();
  // True with probability p (p <= 0: never, p >= 1: always).
  bool chance(double p);
  // Exponential with the given mean, rounded to an integer, capped at
  // 64 * mean so a single draw can't stall a simulation.
  int64_t exponential(int64_t mean);
  void fill(std::span<uint8_t> out);
  uint64_t draws() const { return draws_; }

 private:
  void refill();
  Key32 key_;
  uint64_t block_counter_ = 0;
  std::array<uint8_t, 256> buffer_{};
  size_t buffer_pos_ = sizeof(buffer_);
  uint64_t draws_ = 0;
};

class Random {
 public:
  explicit Random(const Key32& root_key) : key_(root_key) {}
  // The simulator's root: a 64-bit seed expanded to a key.
  static Random from_seed(uint64_t seed);

  Random for_node(uint64_t node_index) const;
  RandomStream stream(std::string_view component, std::string_view purpose) const;
  const Key32& key() const { return key_; }

 private:
  Key32 key_;
};

}  // namespace meshd
