// meshd's running phase: the control socket (the node's commands plus
// metrics, reload and rotate_key, and status with the public key and its
// fingerprint), the HTTP /metrics endpoint, signals (SIGTERM/SIGINT: a
// graceful leave then exit 0; SIGHUP: reload the config), handshake
// refusal logs, and the event loop. Returns the process exit code.
#pragma once

#include <string>

#include "core/node/node.h"
#include "io/node_host.h"
#include "tools/meshd/config_load.h"

namespace meshd::tools {

// At most one handshake_refused log line per (source, reason) per this
// interval; the rest are counted in the next line's "suppressed".
constexpr int64_t kRefusalLogIntervalUs = 10 * kMicrosPerSecond;
// Distinct (source, reason) pairs remembered for that rate limit.
constexpr size_t kRefusalSourcesMax = 256;

struct ServeOptions {
  std::string config_path;
  std::string log_level_override;  // --log-level: wins over the config, also at reload
};

int serve(io::NodeHost& host, Node& node, const LoadedConfig& loaded, const ServeOptions& options);

}  // namespace meshd::tools
