// JsonLog: the production meshd::Log — one JSON object per line.
//
// Line format: {"ts":"2026-11-22T05:38:37.123Z","level":"info",
// "event":"peer_up", ...fields}. ts is wall time (Clock::wall_us) in UTC
// with millisecond precision; keys appear in that order, then the event's
// fields. Fields that are not a JSON object are logged under "fields"; a
// field named ts/level/event is renamed "field_<name>" so it cannot forge
// the envelope. Invalid UTF-8 in strings is replaced, never thrown on.
// Each line is written with one fwrite and flushed, so lines from one
// process never interleave. Events below min_level are dropped.
// Ownership: borrows the Clock and the FILE* (default stderr); both must
// outlive the log. Single-threaded.
#pragma once

#include <cstdio>
#include <optional>
#include <string>

#include "core/env/clock.h"
#include "core/env/log.h"

namespace meshd::io {

// "debug" | "info" | "warn" | "error" -> level; nullopt otherwise.
std::optional<LogLevel> parse_log_level(std::string_view name);
// Wall time in microseconds since the epoch -> "YYYY-MM-DDTHH:MM:SS.mmmZ".
std::string format_utc_ms(int64_t wall_us);

class JsonLog final : public Log {
 public:
  explicit JsonLog(const Clock& clock, FILE* out = stderr, LogLevel min_level = LogLevel::info)
      : clock_(clock), out_(out), min_level_(min_level) {}

  bool enabled(LogLevel level) const override { return level >= min_level_; }
  void write(LogLevel level, std::string_view event, const nlohmann::json& fields) override;
  void set_min_level(LogLevel level) { min_level_ = level; }
  LogLevel min_level() const { return min_level_; }

  // The line write() would emit, without the trailing newline (tests).
  std::string format(LogLevel level, std::string_view event, const nlohmann::json& fields) const;

 private:
  const Clock& clock_;
  FILE* out_;
  LogLevel min_level_;
};

}  // namespace meshd::io
