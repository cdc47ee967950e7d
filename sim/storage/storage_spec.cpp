#include "sim/storage/storage_spec.h"

namespace meshd::sim {

Status parse_storage_spec(const JsonDoc& doc, const nlohmann::json& obj, const std::string& path, StorageSpec& out) {
  if (Status s = doc.expect_object(obj, path); !s) return s;
  if (Status s = doc.reject_unknown(obj, path, {"sync", "appenders", "record_bytes_max", "segment_bytes",
                                                "append_interval_us", "group_max_delay_us", "sync_every",
                                                "truncate_every", "crash_interval_ms_min", "crash_interval_ms_max",
                                                "down_ms_max", "disk"}); !s) return s;
  std::string sync = std::string(storage::sync_policy_name(out.sync));
  if (Status s = doc.get_string(obj, path, "sync", sync, false); !s) return s;
  auto policy = storage::parse_sync_policy(sync);
  if (!policy) return doc.error(JsonDoc::join(path, "sync"), "expected every, group or none");
  out.sync = *policy;
  if (Status s = doc.get_int(obj, path, "appenders", out.appenders, 1, kStorageAppendersMax, false); !s) return s;
  if (Status s = doc.get_int(obj, path, "record_bytes_max", out.record_bytes_max, 0,
                             static_cast<int64_t>(storage::kRecordPayloadBytesMax), false); !s) return s;
  if (Status s = doc.get_int(obj, path, "segment_bytes", out.segment_bytes, static_cast<int64_t>(storage::kSegmentBytesMin),
                             static_cast<int64_t>(storage::kSegmentTargetBytesMax), false); !s) return s;
  if (Status s = doc.get_int(obj, path, "append_interval_us", out.append_interval_us, 1, 60'000'000, false); !s) return s;
  if (Status s = doc.get_int(obj, path, "group_max_delay_us", out.group_max_delay_us, 0, 1'000'000, false); !s) return s;
  if (Status s = doc.get_int(obj, path, "sync_every", out.sync_every, 1, 1'000'000, false); !s) return s;
  if (Status s = doc.get_int(obj, path, "truncate_every", out.truncate_every, 0, 1'000'000, false); !s) return s;
  if (Status s = doc.get_int(obj, path, "crash_interval_ms_min", out.crash_interval_ms_min, 1, 3'600'000, false); !s) return s;
  if (Status s = doc.get_int(obj, path, "crash_interval_ms_max", out.crash_interval_ms_max, 1, 3'600'000, false); !s) return s;
  if (out.crash_interval_ms_max < out.crash_interval_ms_min) {
    return doc.error(JsonDoc::join(path, "crash_interval_ms_max"), "must be >= crash_interval_ms_min");
  }
  if (Status s = doc.get_int(obj, path, "down_ms_max", out.down_ms_max, 0, 3'600'000, false); !s) return s;
  if (auto it = obj.find("disk"); it != obj.end()) {
    const std::string p = JsonDoc::join(path, "disk");
    if (Status s = doc.expect_object(*it, p); !s) return s;
    if (Status s = doc.reject_unknown(*it, p, {"read_bitrot", "write_eio", "fsync_eio", "fsync_lost_error",
                                               "misdirected_write", "latency_us", "fsync_latency_us", "torn_writes"}); !s) {
      return s;
    }
    DiskFaults& d = out.disk;
    if (Status s = doc.get_double(*it, p, "read_bitrot", d.read_bitrot, 0, 1, false); !s) return s;
    if (Status s = doc.get_double(*it, p, "write_eio", d.write_eio, 0, 1, false); !s) return s;
    if (Status s = doc.get_double(*it, p, "fsync_eio", d.fsync_eio, 0, 1, false); !s) return s;
    if (Status s = doc.get_double(*it, p, "fsync_lost_error", d.fsync_lost_error, 0, 1, false); !s) return s;
    if (Status s = doc.get_double(*it, p, "misdirected_write", d.misdirected_write, 0, 1, false); !s) return s;
    if (Status s = doc.get_int(*it, p, "latency_us", d.latency_us, 0, 10'000'000, false); !s) return s;
    if (Status s = doc.get_int(*it, p, "fsync_latency_us", d.fsync_latency_us, 0, 10'000'000, false); !s) return s;
    if (Status s = doc.get_bool(*it, p, "torn_writes", d.torn_writes, false); !s) return s;
  }
  return Status::ok();
}

}  // namespace meshd::sim
