// Attacker and SecurityHarness: the simulator's active adversary and the
// security side of a scenario run.
//
// Attacker: an on-path adversary that sees every datagram the nodes send
// (a passive tap, NodeService::set_packet_tap) and injects packets with a
// spoofed source node (World::transmit from that node's index, so links,
// partitions and loss apply as to real traffic). Per AttackerSpec it fires
// rate_per_s injections between from_us and until_us, each of a kind drawn
// uniformly from the spec's kinds (sim/attacker_spec.h):
//   replay             a recorded transport packet, resent unchanged
//   bitflip            a recorded packet (any type) with one bit flipped
//   truncate           a recorded packet cut short
//   reflect            a recorded packet sent back to its sender
//   forge_psk          an IK initiation under a wrong PSK (fails mac1)
//   forge_key          an IK initiation claiming a member's NodeId with a
//                      different static key (correct PSK: fails identity)
//   replay_initiation  a recorded initiation resent (stale timestamp)
//   garbage            random bytes, half of them behind a valid magic
//   handshake_storm    a flood of valid-looking IK initiations from an
//                      insider key (correct PSK): drives the victim over
//                      its handshake rate into the cookie regime
//   replay_edge        aimed at the replay window's edges: per flow (sender,
//                      receiver, session index) the attacker keeps the
//                      last kEdgeRingMax transport packets and replays
//                      either the newest (top edge) or one whose counter
//                      lies in [highest - window - kEdgeBandPackets,
//                      highest - window + 1] (bottom edge, once a session
//                      has carried a whole window)
//   bogus_cookie       a storm initiation with the cookie flag set and a
//                      made-up mac2 (mac1 stays valid): under load it must
//                      get a cookie reply, not DH
// Bounds: kRecordedPacketsMax transport packets and kRecordedInitiationsMax
// initiations kept (rings); storm and forged initiations come from pools
// of kStormPoolMax, refreshed every kStormFreshEvery injections (a fresh
// one costs ~3 DH, the dominant cost of these scenarios).
// All choices come from world.random().stream("attacker", ...).
//
// SecurityHarness: owned by the runner for one run. attach() configures
// each node's security (PSK, host fingerprint, peer keys, knobs) and hooks
// it to the SecurityOracle (and the attacker's tap); schedule() plans key
// rotations, disk copies and attackers; finish() checks that sessions
// recovered (every pair of live, connected nodes holds a current session at
// the end) and the expected clone refusals, and reports counters. It also
// feeds every boot to the MonotonicOracle (sim/scenario/monotonic_oracle.h),
// in plaintext runs too, and every delivery to the CostOracle
// (sim/cost_oracle.h).
#pragma once

#include <array>
#include <deque>
#include <tuple>
#include <map>
#include <set>
#include <memory>
#include <string>
#include <vector>

#include "core/crypto/cookie.h"
#include "core/crypto/identity.h"
#include "core/crypto/replay_window.h"
#include "sim/attacker_spec.h"
#include "sim/cost_oracle.h"
#include "sim/member_attacker.h"
#include "sim/scenario/monotonic_oracle.h"
#include "sim/scenario/node_service.h"
#include "sim/scenario/oracle.h"
#include "sim/scenario/planted_bug.h"
#include "sim/scenario/scenario.h"
#include "sim/world.h"

namespace meshd::sim {

constexpr size_t kRecordedPacketsMax = 512;
constexpr size_t kRecordedInitiationsMax = 64;
constexpr size_t kStormPoolMax = 8;
constexpr uint64_t kStormFreshEvery = 16;
constexpr size_t kBogusMacsMax = 64;
constexpr uint64_t kEdgeBandPackets = 64;  // one bitmap word: the recycled one
constexpr size_t kEdgeRingMax = crypto::kReplayWindowPackets + 2 * kEdgeBandPackets;
constexpr size_t kEdgeFlowsMax = 16;  // least recently seen flow evicted beyond this  // made-up mac2s remembered for the cost oracle

class Attacker {
 public:
  Attacker(World& world, std::vector<AttackerSpec> specs);
  // The tap: every datagram a node sends (loop or fiber context).
  void record(const Address& from, const Address& to, std::span<const uint8_t> bytes);
  void schedule();
  uint64_t injected(AttackKind kind) const { return injected_[static_cast<size_t>(kind)]; }
  // What this attacker made of `bytes`: an initiation carrying a mac2 it
  // made up (one of the last kBogusMacsMax), one of its pooled wrong-PSK
  // forgeries, or none of these.
  CostOracle::Forgery forgery(std::span<const uint8_t> bytes) const;

 private:
  struct Recorded {
    size_t from = 0;
    size_t to = 0;
    std::vector<uint8_t> bytes;
  };
  struct Victim {
    NodeId id;
    crypto::SigningPublic key{};
    Address address;
  };

  struct EdgeFlow {
    size_t from = 0;
    size_t to = 0;
    uint64_t highest = 0;
    int64_t last_us = 0;
    std::deque<std::pair<uint64_t, std::vector<uint8_t>>> ring;  // (counter, bytes), counters increasing
  };
  using FlowKey = std::tuple<size_t, size_t, uint32_t>;  // from, to, receiver's session index

  void record_edge(size_t from, size_t to, std::span<const uint8_t> bytes);
  bool replay_edge();
  void fire(size_t spec_index);
  bool inject(AttackKind kind);
  bool resend(const Recorded& r, std::vector<uint8_t> bytes, bool reflect);
  std::optional<Victim> victim(size_t node) const;
  bool forge(AttackKind kind);
  const Recorded* storm_initiation();  // a fresh or pooled storm initiation; nullptr if none
  bool storm();
  bool bogus_cookie();
  std::vector<uint8_t> initiation(const crypto::Identity& as, const crypto::Psk& psk, const Victim& v);
  template <typename T>
  void push(std::vector<T>& ring, size_t& next, size_t max, T r);

  World& world_;
  std::vector<AttackerSpec> specs_;
  RandomStream rng_;
  RandomStream forge_rng_;  // ephemerals and keys of forged handshakes
  std::vector<Recorded> transport_;
  size_t transport_next_ = 0;
  std::vector<Recorded> initiations_;
  size_t initiations_next_ = 0;
  std::optional<crypto::Identity> insider_;  // storm key (knows the PSK)
  std::vector<Recorded> storm_pool_;
  std::array<std::vector<Recorded>, 2> forged_;  // forge_psk, forge_key pools
  std::array<uint64_t, 2> forged_count_{};
  uint64_t storm_count_ = 0;
  bool edge_ = false;  // some spec has replay_edge: keep per-flow rings
  std::map<FlowKey, EdgeFlow> edge_flows_;
  std::vector<crypto::Mac> bogus_macs_;
  size_t bogus_macs_next_ = 0;
  std::array<uint64_t, kAttackKinds> injected_{};
  uint64_t skipped_ = 0;
};

class SecurityHarness {
 public:
  // planted_bug: only key_lifetime_doubled concerns the harness
  // (sim/scenario/planted_bug.h).
  SecurityHarness(World& world, const Scenario& scenario, PlantedBug planted_bug = PlantedBug::none);
  ~SecurityHarness();

  // In the service factory, right after constructing the service.
  void attach(NodeService& service, size_t node);
  // Once, after the nodes were added and before the run.
  void schedule();
  // After the run: end-of-run checks, then violations and counters out.
  // run_complete: false when the run was stopped early (--until); the
  // end-of-run recovery check then does not apply.
  void finish(bool run_complete, std::vector<std::string>& violations, uint64_t& violation_count,
              std::map<std::string, uint64_t>& counters);
  const SecurityOracle& oracle() const { return oracle_; }

 private:
  NodeService* service(size_t node) const;
  void rotate_key(const KeyAction& action);
  void copy_disk(const KeyAction& action);
  void check_recovered();
  void on_boot(Node& node, size_t index);
  void report_key(Node& node, size_t index);  // the owner's key, for the identity oracle

  World& world_;
  const Scenario& scenario_;
  PlantedBug planted_bug_;
  SecurityOracle oracle_;
  MonotonicOracle monotonic_;
  CostOracle cost_;
  std::map<NodeId, size_t> node_of_id_;     // for the key-lifetime oracle's node-local clocks
  std::set<NodeId> shared_ids_;             // booted on more than one node (clones): not judged
  std::map<size_t, int64_t> last_boot_us_;  // per node: the simulated time of its last boot
  std::map<size_t, bool> bitrot_at_last_boot_;
  std::unique_ptr<Attacker> attacker_;
  std::unique_ptr<MemberAttacker> member_attacker_;  // membership runs: the insider and the identity oracle
  std::vector<crypto::SigningPublic> genesis_keys_;
  uint64_t rotations_ = 0;
  uint64_t disk_copies_ = 0;
};

}  // namespace meshd::sim
