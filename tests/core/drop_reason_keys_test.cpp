// Every drop-reason enum of every protocol machine has a name and a typed
// metric key, and the key names exactly the series the ProtocolDriver
// registers for that reason (P_dropped_total{reason="<name>"}), so a test
// that reads a drop counter through the key cannot read a series nobody
// writes.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <set>
#include <string>

#include "core/membership/liveness_service.h"
#include "core/membership/swim_service.h"
#include "core/transport/transport_machine.h"

using namespace meshd;

namespace {

template <class Drop>
void check_family(const CounterFamily<Drop>& family, std::string_view driver_prefix, size_t reasons) {
  INFO(family.family);
  REQUIRE(reasons > 1);
  CHECK(family.family == fmt::format("{}_dropped_total", driver_prefix));
  std::set<std::string> names;
  for (size_t r = 1; r < reasons; ++r) {  // 0 is none: never counted
    const auto reason = static_cast<Drop>(r);
    const std::string name(drop_reason_name(reason));
    INFO(r);
    CHECK(!name.empty());
    CHECK(name != "invalid");
    CHECK(name != "unknown");
    CHECK(names.insert(name).second);  // distinct
    CHECK(family.series(reason) == fmt::format("{}_dropped_total{{reason=\"{}\"}}", driver_prefix, name));
  }
  CHECK(names.size() == reasons - 1);
}

}  // namespace

TEST_CASE("drop reasons: every enum value has a name and a typed key the driver writes", "[metrics]") {
  check_family(transport::metric::kPacketsDropped, transport::metric::kPacketsPrefix,
               transport::TransportMachine::kDropReasons);
  check_family(membership::metric::kSwimDropped, "meshd_swim", membership::SwimMember::kDropReasons);
  check_family(membership::metric::kLivenessDropped, "meshd_liveness", membership::LivenessTracker::kDropReasons);
}
