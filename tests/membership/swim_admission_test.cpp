// The identity rules (core/membership/swim_admission.h) against the pure
// SwimMember: no Runtime, no World, no service — real Ed25519 keys, a
// datagram in, a verdict out. Each rule is shown to refuse what it must
// and to let through what it must.
#include <catch2/catch.hpp>

#include <map>

#include "core/membership/swim.h"
#include "tests/membership/swim_key_util.h"
#include "tests/membership/swim_test_util.h"

using namespace meshd;
using namespace meshd::membership;

namespace {

using test::addr_n;
using test::key_n;
using test::signed_alive;
using test::verifier_for;

// Member 1 (key 1) whose transport authenticated key 2 at address 2.
struct Fixture {
  crypto::Identity me = key_n(1), relay = key_n(2), x = key_n(5), other = key_n(6);
  SwimMember member;
  SwimOutput out;

  explicit Fixture(SwimVerifier v)
      : member(SwimConfig{}, self(), {}, Random::from_seed(3).stream("t", "swim"), 0,
               [k = key_n(1)](std::span<const uint8_t> msg) { return k.sign(msg); }, std::move(v)) {}
  Fixture() : Fixture(verifier_for({{addr_n(2), key_n(2).node_id()}})) {}

  SwimIdentity self() const {
    SwimIdentity s;
    s.id = me.node_id();
    s.public_key = me.public_key();
    s.hostname = "n1";
    s.address = addr_n(1);
    return s;
  }
  SwimDrop from_relay(std::vector<MemberUpdate> updates, int64_t now_us = 10) {
    return member.on_datagram(now_us, addr_n(2), test::gossip_datagram(relay.node_id(), std::move(updates)), out);
  }
  const Member* find(const crypto::Identity& k) const { return member.table().find(k.node_id()); }
};

}  // namespace

TEST_CASE("swim admission: the sender must be the peer the transport authenticated",
          "[membership][swim][admission]") {
  Fixture f;
  // The authenticated relay speaks for itself: accepted.
  CHECK(f.from_relay({signed_alive(f.relay, 2, 1)}) == SwimDrop::none);
  CHECK(f.find(f.relay) != nullptr);
  CHECK(f.out.rejections.empty());

  // Address 2 claims to be X: refused, nothing in it merged.
  const auto claim = test::gossip_datagram(f.x.node_id(), {signed_alive(f.x, 5, 1)});
  CHECK(f.member.on_datagram(20, addr_n(2), claim, f.out) == SwimDrop::sender_mismatch);
  CHECK(f.find(f.x) == nullptr);
  REQUIRE(f.out.rejections.size() == 1);
  CHECK(f.out.rejections[0].reason == SwimDrop::sender_mismatch);
  CHECK(f.out.rejections[0].from == addr_n(2));
  CHECK(f.out.rejections[0].claimed == f.x.node_id());

  // No authenticated peer at address 9 at all: refused.
  const auto stranger = test::gossip_datagram(f.x.node_id(), {});
  CHECK(f.member.on_datagram(30, addr_n(9), stranger, f.out) == SwimDrop::sender_mismatch);
  CHECK(f.member.counters().dropped[static_cast<size_t>(SwimDrop::sender_mismatch)] == 2);
  CHECK(f.member.counters().identity_rejections == 2);
}

TEST_CASE("swim admission: an alive about another node needs its bound key, or for a new node its own key",
          "[membership][swim][admission]") {
  Fixture f;
  // X is new to us: its alive, signed with the key its id derives from, is accepted.
  CHECK(f.from_relay({signed_alive(f.x, 5, 1)}) == SwimDrop::none);
  REQUIRE(f.find(f.x) != nullptr);
  CHECK(f.find(f.x)->public_key == f.x.public_key());

  // An alive about X with another (validly self-signed) key: X's key is bound.
  MemberUpdate hijack = signed_alive(f.other, 5, 2);
  hijack.id = f.x.node_id();
  hijack.signature = f.other.sign(update_signing_bytes(hijack));
  CHECK(f.from_relay({hijack}) == SwimDrop::identity_rejected);
  CHECK(f.find(f.x)->incarnation == 1);
  REQUIRE(f.out.rejections.size() == 1);
  CHECK(f.out.rejections[0].claimed == f.x.node_id());

  // A node new to us whose id is not its key's: refused, not inserted.
  MemberUpdate invented = signed_alive(f.other, 6, 1);
  invented.id = NodeId{};
  invented.id.bytes[0] = 0x42;
  invented.signature = f.other.sign(update_signing_bytes(invented));
  CHECK(f.from_relay({invented}) == SwimDrop::identity_rejected);
  CHECK(f.member.table().find(invented.id) == nullptr);

  // The sender may rotate its own key: about itself no binding applies.
  const crypto::Identity rotated = key_n(7);
  MemberUpdate self_rotation = signed_alive(rotated, 2, 5);
  self_rotation.id = f.relay.node_id();
  self_rotation.signature = rotated.sign(update_signing_bytes(self_rotation));
  CHECK(f.from_relay({self_rotation}) == SwimDrop::none);
  CHECK(f.find(f.relay)->public_key == rotated.public_key());
}

TEST_CASE("swim admission: alive and left need a valid signature, checked once per fact",
          "[membership][swim][admission]") {
  Fixture f;
  const MemberUpdate a1 = signed_alive(f.x, 5, 1);
  CHECK(f.from_relay({a1}) == SwimDrop::none);
  CHECK(f.member.counters().signatures_verified == 1);
  // The identical fact again: already verified when it entered the table.
  CHECK(f.from_relay({a1}) == SwimDrop::none);
  CHECK(f.member.counters().signatures_verified == 1);

  // Altered in transit (hostname changed, signature kept): refused.
  MemberUpdate altered = signed_alive(f.x, 5, 2);
  altered.hostname = "evil";
  CHECK(f.from_relay({altered}) == SwimDrop::bad_signature);
  CHECK(f.find(f.x)->hostname == "n5");

  // A left X never signed: refused; X's own signed left: accepted.
  MemberUpdate left;
  left.id = f.x.node_id();
  left.incarnation = 1;
  left.status = MemberStatus::left;
  left.public_key = f.x.public_key();
  CHECK(f.from_relay({left}) == SwimDrop::bad_signature);
  CHECK(f.find(f.x)->status == MemberStatus::alive);
  left.signature = f.x.sign(update_signing_bytes(left));
  CHECK(f.from_relay({left}) == SwimDrop::none);
  CHECK(f.find(f.x)->status == MemberStatus::left);
  CHECK(f.member.counters().dropped[static_cast<size_t>(SwimDrop::bad_signature)] == 2);
}

TEST_CASE("swim admission: one bad update drops the whole datagram", "[membership][swim][admission]") {
  Fixture f;
  MemberUpdate forged = signed_alive(f.other, 6, 1);
  forged.signature[0] ^= 1;
  // The good update rides first; nothing of the datagram may be used.
  CHECK(f.from_relay({signed_alive(f.x, 5, 1), forged}) == SwimDrop::bad_signature);
  CHECK(f.find(f.x) == nullptr);
  CHECK(f.find(f.other) == nullptr);
  CHECK(f.out.send.empty());
  // Suspect/failed are anyone's observation: not signed, not checked.
  MemberUpdate suspect;
  suspect.id = f.x.node_id();
  suspect.status = MemberStatus::suspect;
  suspect.incarnation = 1;
  suspect.origin = f.relay.node_id();
  CHECK(f.from_relay({suspect}) == SwimDrop::none);
}

TEST_CASE("swim admission: without a verifier nothing is checked (plaintext)", "[membership][swim][admission]") {
  Fixture f{SwimVerifier{}};
  MemberUpdate unsigned_x = signed_alive(f.x, 5, 1);
  unsigned_x.signature = {};
  const auto from_anyone = test::gossip_datagram(f.x.node_id(), {unsigned_x});
  CHECK(f.member.on_datagram(10, addr_n(9), from_anyone, f.out) == SwimDrop::none);
  CHECK(f.find(f.x) != nullptr);
  CHECK(f.member.counters().signatures_verified == 0);
  CHECK(f.out.rejections.empty());
}

TEST_CASE("swim admission: admit() alone, over a bare table", "[membership][swim][admission]") {
  const crypto::Identity relay = key_n(2), x = key_n(5);
  MemberTable table(16);
  const SwimVerifier v = verifier_for({{addr_n(2), relay.node_id()}});
  SwimMessage m;
  m.type = SwimType::gossip;
  m.sender = relay.node_id();
  m.updates = {signed_alive(x, 5, 1)};
  AdmissionResult ok = admit(v, table, addr_n(2), m);
  CHECK(ok.drop == SwimDrop::none);
  CHECK_FALSE(ok.rejection.has_value());
  CHECK(ok.signatures_verified == 1);
  AdmissionResult wrong_addr = admit(v, table, addr_n(3), m);
  CHECK(wrong_addr.drop == SwimDrop::sender_mismatch);
  REQUIRE(wrong_addr.rejection.has_value());
  CHECK(wrong_addr.rejection->detail == "no authenticated peer at this address");
}
