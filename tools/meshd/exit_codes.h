// meshd's exit codes (docs/operator.md, "Exit codes").
#pragma once

namespace meshd::tools {

constexpr int kExitOk = 0;
constexpr int kExitRuntimeError = 1;  // environment: port in use, data dir, node start, loop
constexpr int kExitConfigError = 2;   // usage or configuration: nothing was started

}  // namespace meshd::tools
