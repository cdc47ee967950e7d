// Log: structured events, one JSON object per event.
//
// Events have a stable snake_case name and typed fields; no free-form
// printf lines. Nothing on a per-packet path logs at info or above: per
// packet outcomes are counters (metrics.h). The sink decides where events
// go: io/ writes JSON lines to stderr, sim/ folds them into the trace.
#pragma once

#include <nlohmann/json.hpp>

#include <string_view>

namespace meshd {

enum class LogLevel : uint8_t { debug = 0, info = 1, warn = 2, error = 3 };
std::string_view log_level_name(LogLevel level);

class Log {
 public:
  virtual ~Log() = default;
  virtual bool enabled(LogLevel level) const = 0;
  virtual void write(LogLevel level, std::string_view event, const nlohmann::json& fields) = 0;

  void debug(std::string_view event, const nlohmann::json& fields = {}) { emit(LogLevel::debug, event, fields); }
  void info(std::string_view event, const nlohmann::json& fields = {}) { emit(LogLevel::info, event, fields); }
  void warn(std::string_view event, const nlohmann::json& fields = {}) { emit(LogLevel::warn, event, fields); }
  void error(std::string_view event, const nlohmann::json& fields = {}) { emit(LogLevel::error, event, fields); }

 private:
  void emit(LogLevel level, std::string_view event, const nlohmann::json& fields) {
    if (enabled(level)) write(level, event, fields);
  }
};

// Discards everything (tests, benchmarks).
class NullLog final : public Log {
 public:
  bool enabled(LogLevel) const override { return false; }
  void write(LogLevel, std::string_view, const nlohmann::json&) override {}
};

}  // namespace meshd
