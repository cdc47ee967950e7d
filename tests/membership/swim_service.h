// SwimTestService: runs one SwimMember on a simulated node, the way
// LivenessService runs a LivenessTracker: one fiber sleeps until the
// machine's next tick (or until a datagram may have moved it earlier),
// ticks it and sends what it produced; datagrams are fed in from the
// receive handler (loop context). Every membership event is appended to a
// shared SwimRecorder with the observer's index and the global time.
// Test-only: Node wiring of SWIM is a later change (docs/membership.md).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "core/membership/swim.h"
#include "sim/world.h"

namespace meshd::membership::test {

struct RecordedEvent {
  size_t observer = 0;
  size_t subject = 0;
  MemberEvent event;
  int64_t global_us = 0;
};

struct SwimRecorder {
  std::vector<RecordedEvent> events;
  std::vector<uint64_t> sent_by_node;  // datagrams, indexed by node
};

// Node i's identity: a fixed, non-zero NodeId that encodes i.
inline NodeId node_id_of(size_t i) {
  NodeId id;
  id.bytes[0] = 0xA5;
  id.bytes[14] = static_cast<uint8_t>(i >> 8);
  id.bytes[15] = static_cast<uint8_t>(i & 0xFF);
  return id;
}
inline size_t node_index_of(const NodeId& id) {
  return (size_t{id.bytes[14]} << 8) | id.bytes[15];
}

class SwimTestService final : public sim::Service {
 public:
  SwimTestService(Env& env, size_t index, const SwimConfig& config, SwimIdentity self,
                  std::vector<Address> seeds, SwimRecorder* recorder,
                  std::function<int64_t()> global_now)
      : env_(env), index_(index),
        swim_(config, self, std::move(seeds), env.random.stream("membership", "swim"),
              env.clock.monotonic_us()),
        wake_(env.runtime), recorder_(recorder), global_now_(std::move(global_now)) {}
  ~SwimTestService() override { env_.network.set_receive_handler(nullptr); }

  void start() override {
    env_.network.set_receive_handler([this](const Address& from, std::span<const uint8_t> bytes) {
      SwimOutput out;
      (void)swim_.on_datagram(from, bytes, env_.clock.monotonic_us(), out);
      flush(out);
      wake_.set();  // the next tick may have moved earlier
    });
    (void)env_.runtime.spawn("swim", [this] { run(); });
  }

  void leave() {
    SwimOutput out;
    swim_.leave(env_.clock.monotonic_us(), out);
    flush(out);
    wake_.set();
  }

  nlohmann::json snapshot() const override {
    nlohmann::json members = nlohmann::json::object();
    for (const auto& [id, m] : swim_.table().members()) {
      members[std::to_string(node_index_of(id))] = member_status_name(m.status);
    }
    return {{"incarnation", swim_.incarnation()}, {"health", swim_.health()}, {"members", members}};
  }

  const SwimMember& swim() const { return swim_; }

 private:
  void run() {
    for (;;) {
      Status s = wake_.wait(swim_.next_tick_us());
      if (s.code() == Errc::cancelled) return;
      wake_.reset();
      const int64_t now = env_.clock.monotonic_us();
      if (now < swim_.next_tick_us()) continue;
      SwimOutput out;
      swim_.on_tick(now, out);
      flush(out);
      MESHD_ASSERT_MSG(env_.clock.monotonic_us() < swim_.next_tick_us(), "swim tick did not advance");
    }
  }

  void flush(SwimOutput& out) {
    for (const SwimDatagram& d : out.send) {
      (void)env_.network.send(d.to, d.bytes);
      if (recorder_) {
        if (recorder_->sent_by_node.size() <= index_) recorder_->sent_by_node.resize(index_ + 1);
        ++recorder_->sent_by_node[index_];
      }
    }
    if (!recorder_) return;
    for (const MemberEvent& e : out.events) {
      recorder_->events.push_back(RecordedEvent{index_, node_index_of(e.id), e, global_now_()});
    }
  }

  Env& env_;
  size_t index_;
  SwimMember swim_;
  Event wake_;
  SwimRecorder* recorder_;
  std::function<int64_t()> global_now_;
};

// Builds a factory for node i of a world: seeds = {node 0}, incarnation =
// the world's boot count (so a restart rejoins higher), hostname "node-i".
inline sim::ServiceFactory swim_factory(sim::World& world, SwimConfig config,
                                        SwimRecorder* recorder) {
  return [&world, config, recorder](Env& env, size_t index) -> std::unique_ptr<sim::Service> {
    SwimIdentity self;
    self.id = node_id_of(index);
    self.address = world.address_of(index);
    self.hostname = "node-" + std::to_string(index);
    self.public_key[0] = static_cast<uint8_t>(index);
    self.incarnation = world.incarnation(index) + 1;
    std::vector<Address> seeds{world.address_of(0)};
    return std::make_unique<SwimTestService>(env, index, config, std::move(self), std::move(seeds),
                                             recorder, [&world] { return world.now_us(); });
  };
}

inline SwimTestService* swim_service(sim::World& world, size_t i) {
  return dynamic_cast<SwimTestService*>(world.service(i));
}

}  // namespace meshd::membership::test
