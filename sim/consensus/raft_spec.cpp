#include "sim/consensus/raft_spec.h"

#include "core/consensus/kv.h"

namespace meshd::sim {

std::string_view storm_kind_name(StormKind k) {
  switch (k) {
    case StormKind::partition_flip: return "partition_flip";
    case StormKind::isolate_leader: return "isolate_leader";
    case StormKind::one_way_leader: return "one_way_leader";
    case StormKind::pause_leader: return "pause_leader";
    case StormKind::fsync_spike: return "fsync_spike";
    case StormKind::crash_leader: return "crash_leader";
    case StormKind::crash_voter: return "crash_voter";
    case StormKind::drift: return "drift";
    case StormKind::isolate_follower: return "isolate_follower";
  }
  return "invalid";
}

namespace {
Status parse_storm(const JsonDoc& doc, const nlohmann::json& obj, const std::string& path, RaftStorm& out) {
  if (Status s = doc.expect_object(obj, path); !s) return s;
  if (Status s = doc.reject_unknown(obj, path, {"start_ms", "end_ms", "interval_ms_min", "interval_ms_max", "kinds",
                                                "fsync_spike_us", "down_ms_max"}); !s) return s;
  if (Status s = doc.get_int(obj, path, "start_ms", out.start_ms, 0, 3'600'000, true); !s) return s;
  if (Status s = doc.get_int(obj, path, "end_ms", out.end_ms, out.start_ms, 3'600'000, true); !s) return s;
  if (Status s = doc.get_int(obj, path, "interval_ms_min", out.interval_ms_min, 1, 3'600'000, false); !s) return s;
  if (Status s = doc.get_int(obj, path, "interval_ms_max", out.interval_ms_max, out.interval_ms_min, 3'600'000, false); !s) {
    return s;
  }
  if (Status s = doc.get_int(obj, path, "fsync_spike_us", out.fsync_spike_us, 0, 10'000'000, false); !s) return s;
  if (Status s = doc.get_int(obj, path, "down_ms_max", out.down_ms_max, 0, 3'600'000, false); !s) return s;
  auto it = obj.find("kinds");
  if (it == obj.end()) return doc.error(JsonDoc::join(path, "kinds"), "required");
  const std::string kp = JsonDoc::join(path, "kinds");
  if (Status s = doc.expect_array(*it, kp); !s) return s;
  if (it->empty()) return doc.error(kp, "needs at least one kind");
  for (size_t i = 0; i < it->size(); ++i) {
    const auto& v = (*it)[i];
    bool found = false;
    for (size_t k = 0; k < kStormKinds && v.is_string(); ++k) {
      if (storm_kind_name(static_cast<StormKind>(k)) == v.get<std::string>()) {
        out.kinds.push_back(static_cast<StormKind>(k));
        found = true;
      }
    }
    if (!found) {
      return doc.error(kp + "[" + std::to_string(i) + "]",
                       "expected partition_flip, isolate_leader, one_way_leader, pause_leader, fsync_spike, "
                       "crash_leader, crash_voter, drift or isolate_follower");
    }
  }
  return Status::ok();
}
}  // namespace

Status parse_raft_spec(const JsonDoc& doc, const nlohmann::json& obj, const std::string& path, RaftSpec& out) {
  if (Status s = doc.expect_object(obj, path); !s) return s;
  if (Status s = doc.reject_unknown(obj, path, {"voters", "heartbeat_ms", "election_timeout_ms", "pre_vote",
                                                "check_quorum", "inflight_max", "keys", "op_interval_ms",
                                                "client_timeout_ms", "read_percent", "cas_percent", "value_bytes", "fsync_latency_us",
                                                "drift_ppm_max", "crash_after_vote_percent", "leader_within_ms",
                                                "elections_max", "storm"}); !s) return s;
  const auto voters_max = static_cast<int64_t>(consensus::kVotersMax);
  if (Status s = doc.get_int(obj, path, "voters", out.voters, 1, voters_max, true); !s) return s;
  if (Status s = doc.get_int(obj, path, "heartbeat_ms", out.heartbeat_ms, 1, 60'000, false); !s) return s;
  if (Status s = doc.get_int(obj, path, "election_timeout_ms", out.election_timeout_ms, out.heartbeat_ms + 1, 600'000,
                             false); !s) return s;
  if (Status s = doc.get_bool(obj, path, "pre_vote", out.pre_vote, false); !s) return s;
  if (Status s = doc.get_bool(obj, path, "check_quorum", out.check_quorum, false); !s) return s;
  if (Status s = doc.get_int(obj, path, "inflight_max", out.inflight_max, 1,
                             static_cast<int64_t>(consensus::kInflightAppendsMax), false); !s) return s;
  if (Status s = doc.get_int(obj, path, "keys", out.keys, 1, 1000, false); !s) return s;
  if (Status s = doc.get_int(obj, path, "op_interval_ms", out.op_interval_ms, 0, 60'000, false); !s) return s;
  if (Status s = doc.get_int(obj, path, "client_timeout_ms", out.client_timeout_ms, 1, 60'000, false); !s) return s;
  if (Status s = doc.get_int(obj, path, "read_percent", out.read_percent, 0, 100, false); !s) return s;
  if (Status s = doc.get_int(obj, path, "cas_percent", out.cas_percent, 0, 100 - out.read_percent, false); !s) return s;
  if (Status s = doc.get_int(obj, path, "value_bytes", out.value_bytes, 0,
                             static_cast<int64_t>(consensus::kValueBytesMax), false); !s) return s;
  if (Status s = doc.get_int(obj, path, "fsync_latency_us", out.fsync_latency_us, 0, 10'000'000, false); !s) return s;
  if (Status s = doc.get_int(obj, path, "drift_ppm_max", out.drift_ppm_max, 0, 100'000, false); !s) return s;
  if (Status s = doc.get_int(obj, path, "crash_after_vote_percent", out.crash_after_vote_percent, 0, 100, false); !s) {
    return s;
  }
  if (Status s = doc.get_int(obj, path, "leader_within_ms", out.leader_within_ms, 1, 3'600'000, false); !s) return s;
  if (Status s = doc.get_int(obj, path, "elections_max", out.elections_max, 0, 1'000'000, false); !s) return s;
  if (auto it = obj.find("storm"); it != obj.end()) {
    if (Status s = parse_storm(doc, *it, JsonDoc::join(path, "storm"), out.storm); !s) return s;
  }
  return Status::ok();
}

}  // namespace meshd::sim
