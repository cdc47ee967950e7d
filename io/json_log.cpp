#include "io/json_log.h"

#include <time.h>

#include <fmt/format.h>

namespace meshd::io {

std::optional<LogLevel> parse_log_level(std::string_view name) {
  for (LogLevel level : {LogLevel::debug, LogLevel::info, LogLevel::warn, LogLevel::error}) {
    if (log_level_name(level) == name) return level;
  }
  return std::nullopt;
}

std::string format_utc_ms(int64_t wall_us) {
  // Floor division so times before the epoch still format sensibly.
  int64_t seconds = wall_us / kMicrosPerSecond;
  int64_t micros = wall_us % kMicrosPerSecond;
  if (micros < 0) {
    micros += kMicrosPerSecond;
    --seconds;
  }
  const time_t t = static_cast<time_t>(seconds);
  tm utc{};
  gmtime_r(&t, &utc);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", utc.tm_year + 1900,
                     utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                     micros / kMicrosPerMilli);
}

std::string JsonLog::format(LogLevel level, std::string_view event,
                            const nlohmann::json& fields) const {
  nlohmann::ordered_json line;
  line["time"] = format_utc_ms(clock_.wall_us());
  line["level"] = std::string(log_level_name(level));
  line["event"] = std::string(event);
  line["node"] = node_.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(node_);
  if (fields.is_object()) {
    line["fields"] = fields;
  } else if (fields.is_null()) {
    line["fields"] = nlohmann::ordered_json::object();
  } else {
    line["fields"] = {{"value", fields}};
  }
  return line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

void JsonLog::write(LogLevel level, std::string_view event, const nlohmann::json& fields) {
  if (!enabled(level)) return;
  std::string text = format(level, event, fields);
  text += '\n';
  // Logging must never take the node down: a failed write is dropped.
  (void)std::fwrite(text.data(), 1, text.size(), out_);
  (void)std::fflush(out_);
  if (tap_) tap_(level, event, fields);
}

}  // namespace meshd::io
