#include "sim/scenario/monotonic_oracle.h"

#include <fmt/format.h>

#include "sim/scenario/oracle.h"

namespace meshd::sim {

void MonotonicOracle::violate(std::string text) {
  ++violation_count_;
  if (violations_.size() < kViolationsMax) violations_.push_back(std::move(text));
}

void MonotonicOracle::on_boot(const Boot& b) {
  ++boots_;
  auto it = last_.find(b.node);
  if (it != last_.end() && it->second.identity == b.identity && b.boot <= it->second.boot) {
    if (b.record_may_be_unreadable && b.boot >= 2) {
      ++excused_;
    } else {
      violate(fmt::format(
          "[monotonic] incarnation did not increase: node {} boot {} → {} after restart at t={:.3f}s (rule: a "
          "node's boot count strictly increases across restarts while it keeps its identity; previous boot at "
          "t={:.3f}s{})",
          b.node, it->second.boot, b.boot, static_cast<double>(b.at_us) / 1e6,
          static_cast<double>(it->second.at_us) / 1e6,
          b.record_may_be_unreadable ? "; a recovery from an unreadable record never yields 1" : ""));
    }
  }
  last_[b.node] = b;
}

}  // namespace meshd::sim
