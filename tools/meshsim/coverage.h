// Coverage: what a sweep's seeds reached, so a green sweep also says what
// it did not test. Each seed's record carries "reached": the names of the
// things it exercised —
//   drop:<reason>        a datagram dropped for that reason (core/wire/drop_reason.h),
//                        summed over the nodes alive at the end
//   attack:<kind>        an attacker injected that kind (sim/attacker.h)
//   member_attack:<kind> the membership insider injected that kind (sim/member_attacker.h)
//   buggify:<point>      an in-code fault point fired (core/env/buggify.h)
//   transition:<name>    liveness down / up; membership failed / rejoin /
//                        left / converged after a heal / flap
//   precondition:<name>  an oracle's precondition held at least once:
//                        monotonic restart (a node booted twice), monotonic
//                        excused recovery, cost uncookied DH (an initiation
//                        without a cookie cost DH), member identity checked
//                        (the identity oracle judged a member entry),
//                        replay window slid (a delivery on a key that had
//                        carried a whole replay window: its bottom edge can
//                        be probed), key past rekey (a key used at an age
//                        past 2/3 of reject_after on its node's clock)
// The sweep prints "coverage: never reached (K of N): ..." over the
// universe of names that apply (buggify points only when a seed ran with
// buggify, membership transitions only with membership, attack kinds only
// in swarm sweeps), and fails with
// "FAIL: not reached in any seed: ..." for names the scenario lists in
// "must_reach" (an unknown name there is a usage error naming it).
#pragma once

#include <nlohmann/json.hpp>

#include <set>
#include <string>
#include <vector>

#include "sim/scenario/runner.h"

namespace meshd::tools {

// The names a run reached (the record's "reached").
std::vector<std::string> reached_names(const sim::RunResult& r);

// Every name that can be reached (for must_reach validation).
bool coverage_name_known(const std::string& name);

struct CoverageTally {
  std::set<std::string> reached;
  bool any_buggify = false;
  bool any_membership = false;
  bool any_attacker = false;  // a swarm seed (attack kinds join the universe)

  void add(const nlohmann::json& record);
  // The applicable universe minus what was reached, sorted.
  std::vector<std::string> never_reached() const;
  size_t universe_size() const;
  std::string text() const;  // "coverage: ..." line(s)
};

// "must_reach" of the scenario file (empty when absent); errors name the
// field and the unknown entry.
bool load_must_reach(const std::string& scenario_path, std::vector<std::string>& out, std::string& error);

}  // namespace meshd::tools
