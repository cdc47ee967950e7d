// Env: everything a node may touch of the outside world, in one bundle.
//
// A node receives an Env at construction and reaches the world only
// through it. sim/ builds one per simulated node; io/ builds one per
// process. All members are borrowed and outlive the node.
#pragma once

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
};

}  // namespace meshd
