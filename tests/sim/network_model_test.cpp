// NetworkModel through World: statistics of loss, duplication, corruption
// and reordering; partitions; clogging; queue and MTU limits.
#include <catch2/catch.hpp>

#include <bit>

#include "sim/world.h"
#include "tests/sim/test_services.h"

using namespace meshd;
using namespace meshd::sim;
using meshd::sim::test::bytes_of;
using meshd::sim::test::sink_factory;

namespace {
using Inbox = std::vector<std::vector<uint8_t>>;

struct Net {
  explicit Net(size_t nodes, uint64_t seed = 11) : w(seed), inboxes(nodes) {
    for (size_t i = 0; i < nodes; ++i) w.add_node(sink_factory(&inboxes[i]));
    w.start_all();
  }
  Status send(size_t from, size_t to, const std::string& text) {
    return w.env(from)->network.send(w.address_of(to), bytes_of(text));
  }
  uint64_t counter(const char* name) { return w.network().counters().at(name); }
  World w;
  std::vector<Inbox> inboxes;
};

std::vector<uint8_t> payload(size_t k) {
  std::vector<uint8_t> p(64);
  for (size_t i = 0; i < p.size(); ++i) p[i] = static_cast<uint8_t>(k * 31 + i);
  return p;
}
}  // namespace

TEST_CASE("addresses are stable and invertible", "[sim][net]") {
  Net n(300);
  CHECK(n.w.address_of(0).to_string() == "10.0.0.0:7000");
  CHECK(n.w.address_of(258).to_string() == "10.0.1.2:7000");
  for (size_t i : {0, 1, 255, 256, 299}) CHECK(n.w.node_of(n.w.address_of(i)) == i);
  CHECK(!n.w.node_of(Address{0x0A00012C, 7000}));  // node 300 does not exist
  CHECK(!n.w.node_of(Address{0x0A000001, 7001}));
}

TEST_CASE("10% loss over 20k datagrams lands near 10%", "[sim][net]") {
  Net n(2);
  LinkConfig cfg;
  cfg.loss = 0.10;
  cfg.queue_packets_max = 100'000;
  n.w.network().set_default_link(cfg);
  constexpr size_t kSent = 20'000;
  for (size_t k = 0; k < kSent; ++k) REQUIRE(n.send(0, 1, "x"));
  n.w.run_until(10 * kMicrosPerSecond);
  const double lost = static_cast<double>(n.counter("dropped_loss")) / kSent;
  CHECK(lost > 0.09);
  CHECK(lost < 0.11);
  CHECK(n.inboxes[1].size() + n.counter("dropped_loss") == kSent);
  CHECK(n.counter("delivered") == n.inboxes[1].size());
}

TEST_CASE("duplication delivers extra copies at the configured rate", "[sim][net]") {
  Net n(2);
  LinkConfig cfg;
  cfg.duplicate = 0.05;
  cfg.queue_packets_max = 100'000;
  n.w.network().set_default_link(cfg);
  constexpr size_t kSent = 20'000;
  for (size_t k = 0; k < kSent; ++k) REQUIRE(n.send(0, 1, "d"));
  n.w.run_until(10 * kMicrosPerSecond);
  const double dup = static_cast<double>(n.inboxes[1].size() - kSent) / kSent;
  CHECK(dup > 0.04);
  CHECK(dup < 0.06);
  CHECK(n.counter("duplicated") == n.inboxes[1].size() - kSent);
}

TEST_CASE("corruption flips 1 to 3 bits of the delivered copy", "[sim][net]") {
  Net n(2);
  LinkConfig cfg;
  cfg.corrupt = 1.0;
  cfg.latency_us_mean = 0;  // constant latency: arrival order == send order
  n.w.network().set_default_link(cfg);
  constexpr size_t kSent = 500;
  for (size_t k = 0; k < kSent; ++k) {
    auto p = payload(k);
    REQUIRE(n.w.env(0)->network.send(n.w.address_of(1), p));
  }
  n.w.run_until(kMicrosPerSecond);
  REQUIRE(n.inboxes[1].size() == kSent);
  size_t flips_seen[4] = {0, 0, 0, 0};
  for (size_t k = 0; k < kSent; ++k) {
    auto want = payload(k);
    const auto& got = n.inboxes[1][k];
    REQUIRE(got.size() == want.size());
    int flipped = 0;
    for (size_t i = 0; i < want.size(); ++i) flipped += std::popcount(static_cast<uint8_t>(want[i] ^ got[i]));
    // Two draws may hit the same bit and cancel; never more than 3.
    CHECK(flipped <= 3);
    ++flips_seen[flipped];
  }
  CHECK(flips_seen[1] > 0);
  CHECK(flips_seen[3] > 0);
  CHECK(flips_seen[0] < kSent / 20);
  CHECK(n.counter("corrupted") == kSent);
}

TEST_CASE("reordering lets later datagrams overtake; none without it", "[sim][net]") {
  for (double reorder : {0.0, 0.2}) {
    Net n(2);
    LinkConfig cfg;
    cfg.latency_us_mean = 0;
    cfg.reorder = reorder;
    n.w.network().set_default_link(cfg);
    for (size_t k = 0; k < 200; ++k) {
      const size_t at_us = k * 100;  // 100 us apart, reorder delay 5 ms
      n.w.at(static_cast<int64_t>(at_us), [&n, k] { REQUIRE(n.send(0, 1, std::to_string(k))); });
    }
    n.w.run_until(kMicrosPerSecond);
    REQUIRE(n.inboxes[1].size() == 200);
    size_t inversions = 0;
    for (size_t i = 1; i < 200; ++i) {
      const auto a = std::stoul(std::string(n.inboxes[1][i - 1].begin(), n.inboxes[1][i - 1].end()));
      const auto b = std::stoul(std::string(n.inboxes[1][i].begin(), n.inboxes[1][i].end()));
      if (b < a) ++inversions;
    }
    if (reorder == 0.0) {
      CHECK(inversions == 0);
    } else {
      CHECK(inversions > 10);
      CHECK(n.counter("reordered") > 20);
    }
  }
}

TEST_CASE("asymmetric, symmetric and non-transitive partitions", "[sim][net]") {
  Net n(3);
  auto round = [&] {
    for (auto& inbox : n.inboxes) inbox.clear();
    for (size_t a = 0; a < 3; ++a) {
      for (size_t b = 0; b < 3; ++b) {
        if (a != b) REQUIRE(n.send(a, b, std::to_string(a)));
      }
    }
    n.w.run_until(n.w.now_us() + 100'000);
  };
  auto got_from = [&](size_t to, size_t from) {
    for (const auto& m : n.inboxes[to]) {
      if (std::string(m.begin(), m.end()) == std::to_string(from)) return true;
    }
    return false;
  };
  n.w.network().block(0, 1);  // asymmetric: 0 cannot reach 1, 1 reaches 0
  round();
  CHECK(!got_from(1, 0));
  CHECK(got_from(0, 1));
  CHECK(n.w.network().blocked(0, 1));
  CHECK(!n.w.network().blocked(1, 0));
  n.w.network().heal_all();
  n.w.network().partition({0}, {1, 2});  // symmetric
  round();
  CHECK(!got_from(1, 0));
  CHECK(!got_from(0, 2));
  CHECK(!got_from(2, 0));
  CHECK(got_from(1, 2));
  CHECK(got_from(2, 1));
  n.w.network().heal_all();
  n.w.network().partition({0}, {2});  // non-transitive: 0 -/- 2 but both reach 1
  round();
  CHECK(!got_from(2, 0));
  CHECK(got_from(1, 0));
  CHECK(got_from(2, 1));
  CHECK(got_from(0, 1));
  n.w.network().heal_all();
  round();
  CHECK(n.inboxes[0].size() == 2);
  CHECK(n.inboxes[1].size() == 2);
  CHECK(n.inboxes[2].size() == 2);
}

TEST_CASE("a partition also drops datagrams already in flight", "[sim][net]") {
  Net n(2);
  REQUIRE(n.send(0, 1, "late"));
  n.w.network().block(0, 1);
  n.w.run_until(100'000);
  CHECK(n.inboxes[1].empty());
  CHECK(n.counter("dropped_partition") == 1);
  CHECK(n.w.network().in_flight(0, 1) == 0);
}

TEST_CASE("clog holds datagrams and unclog releases them in order", "[sim][net]") {
  Net n(2);
  LinkConfig cfg;
  cfg.latency_us_mean = 0;
  n.w.network().set_default_link(cfg);
  n.w.network().clog(0, 1);
  for (int k = 0; k < 5; ++k) REQUIRE(n.send(0, 1, std::to_string(k)));
  n.w.run_until(1'000'000);
  CHECK(n.inboxes[1].empty());
  CHECK(n.w.network().in_flight(0, 1) == 5);
  REQUIRE(n.send(1, 0, "other way"));  // clogging is directed
  n.w.run_until(1'100'000);
  CHECK(n.inboxes[0].size() == 1);
  n.w.at(1'200'000, [&] { n.w.network().unclog(0, 1); });
  n.w.run_until(1'200'000);
  REQUIRE(n.inboxes[1].size() == 5);
  for (int k = 0; k < 5; ++k) CHECK(std::string(n.inboxes[1][k].begin(), n.inboxes[1][k].end()) == std::to_string(k));
  CHECK(n.counter("dropped_loss") + n.counter("dropped_partition") == 0);
}

TEST_CASE("queue overflow and MTU drops are counted", "[sim][net]") {
  Net n(2);
  LinkConfig cfg;
  cfg.queue_packets_max = 10;
  cfg.mtu_bytes = 100;
  n.w.network().set_default_link(cfg);
  size_t refused = 0;
  for (int k = 0; k < 20; ++k) {
    Status s = n.send(0, 1, "q");
    if (!s) {
      CHECK(s.code() == Errc::unavailable);
      ++refused;
    }
  }
  CHECK(refused == 10);
  CHECK(n.counter("dropped_queue") == 10);
  REQUIRE(n.send(0, 1, std::string(200, 'm')));  // accepted by the endpoint, dropped by the link
  CHECK(n.counter("dropped_mtu") == 1);
  CHECK(n.send(0, 1, std::string(kDatagramBytesMax + 1, 'm')).code() == Errc::too_large);
  n.w.run_until(1'000'000);
  CHECK(n.inboxes[1].size() == 10);
  // The queue drained: sending works again.
  CHECK(n.send(0, 1, "again"));
}

TEST_CASE("datagrams to a down node are dropped; to a paused node they wait", "[sim][net]") {
  Net n(2);
  n.w.crash(1);
  REQUIRE(n.send(0, 1, "to the dead"));
  n.w.run_until(100'000);
  CHECK(n.counter("dropped_node_down") == 1);
  LinkConfig cfg;
  cfg.latency_us_mean = 0;  // no jitter: arrival order == send order
  n.w.network().set_default_link(cfg);
  n.w.restart(1);
  n.w.pause(1);
  REQUIRE(n.send(0, 1, "a"));
  REQUIRE(n.send(0, 1, "b"));
  n.w.run_until(200'000);
  CHECK(n.inboxes[1].empty());
  n.w.resume(1);
  n.w.run_until(200'000);
  REQUIRE(n.inboxes[1].size() == 2);
  CHECK(n.inboxes[1][0] == std::vector<uint8_t>{'a'});
  CHECK(n.inboxes[1][1] == std::vector<uint8_t>{'b'});
}

TEST_CASE("each link draws from its own stream", "[sim][net]") {
  // Adding traffic on link 0->2 must not change which datagrams 0->1 loses.
  auto losses_on_0_1 = [](bool extra_traffic) {
    Net n(3, 99);
    LinkConfig cfg;
    cfg.loss = 0.3;
    n.w.network().set_default_link(cfg);
    for (int k = 0; k < 200; ++k) {
      n.w.at(k * 1'000, [&n, k, extra_traffic] {
        REQUIRE(n.send(0, 1, std::to_string(k)));
        if (extra_traffic) REQUIRE(n.send(0, 2, "noise"));
      });
    }
    n.w.run_until(kMicrosPerSecond);
    std::vector<std::string> got;
    for (auto& m : n.inboxes[1]) got.emplace_back(m.begin(), m.end());
    return got;
  };
  CHECK(losses_on_0_1(false) == losses_on_0_1(true));
}

TEST_CASE("LinkStream is keyed, bounded and uniform enough", "[sim][net]") {
  const Random root = Random::from_seed(5);
  LinkStream a(root.stream("net", "link:0->1"));
  LinkStream a2(root.stream("net", "link:0->1"));
  LinkStream b(root.stream("net", "link:1->0"));
  size_t same_as_b = 0;
  uint64_t buckets[10] = {};
  for (int i = 0; i < 10'000; ++i) {
    const uint64_t x = a.below(10);
    REQUIRE(x < 10);
    REQUIRE(a2.below(10) == x);
    if (b.below(10) == x) ++same_as_b;
    ++buckets[x];
  }
  CHECK(same_as_b < 1'300);  // independent streams agree ~10% of the time
  for (uint64_t n : buckets) CHECK((n > 850 && n < 1'150));
  int64_t sum = 0;
  for (int i = 0; i < 10'000; ++i) {
    const int64_t e = a.exponential(100);
    REQUIRE((e >= 0 && e <= 6'400));
    sum += e;
  }
  CHECK((sum > 900'000 && sum < 1'100'000));  // mean ~100
}
