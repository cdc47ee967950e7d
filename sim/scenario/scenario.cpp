#include "sim/scenario/scenario.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "core/node/config.h"
#include "core/node/json_fields.h"
#include "sim/scenario/membership_bounds.h"

namespace meshd::sim {

namespace {

constexpr std::pair<FaultKind, std::string_view> kFaultNames[] = {
    {FaultKind::crash, "crash"},       {FaultKind::restart, "restart"},
    {FaultKind::pause, "pause"},       {FaultKind::resume, "resume"},
    {FaultKind::wipe, "wipe"},         {FaultKind::partition, "partition"},
    {FaultKind::block, "block"},       {FaultKind::unblock, "unblock"},
    {FaultKind::clog, "clog"},         {FaultKind::unclog, "unclog"},
    {FaultKind::heal, "heal"},         {FaultKind::clock_jump, "clock_jump"},
    {FaultKind::drift, "drift"},       {FaultKind::link, "link"},
    {FaultKind::disk, "disk"},         {FaultKind::leave, "leave"},
};

// Fields of a LinkConfig, shared by "network" and "link" faults.
Status parse_link(const JsonDoc& doc, const nlohmann::json& obj, const std::string& path,
                  LinkConfig& l) {
  if (Status s = doc.get_int(obj, path, "latency_us_min", l.latency_us_min, 0, 60'000'000, false); !s) return s;
  if (Status s = doc.get_int(obj, path, "latency_us_mean", l.latency_us_mean, 0, 60'000'000, false); !s) return s;
  if (Status s = doc.get_int(obj, path, "reorder_delay_us", l.reorder_delay_us, 0, 60'000'000, false); !s) return s;
  if (Status s = doc.get_double(obj, path, "loss", l.loss, 0, 1, false); !s) return s;
  if (Status s = doc.get_double(obj, path, "duplicate", l.duplicate, 0, 1, false); !s) return s;
  if (Status s = doc.get_double(obj, path, "reorder", l.reorder, 0, 1, false); !s) return s;
  if (Status s = doc.get_double(obj, path, "corrupt", l.corrupt, 0, 1, false); !s) return s;
  int64_t queue = static_cast<int64_t>(l.queue_packets_max);
  if (Status s = doc.get_int(obj, path, "queue_packets_max", queue, 1, 1'000'000, false); !s) return s;
  l.queue_packets_max = static_cast<size_t>(queue);
  int64_t mtu = static_cast<int64_t>(l.mtu_bytes);
  if (Status s = doc.get_int(obj, path, "mtu_bytes", mtu, 64, 65'535, false); !s) return s;
  l.mtu_bytes = static_cast<size_t>(mtu);
  return Status::ok();
}

#define LINK_FIELDS "latency_us_min", "latency_us_mean", "reorder_delay_us", "loss", "duplicate", \
                    "reorder", "corrupt", "queue_packets_max", "mtu_bytes"

Status parse_node_list(const JsonDoc& doc, const nlohmann::json& obj, const std::string& path,
                       std::string_view key, size_t nodes, std::vector<size_t>& out) {
  const std::string p = JsonDoc::join(path, key);
  auto it = obj.find(std::string(key));
  if (it == obj.end()) return doc.error(p, "required field missing");
  if (Status s = doc.expect_array(*it, p); !s) return s;
  for (size_t i = 0; i < it->size(); ++i) {
    const auto& v = (*it)[i];
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() >= static_cast<int64_t>(nodes)) {
      return doc.error(JsonDoc::index(p, i), fmt::format("expected a node index in [0, {}]", nodes - 1));
    }
    out.push_back(v.get<size_t>());
  }
  return Status::ok();
}

Status parse_fault(const JsonDoc& doc, const nlohmann::json& f, const std::string& path,
                   const Scenario& sc, Fault& out) {
  if (Status s = doc.expect_object(f, path); !s) return s;
  out.line = doc.line_of(path);
  double at_s = 0;
  if (Status s = doc.get_double(f, path, "at_s", at_s, 0, static_cast<double>(kScenarioDurationSMax), true); !s) return s;
  out.at_us = static_cast<int64_t>(at_s * 1e6 + 0.5);
  std::string kind;
  if (Status s = doc.get_string(f, path, "kind", kind, true); !s) return s;
  auto k = parse_fault_kind(kind);
  if (!k) {
    return doc.error(JsonDoc::join(path, "kind"), "unknown fault kind \"" + kind + "\" (crash, restart, "
                     "pause, resume, wipe, leave, partition, block, unblock, clog, unclog, heal, clock_jump, drift, link, disk)");
  }
  out.kind = *k;
  const int64_t max_node = static_cast<int64_t>(sc.nodes) - 1;
  auto need_node = [&]() { return doc.get_int(f, path, "node", out.node, 0, max_node, true); };
  auto need_pair = [&]() -> Status {
    if (Status s = doc.get_int(f, path, "from", out.from, 0, max_node, true); !s) return s;
    if (Status s = doc.get_int(f, path, "to", out.to, 0, max_node, true); !s) return s;
    if (out.from == out.to) return doc.error(JsonDoc::join(path, "to"), "must differ from 'from'");
    return Status::ok();
  };
  switch (out.kind) {
    case FaultKind::crash: case FaultKind::restart: case FaultKind::pause:
    case FaultKind::resume: case FaultKind::wipe:
      if (Status s = doc.reject_unknown(f, path, {"at_s", "kind", "node"}); !s) return s;
      return need_node();
    case FaultKind::leave:
      if (Status s = doc.reject_unknown(f, path, {"at_s", "kind", "node"}); !s) return s;
      return need_node();
    case FaultKind::partition: {
      if (Status s = doc.reject_unknown(f, path, {"at_s", "kind", "a", "b"}); !s) return s;
      if (Status s = parse_node_list(doc, f, path, "a", sc.nodes, out.side_a); !s) return s;
      if (Status s = parse_node_list(doc, f, path, "b", sc.nodes, out.side_b); !s) return s;
      for (size_t a : out.side_a) {
        if (std::find(out.side_b.begin(), out.side_b.end(), a) != out.side_b.end()) {
          return doc.error(JsonDoc::join(path, "b"), fmt::format("node {} is on both sides", a));
        }
      }
      return Status::ok();
    }
    case FaultKind::block: case FaultKind::unblock: case FaultKind::clog: case FaultKind::unclog:
      if (Status s = doc.reject_unknown(f, path, {"at_s", "kind", "from", "to"}); !s) return s;
      return need_pair();
    case FaultKind::heal:
      return doc.reject_unknown(f, path, {"at_s", "kind"});
    case FaultKind::clock_jump: {
      if (Status s = doc.reject_unknown(f, path, {"at_s", "kind", "node", "delta_ms"}); !s) return s;
      if (Status s = need_node(); !s) return s;
      int64_t delta_ms = 0;
      if (Status s = doc.get_int(f, path, "delta_ms", delta_ms, -365LL * 86'400'000, 365LL * 86'400'000, true); !s) return s;
      out.delta_us = delta_ms * 1000;
      return Status::ok();
    }
    case FaultKind::drift:
      if (Status s = doc.reject_unknown(f, path, {"at_s", "kind", "node", "ppm"}); !s) return s;
      if (Status s = need_node(); !s) return s;
      return doc.get_int(f, path, "ppm", out.drift_ppm, -100'000, 100'000, true);
    case FaultKind::link:
      if (Status s = doc.reject_unknown(f, path, {"at_s", "kind", "from", "to", LINK_FIELDS}); !s) return s;
      if (Status s = need_pair(); !s) return s;
      out.link = sc.network;
      return parse_link(doc, f, path, out.link);
    case FaultKind::disk: {
      if (Status s = doc.reject_unknown(f, path, {"at_s", "kind", "node", "read_bitrot", "write_eio",
                                                  "fsync_eio", "capacity_bytes", "latency_us"}); !s) return s;
      if (Status s = need_node(); !s) return s;
      if (Status s = doc.get_double(f, path, "read_bitrot", out.disk.read_bitrot, 0, 1, false); !s) return s;
      if (Status s = doc.get_double(f, path, "write_eio", out.disk.write_eio, 0, 1, false); !s) return s;
      if (Status s = doc.get_double(f, path, "fsync_eio", out.disk.fsync_eio, 0, 1, false); !s) return s;
      int64_t cap = -1;
      if (Status s = doc.get_int(f, path, "capacity_bytes", cap, 0, INT64_MAX, false); !s) return s;
      if (cap >= 0) out.disk.capacity_bytes = static_cast<uint64_t>(cap);
      return doc.get_int(f, path, "latency_us", out.disk.latency_us, 0, 10'000'000, false);
    }
  }
  return Status::ok();
}

}  // namespace

std::string_view fault_kind_name(FaultKind kind) {
  for (const auto& [k, name] : kFaultNames) {
    if (k == kind) return name;
  }
  return "unknown";
}

std::optional<FaultKind> parse_fault_kind(std::string_view name) {
  for (const auto& [k, n] : kFaultNames) {
    if (n == name) return k;
  }
  return std::nullopt;
}

Result<Scenario> parse_scenario(std::string_view json_text, std::string_view what) {
  auto doc = JsonDoc::parse(json_text, what);
  if (!doc) return doc.status();
  const nlohmann::json& root = doc->root();
  if (Status s = doc->expect_object(root, ""); !s) return s;
  // "plan": provenance of a realized fault plan (sim/scenario/plan.h); not
  // part of the scenario's behaviour, so it is accepted and ignored here.
  // "must_reach": a sweep's coverage demand (tools/meshsim/coverage.h),
  // checked by `meshsim sweep`, not by a run.
  if (Status s = doc->reject_unknown(root, "", {"name", "description", "nodes", "duration_s", "liveness",
                                               "network", "clocks", "faults", "invariants", "plan", "membership",
                                               "security", "attackers", "member_attackers", "buggify", "must_reach",
                                               "storage", "raft"});
      !s) {
    return s;
  }
  Scenario sc;
  if (Status s = doc->get_string(root, "", "name", sc.name, true); !s) return s;
  if (Status s = doc->get_string(root, "", "description", sc.description, false); !s) return s;
  int64_t nodes = 0;
  if (Status s = doc->get_int(root, "", "nodes", nodes, 1, kScenarioNodesMax, true); !s) return s;
  sc.nodes = static_cast<size_t>(nodes);
  double duration_s = 0;
  if (Status s = doc->get_double(root, "", "duration_s", duration_s, 0.001, kScenarioDurationSMax, true); !s) return s;
  sc.duration_us = static_cast<int64_t>(duration_s * 1e6 + 0.5);

  if (auto it = root.find("liveness"); it != root.end()) {
    const std::string p = "liveness";
    sc.liveness_block = true;
    if (Status s = doc->expect_object(*it, p); !s) return s;
    if (Status s = doc->reject_unknown(*it, p, {"ping_interval_ms", "ping_jitter_percent", "down_after_ms"}); !s) return s;
    auto& l = sc.liveness;
    if (Status s = doc->get_int(*it, p, "ping_interval_ms", l.ping_interval_ms, 10, 600'000, false); !s) return s;
    if (Status s = doc->get_int(*it, p, "ping_jitter_percent", l.ping_jitter_percent, 0, 50, false); !s) return s;
    if (Status s = doc->get_int(*it, p, "down_after_ms", l.down_after_ms, 10, 3'600'000, false); !s) return s;
    if (l.down_after_ms <= l.ping_interval_ms) {
      return doc->error("liveness.down_after_ms", "must be greater than ping_interval_ms");
    }
  }
  if (auto it = root.find("membership"); it != root.end()) {
    if (Status s = doc->expect_object(*it, "membership"); !s) return s;
    if (Status s = doc->reject_unknown(*it, "membership", {MESHD_SWIM_KNOB_FIELDS}); !s) return s;
    membership::SwimConfig swim;
    if (Status s = parse_swim_knobs(*doc, *it, "membership", swim); !s) return s;
    sc.membership = swim;
  }
  if (auto it = root.find("network"); it != root.end()) {
    if (Status s = doc->expect_object(*it, "network"); !s) return s;
    if (Status s = doc->reject_unknown(*it, "network", {LINK_FIELDS}); !s) return s;
    if (Status s = parse_link(*doc, *it, "network", sc.network); !s) return s;
  }
  if (auto it = root.find("clocks"); it != root.end()) {
    if (Status s = doc->expect_object(*it, "clocks"); !s) return s;
    if (Status s = doc->reject_unknown(*it, "clocks", {"offset_ms_max", "drift_ppm_max"}); !s) return s;
    int64_t offset_ms = 0;
    if (Status s = doc->get_int(*it, "clocks", "offset_ms_max", offset_ms, 0, 86'400'000, false); !s) return s;
    sc.clock_offset_us_max = offset_ms * 1000;
    if (Status s = doc->get_int(*it, "clocks", "drift_ppm_max", sc.clock_drift_ppm_max, 0, 100'000, false); !s) return s;
  }
  if (auto it = root.find("faults"); it != root.end()) {
    if (Status s = doc->expect_array(*it, "faults"); !s) return s;
    if (it->size() > kScenarioFaultsMax) return doc->error("faults", "too many faults (limit 10000)");
    for (size_t i = 0; i < it->size(); ++i) {
      Fault f;
      const std::string p = JsonDoc::index("faults", i);
      if (Status s = parse_fault(*doc, (*it)[i], p, sc, f); !s) return s;
      if (f.at_us > sc.duration_us) return doc->error(JsonDoc::join(p, "at_s"), "after the end of the run (duration_s)");
      sc.faults.push_back(std::move(f));
    }
    std::stable_sort(sc.faults.begin(), sc.faults.end(),
                     [](const Fault& a, const Fault& b) { return a.at_us < b.at_us; });
  }
  if (auto it = root.find("invariants"); it != root.end()) {
    const std::string p = "invariants";
    if (Status s = doc->expect_object(*it, p); !s) return s;
    if (Status s = doc->reject_unknown(*it, p, {"detect_down_within_ms", "detect_up_within_ms", "no_false_down",
                                                "membership"}); !s) return s;
    int64_t down_ms = 0, up_ms = 0;
    if (Status s = doc->get_int(*it, p, "detect_down_within_ms", down_ms, 1, 3'600'000, false); !s) return s;
    if (Status s = doc->get_int(*it, p, "detect_up_within_ms", up_ms, 1, 3'600'000, false); !s) return s;
    if (Status s = doc->get_bool(*it, p, "no_false_down", sc.invariants.no_false_down, false); !s) return s;
    sc.invariants.detect_down_within_us = down_ms * 1000;
    sc.invariants.detect_up_within_us = up_ms * 1000;
    if (auto m = it->find("membership"); m != it->end()) {
      const std::string mp = "invariants.membership";
      if (!sc.membership) return doc->error(mp, "needs a top-level \"membership\" block");
      if (Status s = doc->expect_object(*m, mp); !s) return s;
      if (Status s = doc->reject_unknown(*m, mp, {"detect_failed_within_ms", "leave_within_ms", "converge_within_ms",
                                                  "rejoin_within_ms", "flaps_max", "no_false_failed",
                                                  "derive_unset_bounds"}); !s) return s;
      MembershipInvariants& mi = sc.invariants.membership;
      int64_t failed_ms = 0, leave_ms = 0, converge_ms = 0, rejoin_ms = 0;
      if (Status s = doc->get_int(*m, mp, "detect_failed_within_ms", failed_ms, 1, 3'600'000, false); !s) return s;
      if (Status s = doc->get_int(*m, mp, "leave_within_ms", leave_ms, 1, 3'600'000, false); !s) return s;
      if (Status s = doc->get_int(*m, mp, "converge_within_ms", converge_ms, 1, 3'600'000, false); !s) return s;
      if (Status s = doc->get_int(*m, mp, "rejoin_within_ms", rejoin_ms, 1, 3'600'000, false); !s) return s;
      if (Status s = doc->get_int(*m, mp, "flaps_max", mi.flaps_max, 0, 1'000'000, false); !s) return s;
      if (Status s = doc->get_bool(*m, mp, "no_false_failed", mi.no_false_failed, false); !s) return s;
      if (Status s = doc->get_bool(*m, mp, "derive_unset_bounds", mi.derive_unset, false); !s) return s;
      mi.detect_failed_within_us = failed_ms * 1000;
      // Without derivation the bounds are exactly those written (a swarm
      // plan replays what its run checked); with it, leave and rejoin
      // default to their neighbours as documented.
      const bool defaults = mi.derive_unset;
      mi.leave_within_us = (leave_ms > 0 ? leave_ms : defaults ? failed_ms : 0) * 1000;
      mi.converge_within_us = converge_ms * 1000;
      mi.rejoin_within_us = (rejoin_ms > 0 ? rejoin_ms : defaults ? converge_ms : 0) * 1000;
    }
  }
  if (auto it = root.find("buggify"); it != root.end()) {
    if (Status s = doc->expect_object(*it, "buggify"); !s) return s;
    if (Status s = doc->reject_unknown(*it, "buggify", {"enable_percent", "fire_percent"}); !s) return s;
    if (Status s = doc->get_int(*it, "buggify", "enable_percent", sc.buggify.enable_percent, 0, 100, true); !s) return s;
    if (Status s = doc->get_int(*it, "buggify", "fire_percent", sc.buggify.fire_percent, 0, 100, true); !s) return s;
  }
  if (Status s = parse_security_spec(*doc, root, sc.nodes, sc.duration_us, sc.security); !s) return s;
  if (sc.membership && sc.invariants.membership.derive_unset) {
    // Bounds the file leaves out follow from the SWIM timing it sets.
    const int64_t retry_us = sc.security.plaintext ? 0 : sc.security.retry_max_ms * 1000;
    fill_membership_bounds(derive_membership_bounds(*sc.membership, sc.nodes, retry_us), sc.invariants.membership);
  }
  if (auto it = root.find("storage"); it != root.end()) {
    StorageSpec storage;
    if (Status s = parse_storage_spec(*doc, *it, "storage", storage); !s) return s;
    sc.storage = storage;
  }
  if (auto it = root.find("raft"); it != root.end()) {
    RaftSpec raft;
    if (Status s = parse_raft_spec(*doc, *it, "raft", raft); !s) return s;
    if (static_cast<int64_t>(sc.nodes) <= raft.voters) return doc->error("raft.voters", "must leave at least one client node");
    if ((raft.storm.end_ms + raft.leader_within_ms) * 1000 > sc.duration_us) {
      return doc->error("raft.leader_within_ms", "storm.end_ms + leader_within_ms must fit in duration_s");
    }
    sc.raft = raft;
  }
  return sc;
}

bool runs_liveness_probe(const Scenario& sc) {
  return sc.liveness_block || sc.invariants.detect_down_within_us > 0 || sc.invariants.detect_up_within_us > 0;
}

Result<Scenario> load_scenario_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(Errc::not_found, path + ": cannot open scenario file");
  std::ostringstream buf;
  buf << in.rdbuf();
  std::string text = buf.str();
  if (text.size() > kJsonTextBytesMax) return Status(Errc::too_large, path + ": scenario file too large");
  return parse_scenario(text, path);
}

}  // namespace meshd::sim
