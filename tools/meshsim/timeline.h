// `meshsim timeline`: turns a recorded run into one self-contained HTML page
// (a message-sequence chart, tools/meshsim/timeline_html.cpp) whose data is
// the JSON built here from the trace (sim/trace.h, TraceEvent::msg links a
// send to its deliver or drop).
//
// Data (embedded as <script type="application/json" id="meshsim-data">):
//   scenario, seed, swarm, nodes, end_us, trace_hash, passed, violation_count
//   counts      every event kind over the whole run (never truncated):
//               sends, delivers, drops, corrupts, duplicates, crashes,
//               restarts, starts, pauses, resumes, faults, violations (check
//               events), messages (= sends + duplicates: one per flow start)
//   msgs        columns, one row per message in start order: t0, t1 (-1: still
//               in flight or held at the end), from, to, end (node where it
//               ended), fate (0 delivered, 1 dropped, 2 in flight), reason
//               (index into `reasons`, -1), flags (1 duplicate copy, 2 corrupted)
//   truncated, messages_max: at most messages_max rows are kept
//   bands       node intervals: {node, kind: "down"|"paused", t0, t1}
//   net_bands   intervals with any blocked ("block") or clogged ("clog")
//               link: {kind, t0, t1, label, nodes: [...]} 
//   faults      {t, node (-1: world), text} (per-link net.* notes excluded)
//   violations  red markers {t, node, text}: every `check` event, plus run
//               violations whose text names a time and node but had no event
//   run_violations  the run's violation texts as reported
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "sim/trace.h"

namespace meshd::tools {

constexpr size_t kTimelineMessagesMax = 200'000;

struct TimelineMeta {
  std::string scenario;
  uint64_t seed = 0;
  bool swarm = false;
  size_t nodes = 0;
  int64_t end_us = 0;
  std::string trace_hash;
  bool passed = true;
  std::vector<std::string> violations;
  uint64_t violation_count = 0;
};

nlohmann::json timeline_data(const std::vector<sim::TraceEvent>& events, const TimelineMeta& meta,
                             size_t messages_max = kTimelineMessagesMax);

// "meshsim timeline: N nodes, M messages, K drops, V violations" — the same
// line the page computes in JavaScript from the embedded data.
std::string timeline_summary(const nlohmann::json& data);

// The complete page: the template with `data` embedded (timeline_html.cpp).
std::string timeline_html(const nlohmann::json& data);

}  // namespace meshd::tools
