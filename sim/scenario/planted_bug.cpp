#include "sim/scenario/planted_bug.h"

#include <cstdlib>

#include "core/node/incarnation.h"
#include "sim/world.h"

namespace meshd::sim {

std::string_view planted_bug_name(PlantedBug bug) {
  switch (bug) {
    case PlantedBug::none: return "none";
    case PlantedBug::deaf_after_partitioned_restart: return "deaf-after-partitioned-restart";
    case PlantedBug::abort_on_crash_fault: return "abort-on-crash-fault";
    case PlantedBug::storage_ack_before_fsync: return "storage-ack-before-fsync";
    case PlantedBug::incarnation_record_lost_on_crash: return "incarnation-record-lost-on-crash";
    case PlantedBug::key_lifetime_doubled: return "key-lifetime-doubled";
  }
  return "unknown";
}

std::optional<PlantedBug> parse_planted_bug(std::string_view name) {
  for (PlantedBug b : {PlantedBug::none, PlantedBug::deaf_after_partitioned_restart, PlantedBug::abort_on_crash_fault,
                       PlantedBug::storage_ack_before_fsync, PlantedBug::incarnation_record_lost_on_crash,
                       PlantedBug::key_lifetime_doubled}) {
    if (planted_bug_name(b) == name) return b;
  }
  return std::nullopt;
}

void PlantedBugHook::after_fault(World& world, const Fault& f) {
  if (bug_ == PlantedBug::abort_on_crash_fault && f.kind == FaultKind::crash) std::abort();
  if (bug_ == PlantedBug::incarnation_record_lost_on_crash && f.kind == FaultKind::crash) {
    SimDisk& disk = world.disk(static_cast<size_t>(f.node));
    (void)disk.unlink(kIncarnationFile);  // absent already: nothing to lose
    (void)disk.sync_dir();
    return;
  }
  if (bug_ != PlantedBug::deaf_after_partitioned_restart) return;
  switch (f.kind) {
    case FaultKind::partition: partition_standing_ = true; return;
    case FaultKind::heal: partition_standing_ = false; return;
    case FaultKind::restart:
    case FaultKind::wipe: {
      if (!partition_standing_) return;
      const size_t deaf = static_cast<size_t>(f.node);
      for (size_t j = 0; j < world.node_count(); ++j) {
        if (j == deaf) continue;
        LinkConfig c = world.network().link_config(deaf, j);
        c.loss = kDeafLoss;
        world.network().set_link(deaf, j, c);
      }
      return;
    }
    default: return;
  }
}

}  // namespace meshd::sim
