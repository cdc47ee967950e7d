#include "tools/meshsim/chrome_trace.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <fstream>

namespace meshd::tools {

namespace {
// "a->b dropped_loss" -> "dropped_loss" (the detail's last word).
std::string last_word(const std::string& s) {
  const size_t sp = s.rfind(' ');
  return sp == std::string::npos ? s : s.substr(sp + 1);
}
}  // namespace

bool write_chrome_trace(const std::string& path, const std::vector<sim::TraceEvent>& events,
                        size_t nodes, std::string* error) {
  using sim::TraceKind;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) {
    *error = "cannot write " + path;
    return false;
  }
  out << "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n";
  bool first = true;
  auto emit = [&](const nlohmann::json& e) {
    out << (first ? "" : ",\n") << e.dump();
    first = false;
  };
  for (size_t i = 0; i < nodes; ++i) {
    emit({{"ph", "M"}, {"name", "thread_name"}, {"pid", 0}, {"tid", i},
          {"args", {{"name", fmt::format("node {}", i)}}}});
  }
  emit({{"ph", "M"}, {"name", "thread_name"}, {"pid", 0}, {"tid", kChromeWorldTid}, {"args", {{"name", "world"}}}});
  // Which message ids have had their flow started (a finish needs a start).
  uint64_t max_msg = 0;
  for (const auto& ev : events) max_msg = ev.msg > max_msg ? ev.msg : max_msg;
  std::vector<uint8_t> started(max_msg + 1, 0);

  for (const auto& ev : events) {
    const bool world = ev.node == sim::kWorldNode;
    const int64_t tid = world ? kChromeWorldTid : static_cast<int64_t>(ev.node);
    const std::string name(sim::trace_kind_name(ev.kind));
    nlohmann::json args = {{"detail", ev.detail}, {"digest", fmt::format("{:016x}", ev.digest)}};
    if (ev.msg != 0) args["msg"] = ev.msg;
    if (ev.peer != UINT32_MAX) args["peer"] = ev.peer;
    auto slice = [&](const char* cat) {
      emit({{"ph", "X"}, {"pid", 0}, {"tid", tid}, {"ts", ev.t_us}, {"dur", 1}, {"name", name}, {"cat", cat},
            {"args", args}});
    };
    auto instant = [&](const std::string& nm, const char* cat, int64_t on_tid, const nlohmann::json& a) {
      emit({{"ph", "i"}, {"s", "t"}, {"pid", 0}, {"tid", on_tid}, {"ts", ev.t_us}, {"name", nm}, {"cat", cat},
            {"args", a}});
    };
    auto flow = [&](const char* ph) {
      nlohmann::json f = {{"ph", ph}, {"pid", 0}, {"tid", tid}, {"ts", ev.t_us}, {"name", "msg"},
                          {"cat", "msg"}, {"id", ev.msg}};
      if (ph[0] == 'f') f["bp"] = "e";
      emit(f);
    };
    switch (ev.kind) {
      case TraceKind::send:
      case TraceKind::duplicate:
        slice("net");
        if (ev.msg != 0 && ev.msg <= max_msg && !started[ev.msg]) {
          started[ev.msg] = 1;
          flow("s");
        }
        break;
      case TraceKind::deliver:
        slice("net");
        if (ev.msg != 0 && started[ev.msg]) flow("f");
        break;
      case TraceKind::drop:
        args["reason"] = last_word(ev.detail);
        slice("drop");
        if (ev.msg != 0 && started[ev.msg]) flow("f");
        break;
      case TraceKind::corrupt:
        instant(name, "corrupt", tid, args);
        break;
      case TraceKind::fault:
      case TraceKind::node_crash:
      case TraceKind::node_restart:
      case TraceKind::node_pause:
      case TraceKind::node_resume:
      case TraceKind::check: {
        const char* cat = ev.kind == TraceKind::check ? "violation" : "fault";
        // Faults are named by what happened ("crash at 8.000s node 1").
        const std::string nm = ev.kind == TraceKind::fault && !ev.detail.empty() ? ev.detail
                               : ev.kind == TraceKind::check                     ? "violation"
                                                                                 : name;
        instant(nm, cat, tid, args);
        if (!world) {
          nlohmann::json mirrored = args;
          mirrored["node"] = ev.node;
          instant(ev.kind == TraceKind::fault ? nm : fmt::format("{} node {}", nm, ev.node), cat, kChromeWorldTid,
                  mirrored);
        }
        break;
      }
      case TraceKind::node_start:
        instant(name, "process", tid, args);
        break;
      case TraceKind::timer:
      case TraceKind::log:
        instant(name, ev.kind == TraceKind::timer ? "timer" : "log", tid, args);
        break;
    }
  }
  out << "\n]}\n";
  if (!out) {
    *error = "write failed: " + path;
    return false;
  }
  return true;
}

}  // namespace meshd::tools
