// ProtocolDriver: runs one protocol state machine (protocol.h) on an Env.
// It replaces the hand-written service loops (they had drifted apart), so
// every protocol gets the same fiber, the same stop and the same counters.
//
// One fiber (options.fiber_name) sleeps until the machine's
// next_deadline_us(), ticks it, and hands the output over: datagrams are
// sent through env.network (counted), the rest goes to the owner's
// OutputHandler (events, logs). Datagrams come in through on_datagram()
// (loop context or another fiber) and are handled at once; other inputs
// (announce, leave) go through input(). After any input the fiber is woken
// only if the machine's deadline moved earlier than the one it sleeps
// until, or the machine finished.
//
// Lifecycle: start() spawns the fiber; stop() stops at once (idempotent,
// callable from the driver's own fiber, from another fiber or from loop
// context); once the machine reports finished() the fiber calls
// on_finished (once) and ends. A stopped driver drops every input.
//
// Counters, for prefix P (options.metric_prefix, e.g. "meshd_swim"):
// P_sent_total, P_send_failed_total, P_received_total (accepted datagrams)
// and P_dropped_total{reason=...} for every drop reason but none.
//
// Fault points: options.late_wake (a BuggifyPoint) makes the fiber wake up
// to late_wake_max_us after the deadline (a scheduler hiccup); the machine
// must cope, as it must with a slow real host.
// Single-threaded; not copyable.
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <functional>
#include <optional>
#include <string>
#include <utility>

#include "core/env/assert.h"
#include "core/env/env.h"
#include "core/env/protocol.h"

namespace meshd {

struct ProtocolDriverOptions {
  std::string_view fiber_name;      // "swim"
  std::string_view metric_prefix;   // "meshd_swim"
  std::string_view noun;            // "SWIM": used in the series' help texts
  std::optional<BuggifyPoint> late_wake;
  int64_t late_wake_max_us = 0;
};

template <ProtocolMachine M>
class ProtocolDriver {
 public:
  using Output = typename M::Output;
  using Drop = typename M::Drop;
  using OutputHandler = std::function<void(Output&)>;

  ProtocolDriver(Env& env, M& machine, const ProtocolDriverOptions& options, OutputHandler on_output,
                 std::function<void()> on_finished = {})
      : env_(env),
        machine_(machine),
        options_(options),
        on_output_(std::move(on_output)),
        on_finished_(std::move(on_finished)),
        wake_(env.runtime),
        sent_(env.metrics.counter(series("sent_total"), help("datagrams sent"))),
        send_failed_(env.metrics.counter(series("send_failed_total"), help("datagrams the network refused"))),
        received_(env.metrics.counter(series("received_total"), help("datagrams accepted"))) {
    MESHD_ASSERT(!options_.fiber_name.empty() && !options_.metric_prefix.empty());
    MESHD_ASSERT(!options_.late_wake || options_.late_wake_max_us > 0);
    for (size_t r = 1; r < M::kDropReasons; ++r) {
      dropped_[r] = &env.metrics.counter(
          fmt::format("{}_dropped_total{{reason=\"{}\"}}", options_.metric_prefix,
                      drop_reason_name(static_cast<Drop>(r))),
          help("datagrams dropped, by reason"));
    }
  }
  ~ProtocolDriver() { stop(); }
  ProtocolDriver(const ProtocolDriver&) = delete;
  ProtocolDriver& operator=(const ProtocolDriver&) = delete;

  Status start() {
    MESHD_ASSERT(!fiber_ && !stopping_);
    auto id = env_.runtime.spawn(options_.fiber_name, [this] { run(); });
    if (!id) return id.status();
    fiber_ = *id;
    return Status::ok();
  }

  // Stops at once. Idempotent.
  void stop() {
    stopping_ = true;
    if (fiber_ && !finished_ && env_.runtime.alive(*fiber_)) {
      // Our own fiber (an output handler stopping the service) returns by
      // itself once it sees stopping_; any other caller cancels it.
      if (!env_.runtime.in_fiber() || env_.runtime.current_fiber() != *fiber_) env_.runtime.cancel(*fiber_);
    }
    wake_.set();
  }

  // Started and not finished (a stop() does not clear it: callers that
  // stop know they did).
  bool running() const { return fiber_.has_value() && !finished_; }
  bool stopping() const { return stopping_; }
  bool finished() const { return finished_; }

  // One datagram for the machine. Counted: received or dropped by reason.
  void on_datagram(const Address& from, std::span<const uint8_t> bytes) {
    if (stopping_) return;
    Output out;
    const Drop drop = machine_.on_datagram(env_.clock.monotonic_us(), from, bytes, out);
    const auto r = static_cast<size_t>(drop);
    MESHD_ASSERT(r < M::kDropReasons);
    if (drop == Drop{}) {
      ++received_;
    } else {
      ++*dropped_[r];
    }
    deliver(out);
  }

  // Any other input: f(now_us, out) against the machine, then the output
  // is delivered and the fiber woken if needed. Returns what f returns.
  // Not while stopped (the caller checks stopping()).
  template <class F>
  decltype(auto) input(F&& f) {
    MESHD_ASSERT(!stopping_);
    Output out;
    struct Deliver {
      ProtocolDriver& d;
      Output& out;
      ~Deliver() { d.deliver(out); }
    } deliver_after{*this, out};
    return std::forward<F>(f)(env_.clock.monotonic_us(), out);
  }

  uint64_t sent() const { return sent_; }
  uint64_t send_failed() const { return send_failed_; }
  uint64_t received() const { return received_; }
  uint64_t dropped(Drop reason) const {
    const auto r = static_cast<size_t>(reason);
    MESHD_ASSERT(r < M::kDropReasons);
    return r == 0 ? 0 : *dropped_[r];
  }

 private:
  std::string series(std::string_view what) const { return fmt::format("{}_{}", options_.metric_prefix, what); }
  std::string help(std::string_view what) const { return fmt::format("{} {}", options_.noun, what); }

  void run() {
    while (!stopping_) {
      int64_t wake_at = machine_.next_deadline_us();
      if (options_.late_wake && wake_at != kNoDeadline && buggify(env_, *options_.late_wake)) {
        wake_at = std::max(wake_at, env_.clock.monotonic_us()) +
                  static_cast<int64_t>(env_.buggify->below(static_cast<uint64_t>(options_.late_wake_max_us) + 1));
      }
      sleeping_until_us_ = wake_at;
      sleeping_ = true;
      const Status s = wake_.wait(wake_at);
      sleeping_ = false;
      if (s.code() == Errc::cancelled || stopping_) return;
      wake_.reset();
      if (machine_.finished()) return finish();
      const int64_t now_us = env_.clock.monotonic_us();
      if (now_us < machine_.next_deadline_us()) continue;  // woken early: the deadline moved
      Output out;
      machine_.on_tick(now_us, out);  // asserts it moved past now_us
      deliver(out);
      if (machine_.finished()) return finish();
    }
  }

  void finish() {
    MESHD_ASSERT(!finished_);
    stopping_ = true;
    finished_ = true;
    if (auto done = std::move(on_finished_)) done();
  }

  void deliver(Output& out) {
    for (const Datagram& d : out.send) {
      if (env_.network.send(d.to, d.bytes)) {
        ++sent_;
      } else {
        ++send_failed_;
      }
    }
    if (on_output_) on_output_(out);
    // The fiber sleeps until sleeping_until_us_: wake it only if the
    // machine now wants it sooner (or is done). A fiber not asleep (not yet
    // started, or this is its own tick) reads the deadline before it sleeps.
    if (sleeping_ && !stopping_ && (machine_.finished() || machine_.next_deadline_us() < sleeping_until_us_)) {
      wake_.set();
    }
  }

  Env& env_;
  M& machine_;
  ProtocolDriverOptions options_;
  OutputHandler on_output_;
  std::function<void()> on_finished_;
  Event wake_;
  std::optional<Runtime::FiberId> fiber_;
  bool stopping_ = false;
  bool finished_ = false;
  bool sleeping_ = false;                 // the fiber is parked in wake_.wait()
  int64_t sleeping_until_us_ = kNoDeadline;  // ... until then
  uint64_t& sent_;
  uint64_t& send_failed_;
  uint64_t& received_;
  std::array<uint64_t*, M::kDropReasons> dropped_{};
};

}  // namespace meshd
