// Writes a recorded simulation trace as Chrome/Perfetto trace-event JSON
// (object form, {"traceEvents": [...]}), timestamps in virtual microseconds:
// one track (tid) per node plus a "world" track (tid kChromeWorldTid).
//
//   send / deliver / duplicate  1 us complete slices ("ph":"X", cat "net"), so
//                               flow arrows can bind to them; every send (and
//                               every duplicate copy) starts a flow ("ph":"s",
//                               cat "msg", id = TraceEvent::msg) that finishes
//                               ("ph":"f", "bp":"e") at its deliver or drop
//   drop                        1 us slice, cat "drop", args.reason (e.g.
//                               dropped_loss, dropped_node_down)
//   corrupt                     instant, cat "corrupt" (the copy's flow goes on)
//   fault, node_crash/restart/  instants, cat "fault", on the node's track and
//   pause/resume                mirrored on the world track (args.node)
//   check (invariant failure)   instant, cat "violation", node track + world
//   timer, log, node_start      instants (cat "timer", "log", "process")
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sim/trace.h"

namespace meshd::tools {
constexpr int64_t kChromeWorldTid = 1'000'000;
bool write_chrome_trace(const std::string& path, const std::vector<sim::TraceEvent>& events,
                        size_t nodes, std::string* error);
}
