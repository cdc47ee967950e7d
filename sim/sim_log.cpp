#include "sim/sim_log.h"

#include <fmt/format.h>

#include <cstdio>

#include "sim/world.h"

namespace meshd::sim {

bool SimLog::enabled(LogLevel level) const { return level >= world_.log_level(); }

void SimLog::write(LogLevel level, std::string_view event, const nlohmann::json& fields) {
  const std::string body = fields.is_null() ? std::string() : fields.dump();
  const uint64_t digest = digest_text(event) ^ mix64(digest_text(body) + static_cast<uint8_t>(level));
  Trace& trace = world_.trace();
  if (trace.wants_detail() || world_.log_stderr()) {
    std::string line = fmt::format("{} {} {}", log_level_name(level), event, body);
    if (world_.log_stderr()) {
      fmt::print(stderr, "{{\"t_us\":{},\"node\":{},\"level\":\"{}\",\"event\":\"{}\",\"fields\":{}}}\n",
                 world_.now_us(), node_, log_level_name(level), event,
                 body.empty() ? "{}" : body);
    }
    trace.record(world_.now_us(), node_, TraceKind::log, digest, line);
    return;
  }
  trace.record(world_.now_us(), node_, TraceKind::log, digest);
}

}  // namespace meshd::sim
