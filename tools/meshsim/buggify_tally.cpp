#include "tools/meshsim/buggify_tally.h"

#include <fmt/format.h>

namespace meshd::tools {

void BuggifyTally::add(const nlohmann::json& record) {
  auto it = record.find("buggify");
  if (it == record.end() || !it->is_object()) return;
  ++seeds;
  for (size_t k = 0; k < kBuggifyPoints; ++k) {
    auto p = it->find(std::string(buggify_point_name(static_cast<BuggifyPoint>(k))));
    if (p == it->end() || !p->is_object()) continue;
    const uint64_t fired = p->value("fired", uint64_t{0});
    points[k].seeds_enabled += p->value("enabled", false) ? 1 : 0;
    points[k].seeds_fired += fired > 0 ? 1 : 0;
    points[k].fired += fired;
  }
}

std::string BuggifyTally::text() const {
  std::string s = fmt::format("buggify over {} seeds:", seeds);
  std::string never;
  for (size_t k = 0; k < kBuggifyPoints; ++k) {
    const std::string_view name = buggify_point_name(static_cast<BuggifyPoint>(k));
    const Point& p = points[k];
    s += fmt::format(" {} enabled={} fired_in={} ({}x);", name, p.seeds_enabled, p.seeds_fired, p.fired);
    if (p.fired == 0) never += fmt::format(" {}", name);
  }
  s += "\n";
  s += never.empty() ? std::string("buggify: every point fired\n") : "buggify: never fired:" + never + "\n";
  return s;
}

nlohmann::json BuggifyTally::json() const {
  nlohmann::json j = {{"seeds", seeds}, {"points", nlohmann::json::object()}};
  for (size_t k = 0; k < kBuggifyPoints; ++k) {
    const Point& p = points[k];
    j["points"][std::string(buggify_point_name(static_cast<BuggifyPoint>(k)))] = {
        {"seeds_enabled", p.seeds_enabled}, {"seeds_fired", p.seeds_fired}, {"fired", p.fired}};
  }
  return j;
}

}  // namespace meshd::tools
