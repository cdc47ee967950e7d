// run_storage_scenario: a scenario with a "storage" block (storage_spec.h).
//
// Every node runs a StorageService over its SimDisk with the spec's disk
// faults. Besides the scenario's own crash / restart / wipe faults, nodes
// crash at random times drawn from the seed's ("storage", "crashes")
// stream — every crash_interval_ms_min..max one random node goes down for
// up to down_ms_max and restarts — so crashes land in the middle of
// writes, fsyncs (fsync_latency_us) and rotations. At the end every node is
// crashed and restarted once more so its final state is checked too. The
// StorageOracle (storage_oracle.h) checks each open. Same RunResult as
// run_scenario; oracle and disk counters go to RunResult::storage.
#pragma once

#include "sim/scenario/runner.h"

namespace meshd::sim {

RunResult run_storage_scenario(const Scenario& scenario, const RunOptions& options);

}  // namespace meshd::sim
