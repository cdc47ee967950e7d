// Fuzz target: node config parsing (core/node/config.h, json_fields.h).
// Any input must yield a config or a Status naming a field; never a crash.
#include <cstdint>
#include <string_view>

#include "core/node/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto c = meshd::parse_node_config(text);
  if (!c.is_ok()) {
    MESHD_ASSERT(!c.status().message().empty());
  } else {
    MESHD_ASSERT(!c->name.empty());
  }
  return 0;
}
