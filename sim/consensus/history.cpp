#include "sim/consensus/history.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <tuple>

namespace meshd::sim {

std::string history_json_lines(const std::vector<HistoryOp>& ops, int64_t end_us) {
  struct Line {
    int64_t time_us;
    int kind;  // 0 invoke, 1 completion
    uint64_t process;
    nlohmann::json j;
  };
  std::vector<Line> lines;
  for (const HistoryOp& o : ops) {
    const std::string op(consensus::kv_op_name(o.op));
    nlohmann::json inv = {{"type", "invoke"}, {"process", o.process}, {"time_us", o.invoke_us}, {"key", o.key}, {"op", op}};
    if (o.op != consensus::KvOp::get) inv["value"] = o.value;
    if (o.op == consensus::KvOp::cas) {
      inv["expected"] = o.expected;
      inv["expected_absent"] = o.expected_absent;
    }
    lines.push_back({o.invoke_us, 0, o.process, std::move(inv)});
    nlohmann::json done = {{"type", o.known ? "ok" : "unknown"}, {"process", o.process},
                           {"time_us", o.known ? o.complete_us : end_us}, {"key", o.key}, {"op", op}};
    if (o.known) {
      done["ok"] = o.result_ok;
      done["found"] = o.found ? nlohmann::json(*o.found) : nlohmann::json(nullptr);
    }
    lines.push_back({o.known ? o.complete_us : end_us, 1, o.process, std::move(done)});
  }
  std::stable_sort(lines.begin(), lines.end(), [](const Line& a, const Line& b) {
    return std::tie(a.time_us, a.kind, a.process) < std::tie(b.time_us, b.kind, b.process);
  });
  std::string out;
  for (const Line& l : lines) out += l.j.dump() + "\n";
  return out;
}

}  // namespace meshd::sim
