#include "tools/meshsim/histogram.h"

#include <algorithm>

namespace meshd::tools {

int64_t LatencyHistogram::bucket_of(int64_t v) {
  if (v < 1000) return v;
  int64_t scale = 1;
  while (v / scale >= 1000) scale *= 10;
  return v / scale * scale;
}

void LatencyHistogram::add(int64_t value) {
  ++buckets_[bucket_of(value)];
  max_ = count_ == 0 ? value : std::max(max_, value);
  ++count_;
}

sim::Distribution LatencyHistogram::summary() const {
  sim::Distribution d;
  d.count = count_;
  if (count_ == 0) return d;
  // The sample of rank min(n-1, n*permille/1000) (0-based), as distribution_of.
  auto at = [&](uint64_t permille) {
    const uint64_t rank = std::min(count_ - 1, count_ * permille / 1000);
    uint64_t seen = 0;
    for (const auto& [bucket, n] : buckets_) {
      seen += n;
      if (seen > rank) return bucket;
    }
    return max_;
  };
  d.p50 = at(500);
  d.p99 = at(990);
  d.max = max_;
  return d;
}

}  // namespace meshd::tools
