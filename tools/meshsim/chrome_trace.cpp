#include "tools/meshsim/chrome_trace.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <fstream>

namespace meshd::tools {

bool write_chrome_trace(const std::string& path, const std::vector<sim::TraceEvent>& events,
                        size_t nodes, std::string* error) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) {
    *error = "cannot write " + path;
    return false;
  }
  constexpr int64_t kWorldTid = 1'000'000;
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
  emit({{"ph", "M"}, {"name", "thread_name"}, {"pid", 0}, {"tid", kWorldTid}, {"args", {{"name", "world"}}}});
  for (const auto& ev : events) {
    const int64_t tid = ev.node == sim::kWorldNode ? kWorldTid : static_cast<int64_t>(ev.node);
    emit({{"ph", "i"}, {"s", "t"}, {"pid", 0}, {"tid", tid}, {"ts", ev.t_us},
          {"name", std::string(sim::trace_kind_name(ev.kind))},
          {"args", {{"detail", ev.detail}, {"digest", fmt::format("{:016x}", ev.digest)}}}});
  }
  out << "\n]}\n";
  if (!out) {
    *error = "write failed: " + path;
    return false;
  }
  return true;
}

}  // namespace meshd::tools
