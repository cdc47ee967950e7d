// SimLog: a simulated node's Log. Every enabled event is folded into the
// World's Trace as a `log` event (digest = digest of the event name and the
// compact JSON of its fields) and, when World::set_log_stderr(true), printed
// to stderr as one JSON line with virtual time and node. The level
// threshold is World-wide (World::set_log_level, default info) so it is part
// of the run's configuration: changing it changes the trace hash.
#pragma once

#include <cstdint>

#include "core/env/log.h"

namespace meshd::sim {

class World;

class SimLog final : public meshd::Log {
 public:
  SimLog(World& world, uint32_t node) : world_(world), node_(node) {}
  bool enabled(LogLevel level) const override;
  void write(LogLevel level, std::string_view event, const nlohmann::json& fields) override;

 private:
  World& world_;
  uint32_t node_;
};

}  // namespace meshd::sim
