// NodeConfig: everything an operator sets for one node, from JSON.
//
// parse_node_config() validates every field and reports the first problem
// naming the field and its line ("config: line 7: field 'peers[1].address':
// expected \"a.b.c.d:port\", got \"x\""). Unknown fields are errors.
// docs/operator.md lists every field with its default.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/env/address.h"
#include "core/env/log.h"
#include "core/env/status.h"
#include "core/membership/liveness.h"

namespace meshd {

constexpr size_t kConfigPeersMax = 1024;
constexpr size_t kNodeNameBytesMax = 64;

struct NodeConfig {
  std::string name;                 // required; [A-Za-z0-9._-]{1,64}
  Address listen;                   // required; "a.b.c.d:port"
  std::string data_dir;             // required (io only; the sim ignores it)
  std::string control_socket;       // default: <data_dir>/control.sock
  LogLevel log_level = LogLevel::info;
  std::vector<membership::PeerSpec> peers;
  membership::LivenessConfig liveness;
};

Result<NodeConfig> parse_node_config(std::string_view json_text);

}  // namespace meshd
