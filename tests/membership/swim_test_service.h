// SwimTestService: the production SwimService (core/membership/swim_service.h)
// hosted directly on a simulated node, without a Node or a transport: the
// receive handler feeds every datagram to it. Every membership event is
// appended to a shared SwimRecorder with the observer's index and the
// global time; every datagram sent is counted per node.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "core/membership/swim_service.h"
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
      : env_(env), index_(index), service_(env, config, self, std::move(seeds)),
        recorder_(recorder), global_now_(std::move(global_now)) {
    service_.set_send_observer([this](const SwimDatagram&) {
      if (!recorder_) return;
      if (recorder_->sent_by_node.size() <= index_) recorder_->sent_by_node.resize(index_ + 1);
      ++recorder_->sent_by_node[index_];
    });
    service_.set_observer([this](const MemberEvent& e) {
      if (recorder_) recorder_->events.push_back(RecordedEvent{index_, node_index_of(e.id), e, global_now_()});
    });
  }
  ~SwimTestService() override { env_.network.set_receive_handler(nullptr); }

  void start() override {
    env_.network.set_receive_handler([this](const Address& from, std::span<const uint8_t> bytes) {
      service_.on_datagram(from, bytes);
    });
    MESHD_ASSERT(service_.start().is_ok());
  }

  void leave() { service_.leave({}); }

  nlohmann::json snapshot() const override {
    nlohmann::json members = nlohmann::json::object();
    for (const auto& [id, m] : swim().table().members()) {
      members[std::to_string(node_index_of(id))] = member_status_name(m.status);
    }
    return {{"incarnation", swim().incarnation()}, {"health", swim().health()}, {"members", members}};
  }

  const SwimMember& swim() const { return service_.member(); }
  SwimService& service() { return service_; }

 private:
  Env& env_;
  size_t index_;
  SwimService service_;
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
