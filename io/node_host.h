// NodeHost: the production Env (core/env/env.h) for one meshd process.
//
// Builds, in dependency order: RealClock, Metrics, JsonLog, Random (root
// key from getrandom), Runtime, EventLoop, UdpNetwork (bound to the listen
// address) and PosixDisk (the data directory; the Env sees it through a
// CountingDisk: meshd_disk_errors_total), and bundles them into a
// meshd::Env for the node. tools/meshd composes it with core/node's Node
// and the control socket; nothing here knows about node logic.
// Errors: create() returns the first failing step's Status (bind failure,
// unusable data directory, ...), with the address or path in the message.
// Ownership: owns everything it builds; the Env borrows it, so the
// NodeHost must outlive every Node built on env(). Single-threaded.
#pragma once

#include <cstdio>
#include <memory>
#include <string>

#include "core/env/env.h"
#include "io/clock.h"
#include "io/counting_disk.h"
#include "io/json_log.h"
#include "io/loop.h"
#include "io/posix_disk.h"
#include "io/udp.h"

namespace meshd::io {

struct NodeHostOptions {
  Address listen;            // UDP bind address (port 0: any free port)
  std::string data_dir;      // created 0700 if missing
  LogLevel log_level = LogLevel::info;
  FILE* log_out = stderr;
};

class NodeHost {
 public:
  static Result<std::unique_ptr<NodeHost>> create(const NodeHostOptions& options);
  NodeHost(const NodeHost&) = delete;
  NodeHost& operator=(const NodeHost&) = delete;
  ~NodeHost();

  Env& env() { return *env_; }
  EventLoop& loop() { return *loop_; }
  Runtime& runtime() { return *runtime_; }
  UdpNetwork& network() { return *network_; }
  PosixDisk& disk() { return *disk_; }
  Metrics& metrics() { return metrics_; }
  JsonLog& log() { return log_; }
  const RealClock& clock() const { return clock_; }

 private:
  explicit NodeHost(const NodeHostOptions& options);

  RealClock clock_;
  Metrics metrics_;
  JsonLog log_;
  Random random_;
  std::unique_ptr<Runtime> runtime_;
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<UdpNetwork> network_;
  std::unique_ptr<PosixDisk> disk_;
  std::unique_ptr<CountingDisk> counting_disk_;  // the Env's disk: disk_ with meshd_disk_errors_total
  std::unique_ptr<Env> env_;
};

}  // namespace meshd::io
