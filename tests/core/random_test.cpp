#include <catch2/catch.hpp>

#include <map>
#include <vector>

#include "core/env/random.h"

using namespace meshd;

TEST_CASE("random: same key same draws; different seeds differ", "[random]") {
  auto a = Random::from_seed(42).stream("net", "loss");
  auto b = Random::from_seed(42).stream("net", "loss");
  auto c = Random::from_seed(43).stream("net", "loss");
  std::vector<uint64_t> va, vb, vc;
  for (int i = 0; i < 100; ++i) {
    va.push_back(a.next_u64());
    vb.push_back(b.next_u64());
    vc.push_back(c.next_u64());
  }
  CHECK(va == vb);
  CHECK(va != vc);
}

TEST_CASE("random: a draw added to one stream leaves others unchanged", "[random]") {
  Random root = Random::from_seed(7);
  auto reference = root.stream("disk", "torn");
  std::vector<uint64_t> expected;
  for (int i = 0; i < 50; ++i) expected.push_back(reference.next_u64());

  // Same run, but another component draws extra values in between.
  auto other = root.stream("net", "latency");
  auto mine = root.stream("disk", "torn");
  std::vector<uint64_t> got;
  for (int i = 0; i < 50; ++i) {
    other.next_u64();
    other.next_u64();
    got.push_back(mine.next_u64());
  }
  CHECK(got == expected);
}

TEST_CASE("random: streams are keyed by node, component and purpose", "[random]") {
  Random root = Random::from_seed(1);
  CHECK(root.for_node(0).stream("a", "b").next_u64() != root.for_node(1).stream("a", "b").next_u64());
  CHECK(root.stream("ab", "c").next_u64() != root.stream("a", "bc").next_u64());
  CHECK(root.stream("a", "b").next_u64() != root.stream("a", "c").next_u64());
}

TEST_CASE("random: below() is unbiased and in range", "[random]") {
  auto s = Random::from_seed(9).stream("test", "below");
  std::map<uint64_t, int> counts;
  const int n = 60'000;
  for (int i = 0; i < n; ++i) {
    uint64_t v = s.below(6);
    REQUIRE(v < 6);
    counts[v]++;
  }
  for (auto& [v, c] : counts) CHECK(std::abs(c - n / 6) < n / 60);  // within 10 %
  for (int i = 0; i < 1000; ++i) {
    int64_t r = s.range(-3, 3);
    REQUIRE(r >= -3);
    REQUIRE(r <= 3);
  }
}

TEST_CASE("random: chance and exponential have the right means", "[random]") {
  auto s = Random::from_seed(11).stream("test", "dist");
  int hits = 0;
  const int n = 100'000;
  for (int i = 0; i < n; ++i) hits += s.chance(0.1) ? 1 : 0;
  CHECK(hits > 9'500);
  CHECK(hits < 10'500);
  CHECK_FALSE(s.chance(0.0));
  CHECK(s.chance(1.0));
  int64_t sum = 0;
  for (int i = 0; i < n; ++i) {
    int64_t e = s.exponential(1000);
    REQUIRE(e >= 0);
    REQUIRE(e <= 64'000);
    sum += e;
  }
  const double mean = static_cast<double>(sum) / n;
  CHECK(mean > 970);
  CHECK(mean < 1030);
}
