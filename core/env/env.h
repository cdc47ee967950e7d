// Env: everything a node may touch of the outside world, in one bundle.
//
// A node receives an Env at construction and reaches the world only
// through it. sim/ builds one per simulated node; io/ builds one per
// process. All members are borrowed and outlive the node.
#pragma once

#include "core/env/buggify.h"
#include "core/env/clock.h"
#include "core/env/disk.h"
#include "core/env/log.h"
#include "core/env/metrics.h"
#include "core/env/network.h"
#include "core/env/random.h"
#include "core/env/runtime.h"

namespace meshd {

struct Env {
  Clock& clock;
  Network& network;
  Disk& disk;
  Random& random;     // already keyed for this node (Random::for_node)
  Runtime& runtime;
  Log& log;
  Metrics& metrics;
  Buggify* buggify = nullptr;  // simulator only (buggify.h); never set in production
};

// `env` with its network replaced (a transport layered over it, a tap):
// the one place an Env is copied, so a new member is never dropped.
inline Env with_network(const Env& env, Network& network) {
  return Env{env.clock, network, env.disk, env.random, env.runtime, env.log, env.metrics, env.buggify};
}

// True if the simulator enabled `point` for this run and it fires now.
inline bool buggify(const Env& env, BuggifyPoint point) {
  return env.buggify != nullptr && env.buggify->fire(point);
}

}  // namespace meshd
