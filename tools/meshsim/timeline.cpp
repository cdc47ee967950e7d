#include "tools/meshsim/timeline.h"

#include <fmt/format.h>

#include <cstdio>
#include <map>
#include <set>
#include <utility>

namespace meshd::tools {

using sim::TraceEvent;
using sim::TraceKind;

namespace {

// "a->b dropped_loss" -> "dropped_loss".
std::string last_word(const std::string& s) {
  const size_t sp = s.rfind(' ');
  return sp == std::string::npos ? s : s.substr(sp + 1);
}

// "net.block 3->1" -> ("block", 3, 1); false if not a per-link note.
bool parse_link_note(const std::string& text, std::string& what, uint32_t& from, uint32_t& to) {
  if (text.rfind("net.", 0) != 0) return false;
  const size_t sp = text.find(' ');
  if (sp == std::string::npos) return false;
  what = text.substr(4, sp - 4);
  unsigned a = 0, b = 0;
  if (std::sscanf(text.c_str() + sp + 1, "%u->%u", &a, &b) != 2) return false;
  from = a;
  to = b;
  return true;
}

// An open interval of blocked / clogged links (net_bands).
struct NetBand {
  std::set<std::pair<uint32_t, uint32_t>> links;
  int64_t t0 = -1;
  std::string label;
  std::set<uint32_t> nodes;
};

}  // namespace

nlohmann::json timeline_data(const std::vector<TraceEvent>& events, const TimelineMeta& meta,
                             size_t messages_max) {
  using nlohmann::json;
  uint64_t max_msg = 0;
  for (const auto& ev : events) max_msg = ev.msg > max_msg ? ev.msg : max_msg;
  std::vector<int64_t> row_of(max_msg + 1, -1);  // message id -> row in msgs

  std::vector<int64_t> t0, t1;
  std::vector<uint32_t> from, to, end;
  std::vector<int> fate, reason, flags;
  std::vector<std::string> reasons;
  std::map<std::string, int> reason_index;
  bool truncated = false;

  std::map<std::string, uint64_t> counts = {
      {"sends", 0},   {"delivers", 0}, {"drops", 0},   {"corrupts", 0},   {"duplicates", 0}, {"crashes", 0},
      {"restarts", 0}, {"starts", 0},  {"pauses", 0},  {"resumes", 0},    {"faults", 0},     {"violations", 0},
      {"messages", 0}};

  const size_t nodes = meta.nodes;
  std::vector<int64_t> down_since(nodes, -1), paused_since(nodes, -1);
  json bands = json::array(), net_bands = json::array(), faults = json::array(), violations = json::array();
  auto close_band = [&](size_t node, const char* kind, int64_t& since, int64_t t) {
    if (since < 0) return;
    bands.push_back({{"node", node}, {"kind", kind}, {"t0", since}, {"t1", t}});
    since = -1;
  };
  NetBand blocked, clogged;
  std::string last_world_fault;
  auto close_net = [&](NetBand& b, const char* kind, int64_t t) {
    if (b.t0 < 0) return;
    net_bands.push_back({{"kind", kind}, {"t0", b.t0}, {"t1", t}, {"label", b.label},
                         {"nodes", json(std::vector<uint32_t>(b.nodes.begin(), b.nodes.end()))}});
    b = NetBand{};
  };
  auto net_change = [&](NetBand& b, const char* kind, bool add, uint32_t a, uint32_t z, int64_t t) {
    if (add) {
      if (b.links.empty()) {
        b.t0 = t;
        b.label = last_world_fault;
      }
      b.links.insert({a, z});
      b.nodes.insert(a);
      b.nodes.insert(z);
    } else {
      b.links.erase({a, z});
      if (b.links.empty()) close_net(b, kind, t);
    }
  };
  // Violation texts ("t=8.400s node 0 did not ...") claimed by check events.
  std::vector<bool> text_used(meta.violations.size(), false);

  for (const TraceEvent& ev : events) {
    const bool node_ok = ev.node < nodes;
    switch (ev.kind) {
      case TraceKind::send:
      case TraceKind::duplicate: {
        ++counts[ev.kind == TraceKind::send ? "sends" : "duplicates"];
        ++counts["messages"];
        if (ev.msg == 0 || row_of[ev.msg] >= 0) break;
        if (t0.size() >= messages_max) {
          truncated = true;
          break;
        }
        row_of[ev.msg] = static_cast<int64_t>(t0.size());
        t0.push_back(ev.t_us);
        t1.push_back(-1);
        from.push_back(ev.node);
        to.push_back(ev.peer);
        end.push_back(ev.peer);
        fate.push_back(2);
        reason.push_back(-1);
        flags.push_back(ev.kind == TraceKind::duplicate ? 1 : 0);
        break;
      }
      case TraceKind::deliver:
      case TraceKind::drop: {
        const bool drop = ev.kind == TraceKind::drop;
        ++counts[drop ? "drops" : "delivers"];
        if (ev.msg == 0 || row_of[ev.msg] < 0) break;
        const size_t r = static_cast<size_t>(row_of[ev.msg]);
        t1[r] = ev.t_us;
        end[r] = ev.node;
        fate[r] = drop ? 1 : 0;
        if (drop) {
          const std::string why = last_word(ev.detail);
          auto [it, fresh] = reason_index.emplace(why, static_cast<int>(reasons.size()));
          if (fresh) reasons.push_back(why);
          reason[r] = it->second;
        }
        break;
      }
      case TraceKind::corrupt:
        ++counts["corrupts"];
        if (ev.msg != 0 && row_of[ev.msg] >= 0) flags[static_cast<size_t>(row_of[ev.msg])] |= 2;
        break;
      case TraceKind::node_start:
      case TraceKind::node_restart:
        ++counts[ev.kind == TraceKind::node_start ? "starts" : "restarts"];
        if (node_ok) {
          close_band(ev.node, "down", down_since[ev.node], ev.t_us);
          close_band(ev.node, "paused", paused_since[ev.node], ev.t_us);
        }
        break;
      case TraceKind::node_crash:
        ++counts["crashes"];
        if (node_ok) {
          close_band(ev.node, "paused", paused_since[ev.node], ev.t_us);
          if (down_since[ev.node] < 0) down_since[ev.node] = ev.t_us;
        }
        break;
      case TraceKind::node_pause:
        ++counts["pauses"];
        if (node_ok && paused_since[ev.node] < 0) paused_since[ev.node] = ev.t_us;
        break;
      case TraceKind::node_resume:
        ++counts["resumes"];
        if (node_ok) close_band(ev.node, "paused", paused_since[ev.node], ev.t_us);
        break;
      case TraceKind::fault: {
        ++counts["faults"];
        std::string what;
        uint32_t a = 0, z = 0;
        if (parse_link_note(ev.detail, what, a, z)) {
          if (what == "block" || what == "unblock") net_change(blocked, "block", what == "block", a, z, ev.t_us);
          if (what == "clog" || what == "unclog") net_change(clogged, "clog", what == "clog", a, z, ev.t_us);
          break;
        }
        if (ev.detail == "net.heal_all") {
          close_net(blocked, "block", ev.t_us);
          close_net(clogged, "clog", ev.t_us);
          break;
        }
        if (ev.detail.rfind("net.", 0) == 0) break;  // net.default_link: configuration
        if (ev.node == sim::kWorldNode) last_world_fault = ev.detail;
        faults.push_back({{"t", ev.t_us}, {"node", ev.node == sim::kWorldNode ? -1 : static_cast<int64_t>(ev.node)},
                          {"text", ev.detail}});
        break;
      }
      case TraceKind::check: {
        ++counts["violations"];
        std::string text = ev.detail;
        const std::string prefix = fmt::format("t={:.3f}s node {} ", ev.t_us / 1e6, ev.node);
        for (size_t i = 0; i < meta.violations.size(); ++i) {
          if (!text_used[i] && meta.violations[i].rfind(prefix, 0) == 0) {
            text_used[i] = true;
            text = meta.violations[i];
            break;
          }
        }
        violations.push_back({{"t", ev.t_us}, {"node", ev.node == sim::kWorldNode ? -1 : static_cast<int64_t>(ev.node)},
                              {"text", text}});
        break;
      }
      case TraceKind::timer:
      case TraceKind::log:
        break;
    }
  }
  for (size_t i = 0; i < nodes; ++i) {
    close_band(i, "down", down_since[i], meta.end_us);
    close_band(i, "paused", paused_since[i], meta.end_us);
  }
  close_net(blocked, "block", meta.end_us);
  close_net(clogged, "clog", meta.end_us);
  // Run violations without a check event that still name a time and node
  // ("t=12.345s node 3 marked ..."): red markers too.
  for (size_t i = 0; i < meta.violations.size(); ++i) {
    if (text_used[i]) continue;
    double t = 0;
    unsigned node = 0;
    if (std::sscanf(meta.violations[i].c_str(), "t=%lfs node %u", &t, &node) == 2) {
      violations.push_back({{"t", static_cast<int64_t>(t * 1e6 + 0.5)}, {"node", node}, {"text", meta.violations[i]}});
    }
  }

  json j;
  j["version"] = 1;
  j["scenario"] = meta.scenario;
  j["seed"] = meta.seed;
  j["swarm"] = meta.swarm;
  j["nodes"] = meta.nodes;
  j["end_us"] = meta.end_us;
  j["trace_hash"] = meta.trace_hash;
  j["passed"] = meta.passed;
  j["violation_count"] = meta.violation_count;
  j["counts"] = counts;
  j["messages_max"] = messages_max;
  j["truncated"] = truncated;
  j["reasons"] = reasons;
  j["msgs"] = {{"t0", t0}, {"t1", t1}, {"from", from}, {"to", to}, {"end", end},
               {"fate", fate}, {"reason", reason}, {"flags", flags}};
  j["bands"] = std::move(bands);
  j["net_bands"] = std::move(net_bands);
  j["faults"] = std::move(faults);
  j["violations"] = std::move(violations);
  j["run_violations"] = meta.violations;
  return j;
}

std::string timeline_summary(const nlohmann::json& data) {
  return fmt::format("meshsim timeline: {} nodes, {} messages, {} drops, {} violations",
                     data["nodes"].get<uint64_t>(), data["counts"]["messages"].get<uint64_t>(),
                     data["counts"]["drops"].get<uint64_t>(), data["violations"].size());
}

}  // namespace meshd::tools
