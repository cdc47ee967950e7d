#include "tools/meshsim/coverage.h"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "core/env/buggify.h"
#include "core/wire/drop_reason.h"
#include "sim/attacker_spec.h"

namespace meshd::tools {

namespace {

constexpr const char* kLivenessTransitions[] = {"transition:liveness_down", "transition:liveness_up"};
constexpr const char* kMembershipTransitions[] = {"transition:membership_failed", "transition:membership_rejoin",
                                                  "transition:membership_left", "transition:membership_converged",
                                                  "transition:membership_flap"};
constexpr const char* kPreconditions[] = {"precondition:monotonic_restart", "precondition:monotonic_excused_recovery",
                                          "precondition:cost_uncookied_dh", "precondition:replay_window_slid",
                                          "precondition:key_past_rekey"};
constexpr const char* kMembershipPreconditions[] = {"precondition:member_identity_checked"};

uint64_t counter(const sim::RunResult& r, const std::string& key) {
  auto it = r.security.find(key);
  return it == r.security.end() ? 0 : it->second;
}

std::vector<std::string> base_universe() {
  std::vector<std::string> u;
  for (size_t i = 1; i < wire::kDropReasonCount; ++i) {
    u.push_back("drop:" + std::string(wire::drop_reason_name(static_cast<wire::DropReason>(i))));
  }
  for (const char* t : kLivenessTransitions) u.emplace_back(t);
  for (const char* p : kPreconditions) u.emplace_back(p);
  return u;
}

std::vector<std::string> attack_names() {
  std::vector<std::string> u;
  for (size_t k = 0; k < sim::kAttackKinds; ++k) {
    u.push_back("attack:" + std::string(sim::attack_kind_name(static_cast<sim::AttackKind>(k))));
  }
  return u;
}

std::vector<std::string> buggify_names() {
  std::vector<std::string> u;
  for (size_t k = 0; k < kBuggifyPoints; ++k) {
    u.push_back("buggify:" + std::string(buggify_point_name(static_cast<BuggifyPoint>(k))));
  }
  return u;
}

}  // namespace

std::vector<std::string> reached_names(const sim::RunResult& r) {
  std::vector<std::string> out;
  for (const auto& [k, v] : r.security) {
    if (v == 0) continue;
    if (k.rfind("drops.", 0) == 0) out.push_back("drop:" + k.substr(6));
    if (k.rfind("attacker.injected.", 0) == 0) out.push_back("attack:" + k.substr(18));
    if (k.rfind("member_attacker.injected.", 0) == 0) out.push_back("member_attack:" + k.substr(25));
  }
  for (const auto& [name, st] : r.buggify) {
    if (st.fired > 0) out.push_back("buggify:" + name);
  }
  if (r.detection_us.count > 0) out.emplace_back("transition:liveness_down");
  if (r.recovery_us.count > 0) out.emplace_back("transition:liveness_up");
  if (r.membership.enabled) {
    const auto& m = r.membership;
    if (m.detection_us.count > 0) out.emplace_back("transition:membership_failed");
    if (m.rejoin_us.count > 0) out.emplace_back("transition:membership_rejoin");
    if (m.leave_us.count > 0) out.emplace_back("transition:membership_left");
    if (m.convergence_us.count > 0) out.emplace_back("transition:membership_converged");
    if (m.flaps > 0) out.emplace_back("transition:membership_flap");
  }
  if (counter(r, "monotonic.boots") > r.nodes) out.emplace_back("precondition:monotonic_restart");
  if (counter(r, "monotonic.excused_recoveries") > 0) out.emplace_back("precondition:monotonic_excused_recovery");
  if (counter(r, "cost.uncookied_initiation_dh") > 0) out.emplace_back("precondition:cost_uncookied_dh");
  if (counter(r, "security.deliveries_window_slid") > 0) out.emplace_back("precondition:replay_window_slid");
  if (counter(r, "security.key_uses_past_rekey") > 0) out.emplace_back("precondition:key_past_rekey");
  if (counter(r, "member_identity.entries_checked") > 0) out.emplace_back("precondition:member_identity_checked");
  return out;
}

bool coverage_name_known(const std::string& name) {
  std::vector<std::string> all = base_universe();
  for (auto& n : attack_names()) all.push_back(n);
  for (auto& n : buggify_names()) all.push_back(n);
  for (const char* t : kMembershipTransitions) all.emplace_back(t);
  for (const char* t : kMembershipPreconditions) all.emplace_back(t);
  for (size_t k = 0; k < sim::kMemberAttackKinds; ++k) {
    all.push_back("member_attack:" + std::string(sim::member_attack_kind_name(static_cast<sim::MemberAttackKind>(k))));
  }
  for (const auto& n : all) {
    if (n == name) return true;
  }
  return false;
}

void CoverageTally::add(const nlohmann::json& record) {
  if (!record.contains("reached")) return;
  for (const auto& n : record["reached"]) reached.insert(n.get<std::string>());
  if (record.contains("buggify") && record["buggify"].is_object() && !record["buggify"].empty()) any_buggify = true;
  if (record.contains("membership")) any_membership = true;
  // Swarm seeds may draw any attack kind; a fixed scenario names its own
  // (list them in must_reach to demand them).
  if (record.contains("swarm")) any_attacker = true;
}

namespace {
std::vector<std::string> universe_of(const CoverageTally& t) {
  std::vector<std::string> u = base_universe();
  if (t.any_attacker) {
    for (auto& n : attack_names()) u.push_back(n);
  }
  if (t.any_buggify) {
    for (auto& n : buggify_names()) u.push_back(n);
  }
  if (t.any_membership) {
    for (const char* n : kMembershipTransitions) u.emplace_back(n);
    for (const char* n : kMembershipPreconditions) u.emplace_back(n);
  }
  return u;
}
}  // namespace

std::vector<std::string> CoverageTally::never_reached() const {
  std::vector<std::string> out;
  for (const auto& n : universe_of(*this)) {
    if (!reached.count(n)) out.push_back(n);
  }
  return out;
}

size_t CoverageTally::universe_size() const { return universe_of(*this).size(); }

std::string CoverageTally::text() const {
  const auto missing = never_reached();
  std::string list;
  for (const auto& n : missing) list += (list.empty() ? "" : ", ") + n;
  return fmt::format("coverage: reached {} of {}; never reached ({}): {}\n", universe_size() - missing.size(),
                     universe_size(), missing.size(), missing.empty() ? "nothing" : list);
}

bool load_must_reach(const std::string& scenario_path, std::vector<std::string>& out, std::string& error) {
  std::ifstream in(scenario_path);
  std::stringstream ss;
  ss << in.rdbuf();
  const nlohmann::json root = nlohmann::json::parse(ss.str(), nullptr, false);
  if (root.is_discarded() || !root.is_object() || !root.contains("must_reach")) return true;  // the parser reports
  const nlohmann::json& m = root["must_reach"];
  if (!m.is_array()) {
    error = scenario_path + ": field 'must_reach': must be an array of names";
    return false;
  }
  for (size_t i = 0; i < m.size(); ++i) {
    if (!m[i].is_string() || !coverage_name_known(m[i].get<std::string>())) {
      error = fmt::format("{}: field 'must_reach[{}]': unknown coverage name {} (drop:<reason>, attack:<kind>, "
                          "buggify:<point>, transition:<name>, precondition:<name>; tools/meshsim/coverage.h)",
                          scenario_path, i, m[i].dump());
      return false;
    }
    out.push_back(m[i].get<std::string>());
  }
  return true;
}

}  // namespace meshd::tools
