// Service: what one simulated node runs.
//
// World builds a Service from a ServiceFactory each time a node boots
// (start or restart) and destroys it on crash. The factory receives the
// node's Env (clock, network endpoint, disk, random, runtime, log, metrics),
// all owned by World and valid until the Service is destroyed; the Service
// borrows them. start() is called once, in loop context (not in a fiber),
// right after construction: it typically spawns the node's fibers.
// snapshot() must be a pure read (no side effects, no randomness): checkers
// call it between events.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <functional>
#include <memory>

#include "core/env/env.h"

namespace meshd::sim {

class Service {
 public:
  virtual ~Service() = default;
  virtual void start() = 0;
  virtual nlohmann::json snapshot() const = 0;
};

using ServiceFactory = std::function<std::unique_ptr<Service>(meshd::Env& env, size_t node_index)>;

}  // namespace meshd::sim
