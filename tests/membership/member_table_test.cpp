// MemberTable: SWIM merge rules, reaping, bounds, hostname resolution.
#include <catch2/catch.hpp>

#include "core/membership/member_table.h"

using namespace meshd;
using namespace meshd::membership;

namespace {
NodeId id_of(uint8_t n) {
  NodeId id;
  id.bytes[0] = n;
  return id;
}
MemberUpdate alive(uint8_t n, uint64_t inc, std::string host = "h", uint16_t port = 7000) {
  MemberUpdate u;
  u.id = id_of(n);
  u.incarnation = inc;
  u.status = MemberStatus::alive;
  u.address = Address{0x0a000000u + n, port};
  u.public_key[0] = n;
  u.hostname = std::move(host);
  return u;
}
MemberUpdate with(uint8_t n, uint64_t inc, MemberStatus s) {
  MemberUpdate u;
  u.id = id_of(n);
  u.incarnation = inc;
  u.status = s;
  u.origin = id_of(99);
  return u;
}
}  // namespace

TEST_CASE("member table: higher incarnation wins, equal incarnation ranks the status",
          "[membership][table]") {
  MemberTable t;
  REQUIRE(t.apply(alive(1, 5), 0).created);
  CHECK(t.find(id_of(1))->status == MemberStatus::alive);

  // Equal incarnation: suspect overrides alive, failed overrides suspect.
  auto r = t.apply(with(1, 5, MemberStatus::suspect), 10);
  CHECK(r.status_changed);
  CHECK(t.find(id_of(1))->status == MemberStatus::suspect);
  CHECK_FALSE(t.apply(alive(1, 5), 20).verdict_changed);  // alive cannot undo suspicion at 5
  CHECK(t.apply(with(1, 5, MemberStatus::failed), 30).status_changed);
  CHECK_FALSE(t.apply(with(1, 5, MemberStatus::suspect), 40).changed());
  CHECK(t.find(id_of(1))->status == MemberStatus::failed);
  CHECK(t.find(id_of(1))->status_since_us == 30);

  // A lower incarnation never wins, whatever its status.
  CHECK_FALSE(t.apply(with(1, 4, MemberStatus::left), 50).changed());
  // A higher incarnation alive (refutation / restart) revives it.
  r = t.apply(alive(1, 6, "h2"), 60);
  CHECK(r.status_changed);
  CHECK(r.identity_changed);
  CHECK(t.find(id_of(1))->status == MemberStatus::alive);
  CHECK(t.find(id_of(1))->hostname == "h2");
  CHECK(t.find(id_of(1))->first_seen_us == 0);
}

TEST_CASE("member table: left is sticky for its incarnation and beats failed",
          "[membership][table]") {
  MemberTable t;
  t.apply(alive(1, 3), 0);
  CHECK(t.apply(with(1, 3, MemberStatus::left), 1).status_changed);
  CHECK_FALSE(t.apply(with(1, 3, MemberStatus::failed), 2).changed());
  CHECK_FALSE(t.apply(with(1, 3, MemberStatus::suspect), 2).changed());
  CHECK_FALSE(t.apply(alive(1, 3), 3).verdict_changed);
  CHECK(t.find(id_of(1))->status == MemberStatus::left);
  // Only a rejoin with a higher incarnation brings it back.
  CHECK(t.apply(alive(1, 4), 4).status_changed);
  CHECK(t.find(id_of(1))->status == MemberStatus::alive);
}

TEST_CASE("member table: news about an unknown node is a tombstone a stale alive cannot revive",
          "[membership][table]") {
  MemberTable t;
  auto r = t.apply(with(2, 7, MemberStatus::failed), 0);
  CHECK(r.created);
  CHECK_FALSE(t.find(id_of(2))->has_identity);
  CHECK_FALSE(t.find(id_of(2))->active());
  r = t.apply(alive(2, 6), 1);  // older than the failure: identity only
  CHECK(r.gained_identity);
  CHECK_FALSE(r.verdict_changed);
  CHECK(t.find(id_of(2))->status == MemberStatus::failed);
  CHECK(t.count_active() == 0);
}

TEST_CASE("member table: reaping removes failed/left after the configured time only",
          "[membership][table]") {
  MemberTable t;
  t.apply(alive(1, 1), 0);
  t.apply(alive(2, 1), 0);
  t.apply(alive(3, 1), 0);
  t.apply(with(2, 1, MemberStatus::failed), 100);
  t.apply(with(3, 1, MemberStatus::left), 200);
  CHECK(t.reap(1099, 1000).empty());
  auto reaped = t.reap(1100, 1000);
  REQUIRE(reaped.size() == 1);
  CHECK(reaped[0] == id_of(2));
  CHECK(t.reap(1200, 1000) == std::vector<NodeId>{id_of(3)});
  CHECK(t.size() == 1);
  // A reaped node may rejoin, even at its old incarnation.
  CHECK(t.apply(alive(3, 1), 1300).created);
}

TEST_CASE("member table: bounded, overflow is rejected and counted", "[membership][table]") {
  MemberTable t(3);
  for (uint8_t n = 1; n <= 3; ++n) REQUIRE(t.apply(alive(n, 1), 0).created);
  auto r = t.apply(alive(4, 1), 0);
  CHECK(r.rejected_overflow);
  CHECK(t.overflow() == 1);
  CHECK(t.size() == 3);
  CHECK(t.apply(alive(1, 2), 0).verdict_changed);  // known nodes still update
}

TEST_CASE("member table: hostname resolves to the most recent heartbeat, deterministically",
          "[membership][table]") {
  MemberTable t;
  t.apply(alive(1, 1, "db"), 100);
  t.apply(alive(2, 1, "db"), 200);
  t.apply(alive(3, 1, "web"), 300);
  CHECK(t.resolve_hostname("db") == id_of(2));
  t.heard(id_of(1), 400);
  CHECK(t.resolve_hostname("db") == id_of(1));
  t.heard(id_of(2), 400);  // tie on time, tie on incarnation: lower NodeId
  CHECK(t.resolve_hostname("db") == id_of(1));
  t.apply(alive(2, 2, "db"), 400);  // tie on time: higher incarnation
  CHECK(t.resolve_hostname("db") == id_of(2));
  t.apply(with(2, 2, MemberStatus::failed), 500);  // failed nodes never resolve
  CHECK(t.resolve_hostname("db") == id_of(1));
  CHECK_FALSE(t.resolve_hostname("nope").has_value());
}
