// Writes a recorded simulation trace as Chrome/Perfetto trace-event JSON:
// one track (tid) per node plus a "world" track, one instant event per
// trace event, timestamps in virtual microseconds.
#pragma once

#include <string>
#include <vector>

#include "sim/trace.h"

namespace meshd::tools {
bool write_chrome_trace(const std::string& path, const std::vector<sim::TraceEvent>& events,
                        size_t nodes, std::string* error);
}
