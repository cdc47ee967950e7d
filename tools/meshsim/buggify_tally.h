// BuggifyTally: a sweep's view of the in-code fault points
// (core/env/buggify.h): for every point that exists, in how many seeds it
// was enabled, in how many it fired, and how often. Points that never
// fired are listed by name, so untested rare paths are visible.
#pragma once

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <string>

#include "core/env/buggify.h"

namespace meshd::tools {

struct BuggifyTally {
  struct Point {
    uint64_t seeds_enabled = 0;
    uint64_t seeds_fired = 0;
    uint64_t fired = 0;
  };
  uint64_t seeds = 0;  // seeds that ran with buggify on
  std::array<Point, kBuggifyPoints> points{};

  // Adds one seed's record (its "buggify" object, if any; see seed_run.cpp).
  void add(const nlohmann::json& record);
  // "buggify over N seeds: ..." lines, ending with the never-fired list.
  std::string text() const;
  nlohmann::json json() const;
};

}  // namespace meshd::tools
