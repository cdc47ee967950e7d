// meshd's config loading: the file, the PSK file and the host fingerprint,
// with every problem reported as "file, line, field" (ConfigError), which
// meshd logs as one JSON line (event "config_invalid") and exits 2 on.
// Also used by reload (a refused reload logs the same fields and keeps the
// running config).
#pragma once

#include <string>

#include "core/env/status.h"
#include "core/node/config.h"

namespace meshd::tools {

// Where a config problem is: the file, the 1-based line (0: the file as a
// whole, e.g. unreadable), the field path ("" for syntax errors) and why.
struct ConfigError {
  std::string file;
  int line = 0;
  std::string field;
  std::string message;
  nlohmann::json fields() const;  // the log line's fields
  std::string text() const;       // "node.json: line 3: field 'listen': ..."
};

// The config text's problem as a ConfigError (parses the "line N: field
// 'x': why" form core's JsonDoc produces).
ConfigError config_error_of(const std::string& file, const std::string& message);

// The line of `field` in the config file's text (0 if absent/unparsable):
// errors found after parsing (PSK file, key, port) point at their field.
int config_line_of(const std::string& text, const std::string& field);

struct LoadedConfig {
  NodeConfig config;
  std::string text;  // the file's text (for config_line_of)
};

// Reads and validates `path`, then loads the PSK file (refusing a
// group/world-readable one) and fills the host fingerprint.
// `warnings` receives non-fatal notes (no host fingerprint).
bool load_config(const std::string& path, LoadedConfig& out, ConfigError& error, std::vector<std::string>& warnings);

// Reads a small text file (at most 1 MiB).
Result<std::string> read_text_file(const std::string& path);

}  // namespace meshd::tools
