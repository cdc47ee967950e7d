// The hand-driven handshake World for HandshakeManager tests: Nodes (one
// manager each) and a queue that moves packets between them by hand,
// without a runtime. Every run is bounded by a step limit.
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <deque>
#include <map>
#include <memory>

#include "core/crypto/handshake_manager.h"
#include "tests/crypto/test_keys.h"

namespace meshd::crypto::testing {

using wire::DropReason;


struct Node {
  // `endpoint` (default: seed) picks the address and handshake randomness:
  // two Nodes with one seed and different endpoints are twins (one
  // identity, e.g. a copied data directory, on two endpoints).
  Node(uint8_t seed, const Psk& psk, HandshakeManagerConfig config = {}, uint8_t endpoint = 0)
      : id_rng(key_of(seed)),
        rng(key_of(static_cast<uint8_t>((endpoint != 0 ? endpoint : seed) + 100))),
        identity(Identity::generate(id_rng)),
        address{0x0a000000u + (endpoint != 0 ? endpoint : seed), 5000},
        manager(std::make_unique<HandshakeManager>(identity, archive, psk, rng, config)) {}
  RandomStream id_rng;
  RandomStream rng;
  Identity identity;
  KeyArchive archive;
  Address address;
  std::unique_ptr<HandshakeManager> manager;
  std::vector<DropReason> drops;
  std::vector<HandshakeEvent> events;
};

struct World {
  std::map<Address, Node*> nodes;
  std::deque<std::pair<Address, Datagram>> queue;  // (from, packet)
  std::vector<std::pair<Address, Datagram>> sent;   // every packet ever sent (attacker's view)
  int64_t now_us = 1'000'000;
  int64_t wall_us = 1'700'000'000'000'000;

  static constexpr int kStepsMax = 10000;
  int last_run_steps = 0;
  void add_one(Node& n) { nodes[n.address] = &n; }
  void push(const Address& from, HandshakeOutput out, Node& at) {
    for (auto& e : out.events) at.events.push_back(e);
    if (out.drop != DropReason::none) at.drops.push_back(out.drop);
    for (auto& p : out.send) {
      sent.emplace_back(from, p);
      queue.emplace_back(from, std::move(p));
    }
  }
  void deliver(const Address& from, const Datagram& p) {
    auto it = nodes.find(p.to);
    if (it == nodes.end()) return;
    Node& n = *it->second;
    const auto d = wire::decode_packet(p.bytes);
    if (!d.ok()) {
      n.drops.push_back(d.drop);
      return;
    }
    push(n.address, n.manager->on_handshake_packet(from, d, now_us, wall_us), n);
  }
  // Delivers until nothing is in flight, at most `steps_max` packets: a
  // regression that ping-pongs forever fails here instead of hanging.
  void run(int steps_max = kStepsMax) {
    int steps = 0;
    for (; steps < steps_max && !queue.empty(); ++steps) {
      auto [from, p] = std::move(queue.front());
      queue.pop_front();
      deliver(from, p);
    }
    CHECK(queue.empty());
    last_run_steps = steps;
  }
  template <class... Nodes>
  void add(Nodes&... ns) {
    (add_one(ns), ...);
  }
  // a learns b (b's key, or none for first contact by XX).
  void introduce(Node& a, const Node& b, std::optional<SigningPublic> key) {
    REQUIRE(a.manager->add_peer(b.identity.node_id(), b.address, key));
  }
  // The hand-driven handshake most tests start with: a learns b, connects, all packets delivered.
  void handshake(Node& a, Node& b, std::optional<SigningPublic> key) {
    introduce(a, b, key);
    connect(a, b);
    run();
  }
  void connect(Node& a, Node& b) {
    auto out = a.manager->connect(b.identity.node_id(), now_us, wall_us);
    REQUIRE(out);
    push(a.address, std::move(*out), a);
  }
};

// Seals text from a to b and opens it at b; returns b's verdict.
inline DropReason transfer(Node& a, Node& b, std::string_view text, int64_t now_us) {
  auto p = a.manager->seal(b.identity.node_id(),
                           std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()), now_us);
  if (!p) return DropReason::unknown_session;
  const auto d = wire::decode_packet(p->bytes);
  REQUIRE(d.ok());
  std::vector<uint8_t> out(d.payload.size());
  size_t n = 0;
  NodeId from;
  const DropReason r = b.manager->open(d, out, n, from, now_us);
  if (r == DropReason::none) {
    CHECK(from == a.identity.node_id());
    CHECK(std::string(out.begin(), out.begin() + static_cast<long>(n)) == text);
  }
  return r;
}

inline bool has_event(const Node& n, HandshakeEventKind kind) {
  for (const auto& e : n.events) {
    if (e.kind == kind) return true;
  }
  return false;
}

inline size_t count_drops(const Node& n, DropReason r) {
  return static_cast<size_t>(std::count(n.drops.begin(), n.drops.end(), r));
}


}  // namespace meshd::crypto::testing
