#include "sim/attacker.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/crypto/handshake_macs.h"
#include "core/crypto/handshake_manager.h"
#include "core/env/disk.h"
#include "core/node/config.h"
#include "core/wire/header.h"

namespace meshd::sim {

namespace {

constexpr size_t kGarbageBytesMax = 200;
constexpr size_t kDiskCopyFileBytesMax = 16 * 1024 * 1024;
constexpr size_t kTypeByte = 3;   // header byte: packet type (core/wire/header.cpp)
constexpr size_t kFlagsByte = 4;  // header byte: flags

crypto::Psk wrong_psk() {
  crypto::Psk psk = sim_mesh_psk();
  psk[0] ^= 0xff;  // one byte off: members' mac1 check must reject it
  return psk;
}

}  // namespace

// --- Attacker ---------------------------------------------------------------

Attacker::Attacker(World& world, std::vector<AttackerSpec> specs)
    : world_(world),
      specs_(std::move(specs)),
      rng_(world.random().stream("attacker", "choices")),
      forge_rng_(world.random().stream("attacker", "forge")) {
  for (const AttackerSpec& spec : specs_) {
    edge_ |= std::find(spec.kinds.begin(), spec.kinds.end(), AttackKind::replay_edge) != spec.kinds.end();
  }
}

template <typename T>
void Attacker::push(std::vector<T>& ring, size_t& next, size_t max, T r) {
  if (ring.size() < max) {
    ring.push_back(std::move(r));
    return;
  }
  ring[next] = std::move(r);
  next = (next + 1) % max;
}

void Attacker::record(const Address& from, const Address& to, std::span<const uint8_t> bytes) {
  if (bytes.size() < wire::kHeaderBytes) return;
  const auto a = world_.node_of(from), b = world_.node_of(to);
  if (!a || !b) return;
  const auto type = static_cast<wire::PacketType>(bytes[3]);
  Recorded r{*a, *b, std::vector<uint8_t>(bytes.begin(), bytes.end())};
  if (type == wire::PacketType::transport) {
    if (edge_) record_edge(*a, *b, bytes);
    push(transport_, transport_next_, kRecordedPacketsMax, std::move(r));
  } else if (type == wire::PacketType::handshake_initiation) {
    push(initiations_, initiations_next_, kRecordedInitiationsMax, std::move(r));
  }
}

void Attacker::record_edge(size_t from, size_t to, std::span<const uint8_t> bytes) {
  const wire::DecodedPacket d = wire::decode_packet(bytes);
  if (!d.ok()) return;
  const FlowKey key{from, to, d.header.session_id};
  auto it = edge_flows_.find(key);
  if (it == edge_flows_.end()) {
    if (edge_flows_.size() >= kEdgeFlowsMax) {
      auto oldest = edge_flows_.begin();
      for (auto f = edge_flows_.begin(); f != edge_flows_.end(); ++f) {
        if (f->second.last_us < oldest->second.last_us) oldest = f;
      }
      edge_flows_.erase(oldest);
    }
    it = edge_flows_.emplace(key, EdgeFlow{from, to, 0, 0, {}}).first;
  }
  EdgeFlow& f = it->second;
  f.last_us = world_.now_us();
  const uint64_t c = d.header.counter;
  if (!f.ring.empty() && c <= f.highest) return;  // keep the ring ordered by counter
  f.highest = c;
  f.ring.emplace_back(c, std::vector<uint8_t>(bytes.begin(), bytes.end()));
  while (f.ring.size() > kEdgeRingMax ||
         f.ring.front().first + crypto::kReplayWindowPackets + kEdgeBandPackets < f.highest) {
    f.ring.pop_front();
  }
}

bool Attacker::replay_edge() {
  std::vector<EdgeFlow*> flows;
  for (auto& [key, f] : edge_flows_) {
    if (!f.ring.empty()) flows.push_back(&f);
  }
  if (flows.empty()) return false;
  const EdgeFlow& f = *flows[rng_.below(flows.size())];
  const bool bottom = f.highest >= crypto::kReplayWindowPackets + kEdgeBandPackets && rng_.chance(0.5);
  const std::vector<uint8_t>* bytes = &f.ring.back().second;
  if (bottom) {
    const uint64_t target = f.highest - crypto::kReplayWindowPackets - kEdgeBandPackets + rng_.below(kEdgeBandPackets + 2);
    auto at = std::lower_bound(f.ring.begin(), f.ring.end(), target,
                               [](const auto& entry, uint64_t c) { return entry.first < c; });
    if (at == f.ring.end()) return false;
    bytes = &at->second;
  }
  (void)world_.transmit(f.from, world_.address_of(f.to), *bytes);
  return true;
}

void Attacker::schedule() {
  for (size_t i = 0; i < specs_.size(); ++i) {
    world_.at(specs_[i].from_us, [this, i] { fire(i); });
  }
}

void Attacker::fire(size_t spec_index) {
  const AttackerSpec& spec = specs_[spec_index];
  if (world_.now_us() >= spec.until_us) return;
  const AttackKind kind = spec.kinds[rng_.below(spec.kinds.size())];
  if (inject(kind)) {
    ++injected_[static_cast<size_t>(kind)];
  } else {
    ++skipped_;
  }
  const int64_t interval_us = std::max<int64_t>(1, 1'000'000 / spec.rate_per_s);
  const int64_t next_us = world_.now_us() + interval_us / 2 + rng_.range(0, interval_us);
  if (next_us < spec.until_us) world_.at(next_us, [this, spec_index] { fire(spec_index); });
}

bool Attacker::resend(const Recorded& r, std::vector<uint8_t> bytes, bool reflect) {
  if (reflect) {
    (void)world_.transmit(r.to, world_.address_of(r.from), bytes);
  } else {
    (void)world_.transmit(r.from, world_.address_of(r.to), bytes);
  }
  return true;
}

std::optional<Attacker::Victim> Attacker::victim(size_t node) const {
  auto* svc = dynamic_cast<NodeService*>(world_.service(node));
  if (svc == nullptr || !svc->running() || svc->node().transport() == nullptr) return std::nullopt;
  const crypto::Identity& id = svc->node().transport()->identity();
  return Victim{id.node_id(), id.public_key(), world_.address_of(node)};
}

std::vector<uint8_t> Attacker::initiation(const crypto::Identity& as, const crypto::Psk& psk, const Victim& v) {
  crypto::KeyArchive archive;
  crypto::HandshakeManager forger(as, archive, psk, forge_rng_, crypto::HandshakeManagerConfig{});
  if (!forger.add_peer(v.id, v.address, v.key)) return {};
  auto out = forger.connect(v.id, world_.now_us(), world_.now_us());
  if (!out || out->send.empty()) return {};
  return std::move(out->send.front().bytes);
}

bool Attacker::forge(AttackKind kind) {
  const size_t n = world_.node_count();
  if (n < 2) return false;
  const size_t target = rng_.below(n);
  const size_t spoof = (target + 1 + rng_.below(n - 1)) % n;
  auto v = victim(target);
  if (!v) return false;
  auto& pool = forged_[kind == AttackKind::forge_psk ? 0 : 1];
  uint64_t& count = forged_count_[kind == AttackKind::forge_psk ? 0 : 1];
  // A forgery costs ~3 DH to make: most injections resend a pooled one
  // (to its own victim), which the victim must reject all the same.
  if (pool.size() >= kStormPoolMax && count++ % kStormFreshEvery != 0) {
    const Recorded& r = pool[rng_.below(pool.size())];
    return resend(r, r.bytes, false);
  }
  std::vector<uint8_t> bytes;
  if (kind == AttackKind::forge_psk) {
    const crypto::Identity stranger = crypto::Identity::generate(forge_rng_);
    bytes = initiation(stranger, wrong_psk(), *v);
  } else {
    // Claim the spoofed member's NodeId with a key that is not its own.
    auto claimed = victim(spoof);
    if (!claimed) return false;
    const crypto::Identity impostor = crypto::Identity::generate(forge_rng_, claimed->id);
    bytes = initiation(impostor, sim_mesh_psk(), *v);
  }
  if (bytes.empty()) return false;
  Recorded r{spoof, target, std::move(bytes)};
  if (pool.size() < kStormPoolMax) {
    pool.push_back(r);
  } else {
    pool[rng_.below(kStormPoolMax)] = r;
  }
  return resend(r, r.bytes, false);
}

const Attacker::Recorded* Attacker::storm_initiation() {
  const size_t n = world_.node_count();
  if (n < 2) return nullptr;
  const bool fresh = storm_pool_.size() < kStormPoolMax || storm_count_ % kStormFreshEvery == 0;
  ++storm_count_;
  if (!fresh) return &storm_pool_[rng_.below(storm_pool_.size())];
  const size_t target = rng_.below(n);
  auto v = victim(target);
  if (!v) return nullptr;
  if (!insider_) insider_ = crypto::Identity::generate(forge_rng_);
  std::vector<uint8_t> bytes = initiation(*insider_, sim_mesh_psk(), *v);
  if (bytes.empty()) return nullptr;
  Recorded r{(target + 1) % n, target, std::move(bytes)};
  size_t slot = storm_pool_.size() < kStormPoolMax ? storm_pool_.size() : rng_.below(kStormPoolMax);
  if (slot == storm_pool_.size()) {
    storm_pool_.push_back(std::move(r));
  } else {
    storm_pool_[slot] = std::move(r);
  }
  return &storm_pool_[slot];
}

bool Attacker::storm() {
  const Recorded* r = storm_initiation();
  return r != nullptr && resend(*r, r->bytes, false);
}

bool Attacker::bogus_cookie() {
  const Recorded* r = storm_initiation();
  if (r == nullptr || r->bytes.size() < wire::kHeaderBytes + crypto::kInitiationTrailerBytes) return false;
  std::vector<uint8_t> bytes = r->bytes;
  bytes[kFlagsByte] |= wire::kFlagCookieAttached;
  // The insider knows the PSK, so mac1 (which covers the flags) stays
  // valid; only mac2 is made up.
  const auto message = std::span<const uint8_t>(bytes).subspan(
      wire::kHeaderBytes, bytes.size() - wire::kHeaderBytes - crypto::kInitiationTrailerBytes);
  const crypto::Mac mac1 = crypto::compute_mac1(sim_mesh_psk(), crypto::mac_input(bytes, message));
  crypto::Mac mac2{};
  forge_rng_.fill(mac2);
  crypto::write_initiation_macs(bytes, mac1, mac2);
  push(bogus_macs_, bogus_macs_next_, kBogusMacsMax, mac2);
  return resend(*r, std::move(bytes), false);
}

CostOracle::Forgery Attacker::forgery(std::span<const uint8_t> bytes) const {
  if (bytes.size() < wire::kHeaderBytes + crypto::kInitiationTrailerBytes ||
      bytes[kTypeByte] != static_cast<uint8_t>(wire::PacketType::handshake_initiation)) {
    return CostOracle::Forgery::none;
  }
  crypto::Mac mac2{};
  std::copy(bytes.end() - crypto::kMacBytes, bytes.end(), mac2.begin());
  if (std::find(bogus_macs_.begin(), bogus_macs_.end(), mac2) != bogus_macs_.end()) {
    return CostOracle::Forgery::bogus_cookie;
  }
  for (const Recorded& r : forged_[0]) {  // forge_psk pool (every wrong-PSK initiation is sent from it)
    if (std::equal(r.bytes.begin(), r.bytes.end(), bytes.begin(), bytes.end())) return CostOracle::Forgery::wrong_psk;
  }
  return CostOracle::Forgery::none;
}

bool Attacker::inject(AttackKind kind) {
  switch (kind) {
    case AttackKind::replay:
    case AttackKind::bitflip:
    case AttackKind::truncate:
    case AttackKind::reflect: {
      if (transport_.empty()) return false;
      // Handshakes are worth mutating too: half the bitflips and
      // reflections pick a recorded initiation when there is one.
      const bool handshake = (kind == AttackKind::bitflip || kind == AttackKind::reflect) &&
                             !initiations_.empty() && rng_.chance(0.5);
      const Recorded& r = handshake ? initiations_[rng_.below(initiations_.size())]
                                    : transport_[rng_.below(transport_.size())];
      std::vector<uint8_t> bytes = r.bytes;
      if (kind == AttackKind::bitflip) {
        const uint64_t bit = rng_.below(bytes.size() * 8);
        bytes[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
      } else if (kind == AttackKind::truncate) {
        bytes.resize(rng_.below(bytes.size()));
      }
      return resend(r, std::move(bytes), kind == AttackKind::reflect);
    }
    case AttackKind::replay_initiation: {
      if (initiations_.empty()) return false;
      const Recorded& r = initiations_[rng_.below(initiations_.size())];
      return resend(r, r.bytes, false);
    }
    case AttackKind::forge_psk:
    case AttackKind::forge_key:
      return forge(kind);
    case AttackKind::garbage: {
      const size_t n = world_.node_count();
      std::vector<uint8_t> bytes(rng_.below(kGarbageBytesMax + 1));
      forge_rng_.fill(bytes);
      if (bytes.size() >= 3 && rng_.chance(0.5)) {  // get past the magic and version checks
        bytes[0] = wire::kMagic0;
        bytes[1] = wire::kMagic1;
        bytes[2] = wire::kWireVersion;
      }
      const size_t to = rng_.below(n);
      const size_t from = n > 1 ? (to + 1 + rng_.below(n - 1)) % n : to;
      (void)world_.transmit(from, world_.address_of(to), bytes);
      return true;
    }
    case AttackKind::handshake_storm:
      return storm();
    case AttackKind::bogus_cookie:
      return bogus_cookie();
    case AttackKind::replay_edge:
      return replay_edge();
  }
  return false;
}

// --- SecurityHarness ----------------------------------------------------------

SecurityHarness::SecurityHarness(World& world, const Scenario& scenario, PlantedBug planted_bug)
    : world_(world), scenario_(scenario), planted_bug_(planted_bug), cost_(world, scenario.security.attackers) {
  if (!scenario.security.attackers.empty()) {
    attacker_ = std::make_unique<Attacker>(world, scenario.security.attackers);
    cost_.set_forgery_check([this](std::span<const uint8_t> bytes) { return attacker_->forgery(bytes); });
  }
  if (scenario.membership && !scenario.security.plaintext) {
    member_attacker_ = std::make_unique<MemberAttacker>(world, scenario.security.member_attackers, [this](size_t i) {
      NodeService* s = service(i);
      return s != nullptr && s->running() ? &s->node() : nullptr;
    });
  }
  // Each node's first boot draws its identity from this very stream
  // (Node::start_security), so peers can be configured with the genesis
  // keys before anyone starts.
  for (size_t i = 0; i < world.node_count(); ++i) {
    RandomStream rng = world.random().for_node(i).stream("crypto", "identity");
    genesis_keys_.push_back(crypto::Identity::generate(rng).public_key());
  }
}

SecurityHarness::~SecurityHarness() = default;

NodeService* SecurityHarness::service(size_t node) const {
  return dynamic_cast<NodeService*>(world_.service(node));
}

void SecurityHarness::attach(NodeService& svc, size_t node) {
  const SimSecuritySpec& spec = scenario_.security;
  SecurityConfig sec;
  sec.plaintext = spec.plaintext;
  sec.rekey_after_ms = spec.rekey_after_s * 1000;
  sec.retry_initial_ms = spec.retry_initial_ms;
  sec.retry_max_ms = spec.retry_max_ms;
  sec.handshake_rate_per_s = spec.handshake_rate_per_s;
  sec.handshake_burst = spec.handshake_burst;
  auto policy = crypto::parse_clone_policy(spec.clone_policy);  // validated by the parser
  sec.clone_policy = policy ? *policy : crypto::ClonePolicy::refuse;
  if (spec.peer_keys) {
    for (size_t j = 0; j < genesis_keys_.size(); ++j) {
      if (j != node) sec.peer_keys.push_back({world_.address_of(j), genesis_keys_[j], std::nullopt});
    }
  }
  // The oracle holds every key to the scenario's lifetime, whatever the node runs with.
  const int64_t reject_after_us = transport_config_of(sec).handshake.session.reject_after_us;
  if (planted_bug_ == PlantedBug::key_lifetime_doubled) sec.rekey_after_ms *= 2;
  svc.set_security(sec);
  oracle_.set_key_lifetime(reject_after_us,
                           [this](const NodeId& id) -> std::optional<int64_t> {
                             auto it = node_of_id_.find(id);
                             // Two nodes booted with one NodeId (a copied disk): whose clock is unknown.
                             if (it == node_of_id_.end() || shared_ids_.count(id) != 0) return std::nullopt;
                             return world_.clock(it->second).monotonic_us();
                           });
  svc.set_boot_hook([this, node](Node& n) { on_boot(n, node); });
  svc.set_receive_probe([this, node](const Address& from, std::span<const uint8_t> bytes,
                                     const std::function<void()>& deliver) {
    cost_.on_receive(node, from, bytes, deliver);
  });
  if (spec.plaintext) return;
  svc.set_transport_observer(&oracle_);
  if (attacker_) {
    svc.set_packet_tap([this](const Address& from, const Address& to, std::span<const uint8_t> bytes) {
      attacker_->record(from, to, bytes);
    });
  }
}

void SecurityHarness::on_boot(Node& n, size_t index) {
  MonotonicOracle::Boot b;
  b.node = index;
  b.boot = n.incarnation();
  b.at_us = world_.now_us();
  b.wall_us = world_.clock(index).wall_us();
  // Unreadable at some boot attempt since the last successful one: a
  // bitrot fault standing now, at the last boot, or set in between.
  const bool standing = world_.disk(index).faults().read_bitrot > 0;
  b.record_may_be_unreadable = standing || bitrot_at_last_boot_[index];
  for (const Fault& f : scenario_.faults) {
    if (f.kind == FaultKind::disk && f.node == static_cast<int64_t>(index) && f.disk.read_bitrot > 0 &&
        f.at_us > last_boot_us_[index] && f.at_us <= b.at_us) {
      b.record_may_be_unreadable = true;
    }
  }
  bitrot_at_last_boot_[index] = standing;
  if (n.transport() != nullptr) {
    b.identity = n.transport()->identity().node_id().to_hex();
    const NodeId id = n.transport()->identity().node_id();
    auto [it, fresh] = node_of_id_.emplace(id, index);
    if (!fresh && it->second != index) shared_ids_.insert(id);
  }
  // A wipe or a copied disk (the scenario's own timeline) since the last
  // boot starts a new sequence, even where the identity cannot tell.
  for (const Fault& f : scenario_.faults) {
    if (f.kind == FaultKind::wipe && f.node == static_cast<int64_t>(index) && f.at_us > last_boot_us_[index] &&
        f.at_us <= b.at_us) {
      monotonic_.on_wipe(index);
    }
  }
  for (const KeyAction& a : scenario_.security.copy_disk) {
    if (a.node == index && a.at_us > last_boot_us_[index] && a.at_us <= b.at_us) monotonic_.on_wipe(index);
  }
  last_boot_us_[index] = b.at_us;
  monotonic_.on_boot(b);
  if (member_attacker_ && n.transport() != nullptr) report_key(n, index);
}

void SecurityHarness::report_key(Node& n, size_t index) {
  membership::PublicKeyBytes key{};
  const auto& k = n.transport()->identity().public_key();
  std::copy(k.begin(), k.end(), key.begin());
  member_attacker_->on_key(index, n.transport()->identity().node_id(), key);
}

void SecurityHarness::schedule() {
  for (const KeyAction& a : scenario_.security.rotate_key) {
    world_.at(a.at_us, [this, a] { rotate_key(a); });
  }
  for (const KeyAction& a : scenario_.security.copy_disk) {
    world_.at(a.at_us, [this, a] { copy_disk(a); });
  }
  if (attacker_) attacker_->schedule();
  if (member_attacker_) member_attacker_->schedule();
}

void SecurityHarness::rotate_key(const KeyAction& a) {
  world_.record(TraceKind::fault, static_cast<uint32_t>(a.node), fmt::format("rotate_key node {}", a.node));
  NodeService* svc = service(a.node);
  if (svc == nullptr || !svc->running()) {
    oracle_.violation(fmt::format("[rotate_key] t={:.3f}s node {} is not running (scenario line {})",
                                  world_.now_us() / 1e6, a.node, a.line));
    return;
  }
  if (Status s = svc->node().rotate_key(); !s) {
    oracle_.violation(fmt::format("[rotate_key] t={:.3f}s node {}: {}", world_.now_us() / 1e6, a.node,
                                  s.to_string()));
    return;
  }
  ++rotations_;
  if (member_attacker_) report_key(svc->node(), a.node);
}

void SecurityHarness::copy_disk(const KeyAction& a) {
  world_.record(TraceKind::fault, static_cast<uint32_t>(a.node),
                fmt::format("copy_disk {}->{}", a.from, a.node));
  SimDisk& from = world_.disk(a.from);
  SimDisk& to = world_.disk(a.node);
  auto names = from.list();
  if (!names) return;
  for (const std::string& name : *names) {
    auto bytes = read_file(from, name, kDiskCopyFileBytesMax);
    if (!bytes) continue;
    (void)write_file_atomic(to, name, *bytes);
  }
  ++disk_copies_;
}

void SecurityHarness::check_recovered() {
  const size_t n = world_.node_count();
  NetworkModel& net = world_.network();
  auto live = [&](size_t i) {
    NodeService* s = service(i);
    return world_.is_up(i) && !world_.is_paused(i) && s != nullptr && s->running() &&
           s->node().transport() != nullptr;
  };
  for (size_t i = 0; i < n; ++i) {
    if (!live(i)) continue;
    for (size_t j = 0; j < n; ++j) {
      if (i == j || !live(j)) continue;
      if (net.blocked(i, j) || net.blocked(j, i) || net.clogged(i, j) || net.clogged(j, i)) continue;
      if (net.link_config(i, j).loss >= 1.0 || net.link_config(j, i).loss >= 1.0) continue;
      const NodeId j_id = service(j)->node().transport()->identity().node_id();
      const crypto::PeerSessions* s = service(i)->node().transport()->handshakes().sessions(j_id);
      if (s == nullptr || !s->current()) {
        oracle_.violation(fmt::format("[recovery] at the end node {} holds no session with node {}", i, j));
      }
    }
  }
}

void SecurityHarness::finish(bool run_complete, std::vector<std::string>& violations, uint64_t& violation_count,
                             std::map<std::string, uint64_t>& counters) {
  const SimSecuritySpec& spec = scenario_.security;
  if (!spec.plaintext && run_complete) check_recovered();
  uint64_t refusals = 0;
  for (size_t i = 0; i < world_.node_count(); ++i) {
    NodeService* s = service(i);
    if (s != nullptr && s->clone_refused()) ++refusals;
  }
  if (run_complete && spec.expect_clone_refusals >= 0 && refusals != static_cast<uint64_t>(spec.expect_clone_refusals)) {
    oracle_.violation(fmt::format("[clone] {} node(s) refused to start as clones, expected {}", refusals,
                                  spec.expect_clone_refusals));
  }
  for (const std::string& v : oracle_.violations()) {
    if (violations.size() < kViolationsMax) violations.push_back(v);
  }
  violation_count += oracle_.violation_count();
  for (const std::string& v : monotonic_.violations()) {
    if (violations.size() < kViolationsMax) violations.push_back(v);
  }
  violation_count += monotonic_.violation_count();
  cost_.finish(violations, violation_count, counters);
  if (member_attacker_) {
    for (const std::string& v : member_attacker_->violations()) {
      if (violations.size() < kViolationsMax) violations.push_back(v);
    }
    violation_count += member_attacker_->violation_count();
    counters["member_identity.entries_checked"] = member_attacker_->entries_checked();
    for (size_t k = 0; k < kMemberAttackKinds; ++k) {
      const auto kind = static_cast<MemberAttackKind>(k);
      counters["member_attacker.injected." + std::string(member_attack_kind_name(kind))] = member_attacker_->injected(kind);
    }
  }
  counters["monotonic.boots"] = monotonic_.boots();
  counters["monotonic.excused_recoveries"] = monotonic_.excused();
  counters["security.seals"] = oracle_.seals();
  counters["security.deliveries"] = oracle_.deliveries();
  counters["security.deliveries_window_slid"] = oracle_.deliveries_window_slid();
  counters["security.key_uses_past_rekey"] = oracle_.uses_past_rekey();
  counters["security.clone_refusals"] = refusals;
  counters["security.key_rotations"] = rotations_;
  counters["security.disk_copies"] = disk_copies_;
  if (attacker_) {
    for (size_t k = 0; k < kAttackKinds; ++k) {
      const auto kind = static_cast<AttackKind>(k);
      counters["attacker.injected." + std::string(attack_kind_name(kind))] = attacker_->injected(kind);
    }
  }
  // Drops by reason, summed over the nodes alive at the end.
  for (size_t i = 0; i < world_.node_count(); ++i) {
    NodeService* s = service(i);
    if (s == nullptr || !s->running() || s->node().transport() == nullptr) continue;
    const transport::SecureTransport& t = *s->node().transport();
    for (size_t r = 1; r < wire::kDropReasonCount; ++r) {
      const auto reason = static_cast<wire::DropReason>(r);
      if (const uint64_t v = t.dropped(reason); v > 0) {
        counters["drops." + std::string(wire::drop_reason_name(reason))] += v;
      }
    }
    counters["handshakes.completed"] += world_.metrics(i).value(transport::metric::transport_key(transport::TransportCount::handshakes_completed));
  }
}

}  // namespace meshd::sim
