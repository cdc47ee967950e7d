#include "core/env/metrics.h"

#include <fmt/format.h>

#include "core/env/assert.h"

namespace meshd {

namespace {
std::string_view family_of(std::string_view series) {
  const size_t brace = series.find('{');
  return brace == std::string_view::npos ? series : series.substr(0, brace);
}
}  // namespace

uint64_t& Metrics::counter(std::string_view series, std::string_view help) {
  MESHD_ASSERT(counters_.size() + gauges_.size() < kSeriesMax || counters_.count(series));
  if (!help.empty()) help_[std::string(family_of(series))] = std::string(help);
  auto it = counters_.find(series);
  if (it == counters_.end()) it = counters_.emplace(std::string(series), 0).first;
  return it->second;
}

int64_t& Metrics::gauge(std::string_view series, std::string_view help) {
  MESHD_ASSERT(counters_.size() + gauges_.size() < kSeriesMax || gauges_.count(series));
  if (!help.empty()) help_[std::string(family_of(series))] = std::string(help);
  auto it = gauges_.find(series);
  if (it == gauges_.end()) it = gauges_.emplace(std::string(series), 0).first;
  return it->second;
}

int64_t Metrics::value(std::string_view series) const {
  if (auto it = counters_.find(series); it != counters_.end()) return static_cast<int64_t>(it->second);
  if (auto it = gauges_.find(series); it != gauges_.end()) return it->second;
  return 0;
}

std::string Metrics::render_prometheus() const {
  std::string out;
  std::string last_family;
  auto emit = [&](std::string_view series, std::string_view type, std::string value) {
    std::string_view family = family_of(series);
    if (family != last_family) {
      last_family = std::string(family);
      if (auto h = help_.find(family); h != help_.end()) {
        out += fmt::format("# HELP {} {}\n", family, h->second);
      }
      out += fmt::format("# TYPE {} {}\n", family, type);
    }
    out += fmt::format("{} {}\n", series, value);
  };
  for (const auto& [series, v] : counters_) emit(series, "counter", std::to_string(v));
  for (const auto& [series, v] : gauges_) emit(series, "gauge", std::to_string(v));
  return out;
}

}  // namespace meshd
