// ProbeTable alone: one owner for the by-address and by-index maps.
#include <catch2/catch.hpp>

#include "core/crypto/identity.h"
#include "core/crypto/probe_table.h"
#include "tests/crypto/test_keys.h"

using namespace meshd;
using namespace meshd::crypto;
using namespace meshd::crypto::testing;

namespace {
struct Fixture {
  RandomStream rng{key_of(5)};
  Identity identity = Identity::generate(rng);
  Psk psk{};
  PendingInitiation pending(uint32_t index, int64_t started_us, int64_t next_retry_us) {
    HandshakeConfig c;
    c.protocol_name = "Noise_XXpsk3_25519_ChaChaPoly_BLAKE2b";
    c.local_static = identity.dh_private();
    c.psks = {psk};
    c.rng = &rng;
    auto hs = HandshakeState::create(c);
    REQUIRE(hs);
    PendingInitiation p{std::move(*hs)};
    p.local_index = index;
    p.xx = true;
    p.started_us = started_us;
    p.next_retry_us = next_retry_us;
    return p;
  }
};
const Address kA{0x0a000001, 5000};
const Address kB{0x0a000002, 5000};
}  // namespace

TEST_CASE("probe table: both maps follow insert, replace, take and erase", "[crypto][probes]") {
  Fixture f;
  ProbeTable probes(2);
  CHECK(probes.next_deadline_us(1'000) == INT64_MAX);
  probes.insert(kA, f.pending(11, 0, 500), CookieJar(f.psk));
  probes.insert(kB, f.pending(22, 100, 2'000), CookieJar(f.psk));
  CHECK(probes.full());
  CHECK(probes.address_of(11) == kA);
  CHECK(probes.address_of(22) == kB);
  CHECK(probes.next_deadline_us(1'000) == 500);  // A's retry before anyone's timeout
  probes.replace(kA, f.pending(33, 0, 5'000));    // a retry: new index
  CHECK_FALSE(probes.owns_index(11));
  CHECK(probes.address_of(33) == kA);
  CHECK(probes.next_deadline_us(1'000) == 1'000);  // A times out at started + 1000
  const Probe taken = probes.take(kB);
  CHECK(taken.pending.local_index == 22);
  CHECK_FALSE(probes.owns_index(22));
  CHECK_FALSE(probes.contains(kB));
  CHECK(probes.size() == 1);
  CHECK(probes.erase(kA));
  CHECK_FALSE(probes.erase(kA));
  CHECK_FALSE(probes.address_of(33));
  CHECK(probes.size() == 0);
  CHECK(probes.addresses().empty());
}

TEST_CASE("probe table: addresses come in order and are a snapshot", "[crypto][probes]") {
  Fixture f;
  ProbeTable probes;
  probes.insert(kB, f.pending(2, 0, 10), CookieJar(f.psk));
  probes.insert(kA, f.pending(1, 0, 10), CookieJar(f.psk));
  const auto all = probes.addresses();
  REQUIRE(all.size() == 2);
  CHECK(all[0] == kA);
  for (const Address& a : all) probes.erase(a);  // erasing while walking the snapshot is fine
  CHECK(probes.size() == 0);
}
