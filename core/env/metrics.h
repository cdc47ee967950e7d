// Metrics: a node's counters and gauges, rendered as Prometheus text.
//
// Components register a series once (at construction) and keep the
// returned handle; incrementing is a plain add on the hot path. Series are
// kept in a std::map so rendering order is deterministic. Series names
// follow Prometheus conventions: meshd_<subsystem>_<what>_<unit|total>,
// with an optional label set: meshd_packets_dropped_total{reason="replay"}.
// The number of series is bounded (kSeriesMax); registering beyond it is a
// programming error (asserted), because series are fixed at build time.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace meshd {

class Metrics {
 public:
  static constexpr size_t kSeriesMax = 4096;

  // Handles stay valid for the Metrics' lifetime (std::map nodes are stable).
  uint64_t& counter(std::string_view series, std::string_view help = {});
  int64_t& gauge(std::string_view series, std::string_view help = {});
  // Current value of a counter or gauge; 0 if unregistered.
  int64_t value(std::string_view series) const;
  std::string render_prometheus() const;
  const std::map<std::string, uint64_t, std::less<>>& counters() const { return counters_; }
  const std::map<std::string, int64_t, std::less<>>& gauges() const { return gauges_; }

 private:
  std::map<std::string, uint64_t, std::less<>> counters_;
  std::map<std::string, int64_t, std::less<>> gauges_;
  std::map<std::string, std::string, std::less<>> help_;  // by metric family name
};

}  // namespace meshd
