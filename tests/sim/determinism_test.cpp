// Same seed => same trace hash; different seed => different hash.
#include <catch2/catch.hpp>

#include "sim/world.h"
#include "tests/sim/test_services.h"

using namespace meshd;
using namespace meshd::sim;

namespace {
struct RunResult {
  uint64_t hash;
  uint64_t events;
  std::vector<TraceEvent> recorded;
  uint64_t pongs;
};

RunResult run(uint64_t seed, bool record, bool perturb = false) {
  World w(seed);
  w.trace().set_recording(record);
  LinkConfig cfg;
  cfg.loss = 0.05;
  cfg.duplicate = 0.02;
  cfg.reorder = 0.05;
  cfg.corrupt = 0.01;
  w.network().set_default_link(cfg);
  constexpr size_t kNodes = 5;
  for (size_t i = 0; i < kNodes; ++i) w.add_node(test::ping_factory(kNodes), NodeOptions{0, static_cast<int64_t>(i) * 100});
  w.start_all();
  w.at(300'000, [&] { w.network().partition({0, 1}, {2, 3, 4}); });
  w.at(600'000, [&] { w.network().heal_all(); });
  w.at(700'000, [&] { w.crash(2); });
  w.at(900'000, [&] { w.restart(2); });
  if (perturb) w.at(1'000'000, [&] { w.pause(4); });
  w.run_until(2 * kMicrosPerSecond);
  uint64_t pongs = 0;
  for (size_t i = 0; i < kNodes; ++i) {
    if (auto* s = w.service(i)) pongs += s->snapshot()["pongs"].get<uint64_t>();
  }
  return {w.trace().hash(), w.trace().events(), w.trace().recorded(), pongs};
}
}  // namespace

TEST_CASE("same seed, same trace hash; different seed, different hash", "[sim][determinism]") {
  const RunResult a = run(42, false);
  const RunResult b = run(42, false);
  const RunResult c = run(43, false);
  CHECK(a.events > 1'000);
  CHECK(a.pongs > 100);
  CHECK(a.hash == b.hash);
  CHECK(a.events == b.events);
  CHECK(a.hash != c.hash);
}

TEST_CASE("recording does not change the hash and names the first divergence",
          "[sim][determinism]") {
  const RunResult plain = run(42, false);
  const RunResult a = run(42, true);
  const RunResult b = run(42, true, /*perturb=*/true);
  CHECK(a.hash == plain.hash);
  REQUIRE(a.recorded.size() == a.events);
  CHECK(!first_divergence(a.recorded, a.recorded));
  const auto at = first_divergence(a.recorded, b.recorded);
  REQUIRE(at);
  // Nothing differs before the injected pause at t = 1 s.
  CHECK(b.recorded[*at].t_us == 1'000'000);
  CHECK(a.recorded[*at - 1].t_us <= 1'000'000);
}

TEST_CASE("digest_bytes separates lengths and contents", "[sim][determinism]") {
  std::vector<uint8_t> a(17, 0);
  std::vector<uint8_t> b(18, 0);
  CHECK(digest_bytes(a) != digest_bytes(b));
  auto c = a;
  c[16] = 1;
  CHECK(digest_bytes(a) != digest_bytes(c));
  c = a;
  c[3] = 1;
  CHECK(digest_bytes(a) != digest_bytes(c));
  CHECK(digest_bytes(a) == digest_bytes(std::vector<uint8_t>(17, 0)));
}
