// Fuzz target: scenario parsing (sim/scenario/scenario.h).
#include <cstdint>
#include <string_view>

#include "sim/scenario/scenario.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto sc = meshd::sim::parse_scenario(text, "fuzz");
  if (sc.is_ok()) {
    MESHD_ASSERT(sc->nodes >= 1 && sc->nodes <= meshd::sim::kScenarioNodesMax);
    for (const auto& f : sc->faults) MESHD_ASSERT(f.at_us <= sc->duration_us);
  } else {
    MESHD_ASSERT(!sc.status().message().empty());
  }
  return 0;
}
