// Metrics: a node's counters and gauges, rendered as Prometheus text.
//
// Components register a series once (at construction) and keep the
// returned handle; incrementing is a plain add on the hot path. Series are
// kept in a std::map so rendering order is deterministic. Series names
// follow Prometheus conventions: meshd_<subsystem>_<what>_<unit|total>,
// with an optional label set: meshd_packets_dropped_total{reason="replay"}.
// The number of series is bounded (kSeriesMax); registering beyond it is a
// programming error (asserted), because series are fixed at build time.
// Prefer the typed keys (metric_key.h) over strings: a key is spelt once,
// so a reader cannot silently read a series nobody writes.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "core/env/metric_key.h"

namespace meshd {

class Metrics {
 public:
  static constexpr size_t kSeriesMax = 4096;

  // Handles stay valid for the Metrics' lifetime (std::map nodes are stable).
  uint64_t& counter(std::string_view series, std::string_view help = {});
  int64_t& gauge(std::string_view series, std::string_view help = {});
  uint64_t& counter(const CounterKey& key) { return counter(key.series, key.help); }
  int64_t& gauge(const GaugeKey& key) { return gauge(key.series, key.help); }
  template <class Label>
  uint64_t& counter(const CounterFamily<Label>& family, Label value) {
    return counter(family.series(value), family.help);
  }
  // Current value of a counter or gauge; 0 if unregistered.
  int64_t value(std::string_view series) const;
  int64_t value(const CounterKey& key) const { return value(key.series); }
  int64_t value(const GaugeKey& key) const { return value(key.series); }
  template <class Label>
  int64_t value(const CounterFamily<Label>& family, Label v) const {
    return value(family.series(v));
  }
  // True if the series was registered (tests: a key nobody registers is a bug).
  bool has(std::string_view series) const { return counters_.count(series) + gauges_.count(series) != 0; }
  std::string render_prometheus() const;
  const std::map<std::string, uint64_t, std::less<>>& counters() const { return counters_; }
  const std::map<std::string, int64_t, std::less<>>& gauges() const { return gauges_; }

 private:
  std::map<std::string, uint64_t, std::less<>> counters_;
  std::map<std::string, int64_t, std::less<>> gauges_;
  std::map<std::string, std::string, std::less<>> help_;  // by metric family name
};

}  // namespace meshd
