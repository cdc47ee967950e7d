// The "storage" block of a scenario (scenarios/storage-*.json): when
// present the run is a storage crash-consistency run (storage_runner.h)
// instead of a mesh run.
//
//   "storage": {
//     "sync": "group",              // every | group | none
//     "appenders": 2,               // appending fibers per node
//     "record_bytes_max": 1500,     // payload sizes uniform in [0, max]
//     "segment_bytes": 16384,       // small: many rotations per run
//     "append_interval_us": 2000,   // mean pause between one fiber's appends
//     "group_max_delay_us": 0,
//     "sync_every": 8,              // policy none: sync() after this many appends
//     "truncate_every": 0,          // a prefix truncation every N appends (0: never)
//     "crash_interval_ms_min": 300, "crash_interval_ms_max": 2000,  // random crashes
//     "down_ms_max": 100,           // how long a crashed node stays down
//     "disk": {"read_bitrot": 0, "write_eio": 0, "fsync_eio": 0, "fsync_lost_error": 0,
//              "misdirected_write": 0, "latency_us": 20, "fsync_latency_us": 500, "torn_writes": true}
//   }
// Errors name the field and the line (core/node/json_fields.h).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "core/env/status.h"
#include "core/node/json_fields.h"
#include "core/storage/append_log.h"
#include "sim/disk_model.h"

namespace meshd::sim {

constexpr int64_t kStorageAppendersMax = 64;

struct StorageSpec {
  storage::SyncPolicy sync = storage::SyncPolicy::group;
  int64_t appenders = 2;
  int64_t record_bytes_max = 1500;
  int64_t segment_bytes = 16384;
  int64_t append_interval_us = 2000;
  int64_t group_max_delay_us = 0;
  int64_t sync_every = 8;
  int64_t truncate_every = 0;
  int64_t crash_interval_ms_min = 300;
  int64_t crash_interval_ms_max = 2000;
  int64_t down_ms_max = 100;
  DiskFaults disk;
};

Status parse_storage_spec(const JsonDoc& doc, const nlohmann::json& obj, const std::string& path, StorageSpec& out);

}  // namespace meshd::sim
