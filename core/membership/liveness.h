// LivenessTracker: ping/ack liveness of configured peers, as a pure state
// machine (no I/O, no clock, no runtime): inputs are ticks and datagrams
// with the current monotonic time; outputs are datagrams to send and
// verdict changes. It is the seed of the membership layer (SWIM probing
// grows out of it), and it tests without any runtime.
//
// Protocol: every ping_interval_ms (± ping_jitter_percent, drawn from the
// tracker's own RandomStream so peers do not synchronise) each peer gets a
// PING; a PING is always answered with an ACK echoing its seq. An ACK is
// accepted only for one of the last kOutstandingPingsMax seqs sent to that
// address (a spoofed or stale ACK cannot keep a dead peer up), and yields
// an RTT sample folded into SRTT/RTTVAR (RFC 6298, integer µs).
//
// Verdicts: a peer starts `unknown`; it is `up` from the first accepted ACK;
// it is `down` once down_after_ms pass with no accepted ACK (counted from
// the last ACK, or from start for a peer never heard). An ACK brings a down
// peer back up at once. Incarnation (the peer's boot count) increasing is
// reported as a restart.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/env/address.h"
#include "core/env/protocol.h"
#include "core/env/random.h"
#include "core/membership/liveness_wire.h"

namespace meshd::membership {

constexpr size_t kOutstandingPingsMax = 8;
constexpr size_t kLivenessPeersMax = 4096;

struct LivenessConfig {
  int64_t ping_interval_ms = 1000;
  int64_t ping_jitter_percent = 10;
  int64_t down_after_ms = 3000;
};

struct PeerSpec {
  std::string name;
  Address address;
};

enum class PeerState : uint8_t { unknown, up, down };
std::string_view peer_state_name(PeerState state);
inline std::string_view drop_reason_name(LivenessDrop reason) { return liveness_drop_name(reason); }

struct PeerView {
  PeerSpec spec;
  PeerState state = PeerState::unknown;
  int64_t state_since_us = 0;
  int64_t last_ack_us = -1;        // -1: never
  int64_t srtt_us = 0;             // 0 until the first sample
  int64_t rttvar_us = 0;
  uint64_t incarnation = 0;        // highest seen; 0 = never heard
  uint64_t pings_sent = 0;
  uint64_t acks_received = 0;
  uint64_t transitions = 0;        // verdict changes (flap count)
  uint64_t restarts_seen = 0;
  std::array<uint64_t, kOutstandingPingsMax> outstanding_seq{};
  std::array<int64_t, kOutstandingPingsMax> outstanding_sent_us{};
};

struct VerdictChange {
  size_t peer;
  PeerState from;
  PeerState to;
  int64_t at_us;
};

struct LivenessOutput {
  std::vector<Datagram> send;
  std::vector<VerdictChange> changes;
  std::vector<size_t> restarted;  // peers whose incarnation increased
};

// The protocol shape (core/env/protocol.h): driven by ProtocolDriver.
class LivenessTracker {
 public:
  using Output = LivenessOutput;
  using Drop = LivenessDrop;
  static constexpr size_t kDropReasons = kLivenessDropReasons;

  LivenessTracker(const LivenessConfig& config, std::vector<PeerSpec> peers, uint64_t incarnation,
                  RandomStream jitter, int64_t now_us);

  // Sends due pings and applies timeouts. Call at next_deadline_us() or
  // later; afterwards next_deadline_us() > now_us (asserted).
  void on_tick(int64_t now_us, LivenessOutput& out);
  // Handles one datagram. Returns LivenessDrop::none if it was accepted.
  LivenessDrop on_datagram(int64_t now_us, const Address& from, std::span<const uint8_t> bytes,
                           LivenessOutput& out);
  // Earliest time on_tick() has work (next ping or next possible timeout).
  int64_t next_deadline_us() const;
  bool finished() const { return false; }  // runs until stopped

  const std::vector<PeerView>& peers() const { return peers_; }
  const LivenessConfig& config() const { return config_; }
  uint64_t incarnation() const { return incarnation_; }

 private:
  void set_state(size_t i, PeerState to, int64_t now_us, LivenessOutput& out);
  void schedule_next_ping(int64_t now_us);
  int64_t find_peer(const Address& address) const;

  LivenessConfig config_;
  std::vector<PeerView> peers_;
  // (address, index into peers_) sorted by address, first peer of an
  // address only: the per-datagram lookup is a binary search over one
  // contiguous array, not a scan of every peer (a std::map's scattered
  // nodes cost a cache miss per level at 1000 peers).
  std::vector<std::pair<Address, size_t>> peer_index_;
  uint64_t incarnation_;
  RandomStream jitter_;
  int64_t started_us_;
  int64_t next_ping_us_;
  uint64_t next_seq_ = 1;
};

}  // namespace meshd::membership
