// ReplayWindow: sliding-window anti-replay for 64-bit packet counters,
// with WireGuard's semantics (RFC 6479 bitmap, as in wireguard's counter.c).
//
// Contract:
//  * check(c) is pure: true iff c may be accepted — c != UINT64_MAX (the
//    reserved Noise nonce), c not seen before, and c not older than
//    kReplayWindowPackets below the highest counter accepted so far.
//  * commit(c) records c; call it only after check(c) returned true AND
//    the packet's AEAD verified — so a forged packet with a huge counter
//    can never slide the window (check-then-commit). Committing a value
//    check() rejects is a programming error (asserted).
//  * Exact model: accept iff c != UINT64_MAX && c not in seen && (nothing
//    committed || c + kReplayWindowPackets >= highest committed), computed
//    without overflow (prop/crypto_props.cpp checks this against a std::set).
//  * Fixed size (kReplayBitmapBits / 8 = 512 bytes), no allocation,
//    check() is a handful of instructions (bench: tools/bench/crypto.cpp).
#pragma once

#include <array>
#include <cstdint>

namespace meshd::crypto {

constexpr uint64_t kReplayBitmapBits = 4096;  // power of two
constexpr uint64_t kReplayWordBits = 64;
constexpr uint64_t kReplayBitmapWords = kReplayBitmapBits / kReplayWordBits;
// One word is always being recycled, so the guaranteed window is one word
// smaller than the bitmap: 4032 packets (issue requires >= 2048).
constexpr uint64_t kReplayWindowPackets = kReplayBitmapBits - kReplayWordBits;
constexpr uint64_t kCounterRejected = UINT64_MAX;

class ReplayWindow {
 public:
  bool check(uint64_t counter) const {
    if (counter == kCounterRejected) return false;
    const uint64_t c = counter + 1;  // internal counters start at 1; 0 = nothing seen
    // Too old; written without c + W so counters near 2^64 cannot wrap.
    if (greatest_ > kReplayWindowPackets && c < greatest_ - kReplayWindowPackets) return false;
    if (c > greatest_) return true;                          // new highest
    return (bitmap_[word_index(c)] & bit(c)) == 0;
  }

  void commit(uint64_t counter);

  // Highest counter committed so far, or nothing (has_any() false).
  bool has_any() const { return greatest_ != 0; }
  uint64_t highest() const { return greatest_ - 1; }

 private:
  static uint64_t word_index(uint64_t c) { return (c / kReplayWordBits) & (kReplayBitmapWords - 1); }
  static uint64_t bit(uint64_t c) { return uint64_t{1} << (c & (kReplayWordBits - 1)); }

  uint64_t greatest_ = 0;  // internal (counter + 1) of the highest committed
  std::array<uint64_t, kReplayBitmapWords> bitmap_{};
};

}  // namespace meshd::crypto
