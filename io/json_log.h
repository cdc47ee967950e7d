// JsonLog: the production meshd::Log — one JSON object per line.
//
// Line schema (stable; docs/operator.md, "Logs"): exactly these five keys,
// in this order:
//   {"time":"2026-11-22T05:38:37.123Z","level":"info","event":"member_failed",
//    "node":"n1","fields":{...}}
// time is wall time (Clock::wall_us) in UTC with millisecond precision;
// level is debug|info|warn|error; event a stable snake_case name; node the
// configured node name (null before the config is read); fields the
// event's own object ({} if none; a non-object value is wrapped as
// {"value": ...}). Fields live under "fields", so none can forge the
// envelope. Invalid UTF-8 in strings is replaced, never thrown on.
// Each line is written with one fwrite and flushed, so lines from one
// process never interleave. Events below min_level are dropped.
// Ownership: borrows the Clock and the FILE* (default stderr); both must
// outlive the log. Single-threaded.
#pragma once

#include <cstdio>
#include <functional>
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
  // The envelope's "node" (empty: null).
  void set_node(std::string name) { node_ = std::move(name); }
  // Sees every line written (after the level filter): meshd's verdict record.
  using Tap = std::function<void(LogLevel, std::string_view event, const nlohmann::json& fields)>;
  void set_tap(Tap tap) { tap_ = std::move(tap); }

  // The line write() would emit, without the trailing newline (tests).
  std::string format(LogLevel level, std::string_view event, const nlohmann::json& fields) const;

 private:
  const Clock& clock_;
  FILE* out_;
  LogLevel min_level_;
  std::string node_;
  Tap tap_;
};

}  // namespace meshd::io
