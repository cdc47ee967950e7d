// Small Services for simulator tests: a lambda-driven one and a pinger.
#pragma once

#include <fmt/format.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sim/world.h"

namespace meshd::sim::test {

// Runs `on_start(env, index)` at start(); snapshot is empty.
class LambdaService final : public Service {
 public:
  using StartFn = std::function<void(Env&, size_t)>;
  LambdaService(Env& env, size_t index, StartFn on_start)
      : env_(env), index_(index), on_start_(std::move(on_start)) {}
  void start() override { on_start_(env_, index_); }
  nlohmann::json snapshot() const override { return nlohmann::json::object(); }

 private:
  Env& env_;
  size_t index_;
  StartFn on_start_;
};

inline ServiceFactory lambda_factory(LambdaService::StartFn on_start) {
  return [on_start](Env& env, size_t index) -> std::unique_ptr<Service> {
    return std::make_unique<LambdaService>(env, index, on_start);
  };
}

// A node that does nothing but count what it receives.
inline ServiceFactory sink_factory(std::vector<std::vector<uint8_t>>* received) {
  return lambda_factory([received](Env& env, size_t) {
    env.network.set_receive_handler([received](const Address&, std::span<const uint8_t> b) {
      received->emplace_back(b.begin(), b.end());
    });
  });
}

// Every node pings a random peer every ~10 ms (jittered from its own
// Random) and answers pings with pongs; counts both.
class PingService final : public Service {
 public:
  PingService(Env& env, size_t index, size_t nodes) : env_(env), index_(index), nodes_(nodes),
      rng_(env.random.stream("test", "ping")) {}
  ~PingService() override { env_.network.set_receive_handler(nullptr); }
  void start() override {
    env_.network.set_receive_handler([this](const Address& from, std::span<const uint8_t> b) {
      std::string text(b.begin(), b.end());
      if (text.rfind("ping", 0) == 0) {
        ++pings_received_;
        std::string reply = "pong" + text.substr(4);
        (void)env_.network.send(from, std::span(reinterpret_cast<const uint8_t*>(reply.data()), reply.size()));
      } else {
        ++pongs_received_;
      }
    });
    (void)env_.runtime.spawn("pinger", [this] {
      for (uint64_t k = 0;; ++k) {
        if (!env_.runtime.sleep_for(10'000 + rng_.range(0, 2'000))) return;
        size_t peer = static_cast<size_t>(rng_.below(nodes_));
        if (peer == index_) continue;
        std::string msg = fmt::format("ping {} {}", index_, k);
        Address to{0x0A000000u | static_cast<uint32_t>(peer), World::kNodePort};
        (void)env_.network.send(to, std::span(reinterpret_cast<const uint8_t*>(msg.data()), msg.size()));
        env_.log.info("ping_sent", {{"peer", peer}, {"k", k}});
      }
    });
  }
  nlohmann::json snapshot() const override {
    return {{"pings", pings_received_}, {"pongs", pongs_received_}};
  }
  uint64_t pings_received() const { return pings_received_; }
  uint64_t pongs_received() const { return pongs_received_; }

 private:
  Env& env_;
  size_t index_;
  size_t nodes_;
  RandomStream rng_;
  uint64_t pings_received_ = 0;
  uint64_t pongs_received_ = 0;
};

inline ServiceFactory ping_factory(size_t nodes) {
  return [nodes](Env& env, size_t index) -> std::unique_ptr<Service> {
    return std::make_unique<PingService>(env, index, nodes);
  };
}

inline std::span<const uint8_t> bytes_of(const std::string& s) {
  return std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

}  // namespace meshd::sim::test
