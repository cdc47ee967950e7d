// LatencyHistogram: percentiles over an unbounded number of samples in
// bounded memory, for sweep-wide bound distributions. Values below 1000
// are kept exactly; larger ones are rounded down to three significant
// digits (relative error < 1 %), so a million-seed sweep needs a few
// thousand buckets. The maximum is exact.
#pragma once

#include <cstdint>
#include <map>

#include "sim/scenario/runner.h"

namespace meshd::tools {

class LatencyHistogram {
 public:
  void add(int64_t value);
  // count, p50, p99 (bucket floors, same rank rule as distribution_of), exact max.
  sim::Distribution summary() const;

 private:
  static int64_t bucket_of(int64_t value);
  std::map<int64_t, uint64_t> buckets_;
  uint64_t count_ = 0;
  int64_t max_ = 0;
};

}  // namespace meshd::tools
