// The one protocol shape (core/env/protocol.h) and its driver
// (core/env/protocol_driver.h), with the Beacon example that
// docs/architecture.md ("One protocol shape") shows: the machine is stepped
// by hand without a runtime, then run by ProtocolDriver on two simulated
// nodes. If this file stops compiling, the documented example is stale.
#include <catch2/catch.hpp>

#include "core/env/protocol_driver.h"
#include "sim/world.h"
#include "tests/sim/test_services.h"

using namespace meshd;

namespace beacon {

// --- the example of docs/architecture.md, verbatim ------------------------
enum class BeaconDrop : uint8_t { none = 0, bad_length, stale };
inline std::string_view drop_reason_name(BeaconDrop d) {
  switch (d) {
    case BeaconDrop::none: return "none";
    case BeaconDrop::bad_length: return "bad_length";
    case BeaconDrop::stale: return "stale";
  }
  return "invalid";
}

struct BeaconOutput {
  std::vector<Datagram> send;      // the one datagram type
  std::vector<uint64_t> heard;     // counters heard from the peer
};

// Sends its counter to one peer every period_us; remembers the highest heard.
class Beacon {
 public:
  using Output = BeaconOutput;
  using Drop = BeaconDrop;
  static constexpr size_t kDropReasons = 3;

  Beacon(Address peer, int64_t period_us, int64_t now_us)
      : peer_(peer), period_us_(period_us), next_send_us_(now_us) {
    MESHD_ASSERT(period_us_ > 0);
  }
  void on_tick(int64_t now_us, Output& out) {
    if (now_us >= next_send_us_) {
      ++counter_;
      std::vector<uint8_t> b(8);
      for (int i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(counter_ >> (8 * i));
      out.send.push_back(Datagram{peer_, std::move(b)});
      next_send_us_ = now_us + period_us_;
    }
    MESHD_ASSERT(next_deadline_us() > now_us);  // a tick always moves forward
  }
  Drop on_datagram(int64_t, const Address&, std::span<const uint8_t> bytes, Output& out) {
    if (bytes.size() != 8) return Drop::bad_length;
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= uint64_t{bytes[i]} << (8 * i);
    if (v <= highest_) return Drop::stale;
    highest_ = v;
    out.heard.push_back(v);
    return Drop::none;
  }
  int64_t next_deadline_us() const { return next_send_us_; }  // every timer
  bool finished() const { return false; }
  uint64_t highest() const { return highest_; }

 private:
  Address peer_;
  int64_t period_us_;
  int64_t next_send_us_;
  uint64_t counter_ = 0;
  uint64_t highest_ = 0;
};
static_assert(ProtocolMachine<Beacon>);

// The service: the machine, what to do with its output, and the driver.
class BeaconService {
 public:
  BeaconService(Env& env, Address peer)
      : machine_(peer, 100'000, env.clock.monotonic_us()),
        driver_(env, machine_,
                ProtocolDriverOptions{.fiber_name = "beacon", .metric_prefix = "meshd_beacon",
                                      .noun = "beacon", .late_wake = std::nullopt, .late_wake_max_us = 0},
                [this](BeaconOutput& out) { heard_ += out.heard.size(); }) {
    env.network.set_receive_handler(
        [this](const Address& from, std::span<const uint8_t> b) { driver_.on_datagram(from, b); });
  }
  Status start() { return driver_.start(); }
  void stop() { driver_.stop(); }
  const Beacon& machine() const { return machine_; }
  const ProtocolDriver<Beacon>& driver() const { return driver_; }
  size_t heard() const { return heard_; }

 private:
  Beacon machine_;
  size_t heard_ = 0;
  ProtocolDriver<Beacon> driver_;  // last: its fiber uses the members above
};
// --- end of the example --------------------------------------------------

}  // namespace beacon

TEST_CASE("protocol shape: the Beacon machine stepped by hand", "[protocol]") {
  const Address peer{0x0a000002, 7000};
  beacon::Beacon b(peer, 100, 0);
  beacon::BeaconOutput out;
  b.on_tick(b.next_deadline_us(), out);
  REQUIRE(out.send.size() == 1);
  CHECK(out.send[0].to == peer);
  CHECK(b.next_deadline_us() == 100);
  // Its own datagram back: accepted once, then stale; garbage is bad_length.
  CHECK(b.on_datagram(5, peer, out.send[0].bytes, out) == beacon::BeaconDrop::none);
  CHECK(b.on_datagram(6, peer, out.send[0].bytes, out) == beacon::BeaconDrop::stale);
  CHECK(b.on_datagram(7, peer, std::vector<uint8_t>{1, 2}, out) == beacon::BeaconDrop::bad_length);
  CHECK(out.heard == std::vector<uint64_t>{1});
}

TEST_CASE("protocol driver: ticks at the deadline, counts, stops cleanly", "[protocol]") {
  sim::World w(7);
  std::vector<std::unique_ptr<beacon::BeaconService>> svcs(2);
  for (size_t i = 0; i < 2; ++i) {
    w.add_node(sim::test::lambda_factory([&, i](Env& env, size_t) {
      svcs[i] = std::make_unique<beacon::BeaconService>(env, w.address_of(1 - i));
      CHECK(svcs[i]->start().is_ok());
    }));
  }
  w.start_all();
  w.run_until(1'050'000);  // ~10 periods of 100 ms
  for (size_t i = 0; i < 2; ++i) {
    const auto& d = svcs[i]->driver();
    CHECK(d.running());
    CHECK(d.sent() >= 10);
    CHECK(d.sent() <= 12);
    CHECK(d.send_failed() == 0);
    CHECK(d.received() == svcs[1 - i]->driver().sent());  // lossless default link
    CHECK(d.dropped(beacon::BeaconDrop::stale) == 0);
    CHECK(svcs[i]->heard() == d.received());
    CHECK(w.metrics(i).value("meshd_beacon_sent_total") == static_cast<int64_t>(d.sent()));
    CHECK(w.metrics(i).has("meshd_beacon_dropped_total{reason=\"stale\"}"));
  }
  // A stopped driver sends nothing more and drops every input.
  svcs[0]->stop();
  const uint64_t sent = svcs[0]->driver().sent();
  const uint64_t received = svcs[0]->driver().received();
  w.run_until(2'050'000);
  CHECK(svcs[0]->driver().sent() == sent);
  CHECK(svcs[0]->driver().received() == received);
  CHECK(svcs[1]->driver().sent() >= sent + 9);
  for (auto& s : svcs) s.reset();  // before the world (and its runtimes) go
}
