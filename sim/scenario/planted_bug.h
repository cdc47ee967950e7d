// PlantedBug: test-only defects planted into a run's oracle-visible
// behaviour, so the tools that hunt bugs (sweep, swarm, shrink) can be
// tested against a bug whose cause is known.
//
// deaf_after_partitioned_restart: a node restarted (or wiped) while a
// partition stands comes back "deaf": from then on every datagram it sends
// is lost, so it never answers a ping again. The loss is set just below
// 1.0 (kDeafLoss) on purpose: the oracle's ground truth treats only a total
// loss (1.0) as unreachability, so it still believes the node reachable and
// reports peers marking it down as false positives — exactly what a real
// "stops answering after crash-during-partition" bug would look like.
//
// abort_on_crash_fault: the process aborts (SIGABRT) when a `crash` fault
// fires — a stand-in for an assertion failure deep in node code, so sweep
// isolation (a crashing seed is a reported failure) can be tested.
//
// incarnation_record_lost_on_crash: a `crash` fault also loses the node's
// incarnation record (unlinked and the directory synced, as if the write
// that bumped it had never been made durable), so its next boot counts
// from 1 again — a stand-in for "persistence skipped"; the MonotonicOracle
// (sim/scenario/monotonic_oracle.h) must name the broken rule.
//
// key_lifetime_doubled: every node runs with twice the scenario's rekey
// period (so its keys live to twice reject_after) while the key-lifetime
// oracle (SecurityOracle, sim/scenario/oracle.h) holds it to the
// scenario's — a stand-in for "a session used past its lifetime".
//
// Only RunOptions::planted_bug (meshsim --plant-bug NAME) enables one; the
// default (none) touches nothing and draws no randomness.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "sim/scenario/scenario.h"

namespace meshd::sim {

class World;

// storage_ack_before_fsync: storage scenarios' AppendLog reports records
// durable after the write, without the fsync (LogOptions::
// planted_bug_ack_before_fsync), so the StorageOracle must catch lost
// "durable" records after crashes.
enum class PlantedBug : uint8_t {
  none, deaf_after_partitioned_restart, abort_on_crash_fault, storage_ack_before_fsync,
  incarnation_record_lost_on_crash, key_lifetime_doubled
};
std::string_view planted_bug_name(PlantedBug bug);
std::optional<PlantedBug> parse_planted_bug(std::string_view name);

class PlantedBugHook {
 public:
  static constexpr double kDeafLoss = 0.999999999;

  explicit PlantedBugHook(PlantedBug bug) : bug_(bug) {}
  // Called after every fault is applied, before the oracle refreshes.
  void after_fault(World& world, const Fault& fault);

 private:
  PlantedBug bug_;
  bool partition_standing_ = false;
};

}  // namespace meshd::sim
