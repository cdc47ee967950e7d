// StorageOracle: the crash-consistency oracle of the storage scenarios
// (docs/storage.md, "In the simulator").
//
// It keeps, per node, a model of every append the workload was told
// succeeded — (seq -> payload seed and size; the payload is regenerated
// from them, so the comparison is of exact bytes) — and the highest seq
// the log reported durable. After every (re)open of the node's log it
// reads the whole log back and checks:
//  * every seq reported durable is present, with its exact bytes
//    (unless a corruption was reported at or before it);
//  * no record is returned that was never appended (exact bytes of the
//    latest append of that seq; seqs of lost, never-durable appends may be
//    reused after a restart);
//  * seqs are dense and ordered from first_seq to next_seq;
 //  * corruption is reported, never served — and only after the node's
//    disk has actually corrupted stored bytes (a misdirected write or a
//    lost fsync error fired; read bit rot is transient and cured by
//    re-reads): any other corruption report is a false alarm, a violation;
//  * no record at or after the last prefix truncation point is deleted.
// Durable records lost to an injected *lost fsync error* (the disk said
// ok and dropped the data; no engine can see that) are counted, not
// violations, and only while that fault has fired on the node.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/storage/append_log.h"
#include "sim/storage/storage_spec.h"

namespace meshd::sim {

class World;

// The workload's payload for (seed, size): deterministic bytes.
std::vector<uint8_t> storage_payload(uint64_t seed, size_t size);

class StorageOracle {
 public:
  StorageOracle(World& world, size_t nodes, const StorageSpec& spec);

  void on_appended(size_t node, uint64_t seq, uint64_t payload_seed, size_t size);
  // Called before append(): until on_appended() names its seq, the record
  // is in doubt — a failed append (its fsync under `every`) or one cut
  // short by a crash may or may not be in the log; if it shows up it must
  // have exactly these bytes.
  void on_append_uncertain(size_t node, uint64_t payload_seed, size_t size);
  void on_durable(size_t node, uint64_t durable_end);
  void on_truncated(size_t node, uint64_t keep_from);
  // The log opened: read it all back (may park: call from a fiber).
  void check_open(size_t node, storage::AppendLog& log);
  // The log failed to open (an I/O error from the disk model).
  void on_open_failed(size_t node, const Status& status);

  const std::vector<std::string>& violations() const { return violations_; }
  uint64_t violation_count() const { return violation_count_; }
  const std::map<std::string, uint64_t>& counters() const { return counters_; }

 private:
  struct Entry {
    uint64_t seed = 0;
    uint32_t size = 0;
  };
  struct NodeModel {
    std::map<uint64_t, Entry> appended;
    uint64_t durable_end = storage::kFirstSeq;
    uint64_t keep_from_max = storage::kFirstSeq;  // highest truncation point asked for
    std::vector<Entry> uncertain;                   // failed appends (kUncertainMax kept)
  };
  static constexpr size_t kUncertainMax = 1024;
  void violation(size_t node, std::string text);
  uint64_t disk_counter(size_t node, const char* name) const;
  bool disk_corrupted(size_t node) const;

  World& world_;
  StorageSpec spec_;
  std::vector<NodeModel> nodes_;
  std::vector<uint64_t> lost_fsync_seen_;  // disk's fsync_errors_lost at the last check
  std::vector<std::string> violations_;
  uint64_t violation_count_ = 0;
  std::map<std::string, uint64_t> counters_;
};

}  // namespace meshd::sim
