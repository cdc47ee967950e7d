// TransportMachine: the secure transport as a pure protocol state machine
// in the one shape (core/env/protocol.h) — the handshake manager, the
// sessions that seal and open transport packets, and the per-peer send
// queues — with no Runtime, Network, Clock or Log. SecureTransport
// (secure_transport.h) runs it on an Env under the one ProtocolDriver.
//
// Inputs (all take now_us and append to a TransportOutput):
//   on_datagram(now, from, bytes, out) -> DropReason
//       A datagram from the lower network, decoded once: handshake packets
//       go to the HandshakeManager, transport packets are opened (replay
//       window, AEAD). Authenticated, non-empty plaintext is appended to
//       out.deliver. Returns why it was dropped (wire::DropReason).
//   send(now, to, bytes, out) -> Status
//       An upper layer's plaintext datagram: sealed at once with a live
//       session, else queued (at most queue_packets_max per peer; overflow
//       counted) while a handshake runs: IKpsk2 to a known key, XXpsk3 first
//       contact by address otherwise. ok for a queued datagram (UDP
//       semantics); Errc::too_large over kTransportPayloadBytesMax;
//       Errc::unavailable when the peer table is full.
//   on_tick(now, out)
//       The manager's timers (retries, timeouts, rekeys, expiry), silence
//       re-handshakes, idle-entry eviction and (under buggify only) the
//       early-rekey fault point. Postcondition: next_deadline_us() > now.
//   next_deadline_us()
//       Every timer: the manager's (rekeys included), every silent peer's
//       re-handshake time, the idlest evictable entry's eviction time and
//       (buggify only) the next early-rekey roll. Nothing is left to a poll.
//
// Behaviour (docs/protocol.md; unchanged from the service it came out of):
//  * Silence: a peer we sent to but have not heard from for
//    silence_rehandshake_us gets a fresh (forced) handshake, once per
//    silence period. Passive keepalive: data from a peer we have not sent
//    to for silence_rehandshake_us / 2 is answered with an empty packet.
//    After an initiator-side handshake with nothing queued an empty
//    keepalive confirms the keys. Empty plaintexts are never delivered.
//  * Hints: a transport packet for an unknown session, or any packet for a
//    NodeId that is not ours, from an address we talk to starts a
//    handshake at once (at most once per retry_initial_us per address).
//  * Peer entries (per address) are bounded by kTransportPeersMax; an
//    entry that is not configured, has nothing queued and has been idle for
//    peer_idle_timeout_us is evicted; a full table evicts the idlest such
//    entry or refuses the address (counted).
//  * Twins: authenticated twin notices go to out.twins.
// Counters are the machine's (counters(); TransportCount); the service
// publishes them under the typed keys of metric::kTransportCounts.
// Fault points (optional Buggify): transport_initiation_lost,
// transport_keepalive_skipped, transport_early_rekey.
// Single-threaded; owns its identity, archive, random stream and manager.
#pragma once

#include <nlohmann/json.hpp>

#include <array>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string_view>
#include <vector>

#include "core/crypto/handshake_manager.h"
#include "core/crypto/key_archive.h"
#include "core/env/buggify.h"
#include "core/env/log.h"
#include "core/env/metric_key.h"
#include "core/env/network.h"
#include "core/env/protocol.h"
#include "core/wire/drop_reason.h"

namespace meshd::transport {

constexpr size_t kQueuedPacketsPerPeerMax = 16;
constexpr size_t kQueuedPeersMax = 1024;  // distinct addresses a send() may add
constexpr size_t kTransportPeersMax = crypto::kPeersMax;  // per-address entries in all
// Fault-injection cadence only (a Buggify given): never a correctness timer.
constexpr int64_t kBuggifyTickIntervalUs = 250 * 1000;
constexpr int64_t kSilenceRehandshakeDefaultUs = 5 * kMicrosPerSecond;
// Longer than a session lives (SessionConfig::reject_after_us, 180 s): an
// evicted entry had no usable session left.
constexpr int64_t kPeerIdleTimeoutDefaultUs = 5 * 60 * kMicrosPerSecond;
// Largest plaintext an upper layer may send in one datagram.
constexpr size_t kTransportPayloadBytesMax = kDatagramBytesMax - crypto::kSealOverheadBytes;
// Upper bound a config may raise queue_packets_max to.
constexpr size_t kQueuePacketsConfigMax = kQueuedPacketsPerPeerMax * 16;

struct SecureTransportConfig {
  crypto::HandshakeManagerConfig handshake;
  size_t queue_packets_max = kQueuedPacketsPerPeerMax;  // 1..kQueuePacketsConfigMax
  int64_t silence_rehandshake_us = kSilenceRehandshakeDefaultUs;
  int64_t peer_idle_timeout_us = kPeerIdleTimeoutDefaultUs;  // > silence_rehandshake_us
};

// A peer whose key the operator configured (IK from the first packet).
struct TransportPeer {
  Address address;
  crypto::SigningPublic key{};
  std::optional<NodeId> node_id;  // default: derived from `key` (a genesis key)
};

// Debug hook for the simulator's oracles: every seal and every delivery,
// with the key id and nonce used. Never set in production.
class TransportObserver {
 public:
  virtual ~TransportObserver() = default;
  virtual void on_seal(const NodeId& from, const NodeId& to, const crypto::KeyUse& use,
                       std::span<const uint8_t> plaintext) = 0;
  virtual void on_deliver(const NodeId& at, const NodeId& from, const crypto::KeyUse& use,
                          std::span<const uint8_t> plaintext) = 0;
};

// What the machine counts (published by the service as kTransportCounts).
enum class TransportCount : uint8_t {
  sent,                    // transport packets sealed and sent
  delivered,               // authenticated datagrams delivered upward
  keepalives_sent,
  queue_overflow,          // per-peer queue full (or too many queued peers)
  queue_handshake_failed,  // queued datagrams whose handshake failed
  handshakes_completed,
  handshakes_failed,
  handshakes_forced,       // silence re-handshakes
  twin_notices_received,
  twin_notices_sent,
  twin_notices_suppressed,
  peers_evicted_idle,
  peers_evicted_full,
  peers_refused,
  initiations_lost,        // buggify only: an initiation not sent
};
constexpr size_t kTransportCounts = static_cast<size_t>(TransportCount::initiations_lost) + 1;

namespace metric {
// The series of every TransportCount, in enum order.
inline constexpr std::array<CounterKey, kTransportCounts> kTransportCounts{{
    {"meshd_transport_sent_total", "transport packets sealed and sent"},
    {"meshd_transport_delivered_total", "authenticated datagrams delivered to upper layers"},
    {"meshd_transport_keepalives_sent_total", "empty packets sent to confirm a new session"},
    {"meshd_transport_queue_dropped_total{reason=\"overflow\"}", "datagrams dropped: per-peer handshake queue full"},
    {"meshd_transport_queue_dropped_total{reason=\"handshake_failed\"}",
     "datagrams dropped: the handshake they waited for failed"},
    {"meshd_handshakes_completed_total", "sessions established"},
    {"meshd_handshakes_failed_total", "handshakes that timed out"},
    {"meshd_handshakes_forced_total", "new handshakes started because a peer went silent"},
    {"meshd_transport_twin_notices_total{result=\"received\"}",
     "authenticated twin notices: a peer refused us, our identity is live elsewhere"},
    {"meshd_transport_twin_notices_total{result=\"sent\"}", "twin notices sent to a refused twin initiation"},
    {"meshd_transport_twin_notices_total{result=\"suppressed\"}",
     "twin notices not sent: over one per NodeId per second"},
    {"meshd_transport_peers_evicted_total{reason=\"idle\"}",
     "peer entries evicted after peer_idle_timeout_us without traffic"},
    {"meshd_transport_peers_evicted_total{reason=\"full\"}",
     "idlest peer entries evicted to make room for a new address"},
    {"meshd_transport_peers_refused_total", "new addresses refused: the peer table is full of busy entries"},
    {"meshd_transport_initiations_lost_total", "handshake initiations not sent (fault injection only)"},
}};
inline constexpr const CounterKey& transport_key(TransportCount c) {
  return kTransportCounts[static_cast<size_t>(c)];
}
// The ProtocolDriver's series for the transport (prefix "meshd_packets"):
// every datagram on the lower network, and drops by wire::DropReason.
inline constexpr std::string_view kPacketsPrefix = "meshd_packets";
inline constexpr CounterKey kPacketsSent{"meshd_packets_sent_total", "transport datagrams sent"};
inline constexpr CounterKey kPacketsSendFailed{"meshd_packets_send_failed_total",
                                               "transport datagrams the network refused"};
inline constexpr CounterKey kPacketsReceived{"meshd_packets_received_total", "transport datagrams accepted"};
inline constexpr const CounterFamily<wire::DropReason>& kPacketsDropped = wire::metric::kPacketsDropped;
}  // namespace metric

// An authenticated plaintext for the upper layer, from `address`.
struct Delivery {
  Address address;
  std::vector<uint8_t> bytes;
};

// A log line the service writes (the machine has no Log).
struct TransportLogLine {
  LogLevel level;
  std::string_view event;
  nlohmann::json fields;
};

// Operator evidence, never behaviour: a handshake packet refused (its drop
// reason and source), or a handshake attempt that ended without a session
// (reason wire::DropReason::none: it timed out unanswered).
struct HandshakeRefusal {
  Address from;
  wire::DropReason reason = wire::DropReason::none;
};

struct TransportOutput {
  std::vector<Datagram> send;          // to the lower network, in order
  std::vector<Delivery> deliver;       // to the upper layer, in order
  std::vector<crypto::TwinNotice> twins;
  std::vector<TransportLogLine> logs;
  std::vector<HandshakeRefusal> refusals;
};

class TransportMachine {
 public:
  using Output = TransportOutput;
  using Drop = wire::DropReason;
  static constexpr size_t kDropReasons = wire::kDropReasonCount;
  // The wall clock (handshake timestamps are WireGuard's wall-clock ones).
  using WallClock = std::function<int64_t()>;

  // Configured peers that cannot be added are skipped and logged through
  // the first output (take_startup_logs()).
  TransportMachine(const crypto::Identity& identity, const crypto::KeyArchive& archive, const crypto::Psk& psk,
                   RandomStream rng, const SecureTransportConfig& config, const std::vector<TransportPeer>& peers,
                   WallClock wall_us, Buggify* buggify = nullptr);
  TransportMachine(const TransportMachine&) = delete;
  TransportMachine& operator=(const TransportMachine&) = delete;

  // --- the one shape -------------------------------------------------------
  void on_tick(int64_t now_us, Output& out);
  Drop on_datagram(int64_t now_us, const Address& from, std::span<const uint8_t> bytes, Output& out);
  int64_t next_deadline_us() const;
  bool finished() const { return false; }

  // --- other inputs --------------------------------------------------------
  Status send(int64_t now_us, const Address& to, std::span<const uint8_t> bytes, Output& out);
  // Key rotation: the new identity (same NodeId) and the archive holding
  // the old key; live sessions continue, new handshakes use the new key.
  void rotate_identity(const crypto::Identity& identity, const crypto::KeyArchive& archive);
  void set_observer(TransportObserver* observer) { observer_ = observer; }
  // Log lines from construction (rejected configured peers), once.
  std::vector<TransportLogLine> take_startup_logs() { return std::move(startup_logs_); }

  // --- reading -------------------------------------------------------------
  const crypto::Identity& identity() const { return identity_; }
  std::optional<NodeId> peer_id(const Address& address) const;
  const crypto::HandshakeManager& handshakes() const { return manager_; }
  size_t queued(const Address& to) const;
  size_t peer_entries() const { return peers_.size(); }
  uint64_t count(TransportCount c) const { return counts_[static_cast<size_t>(c)]; }
  // {"node_id", "sent", "delivered", "handshakes_completed", "handshakes_failed",
  //  "queue_dropped", "peers": [...]}; the service adds "dropped".
  nlohmann::json status() const;

 private:
  struct PeerState {
    std::optional<NodeId> id;
    std::deque<std::vector<uint8_t>> queue;
    int64_t last_received_us = -1;
    int64_t unanswered_since_us = -1;  // first send since we last heard
    int64_t last_hint_us = -1;         // last unknown_session hint acted on
    int64_t last_sent_us = INT64_MIN / 2;
    int64_t last_active_us = 0;  // created, sent or received: idle eviction
    bool configured = false;     // an operator-configured peer: never evicted
  };

  void bump(TransportCount c, uint64_t n = 1) { counts_[static_cast<size_t>(c)] += n; }
  bool fault(BuggifyPoint point) { return buggify_ != nullptr && buggify_->fire(point); }
  void handle(int64_t now_us, crypto::HandshakeOutput& hs, Output& out);
  void transmit(Datagram packet, Output& out);
  void flush(int64_t now_us, PeerState& peer, Output& out);
  bool seal_and_send(int64_t now_us, PeerState& peer, const NodeId& id, std::span<const uint8_t> plaintext,
                     Output& out);
  void connect(int64_t now_us, const Address& address, PeerState& peer, bool force, Output& out);
  Drop on_transport_packet(int64_t now_us, const Address& from, const wire::DecodedPacket& packet, Output& out);
  void on_unknown_session(int64_t now_us, const Address& from, const NodeId& claimed, Output& out);
  void deliver(const Address& address, const NodeId& peer_id, const crypto::KeyUse& use,
               std::span<const uint8_t> plaintext, Output& out);
  // The entry for `address`, created if needed; nullptr if the table is
  // full of entries that cannot be evicted (counted).
  PeerState* peer_at(const Address& address, int64_t now_us);
  bool evictable(const PeerState& peer) const;
  void evict(std::map<Address, PeerState>::iterator it);
  void evict_idle(int64_t now_us);
  void check_tables() const;

  crypto::Identity identity_;
  crypto::KeyArchive archive_;
  RandomStream rng_;
  SecureTransportConfig config_;
  crypto::HandshakeManager manager_;
  WallClock wall_us_;
  Buggify* buggify_;
  TransportObserver* observer_ = nullptr;
  std::map<Address, PeerState> peers_;
  std::map<NodeId, Address> address_of_;
  int64_t next_buggify_roll_us_ = 0;  // transport_early_rekey's cadence (buggify only)
  std::array<uint64_t, kTransportCounts> counts_{};
  std::vector<TransportLogLine> startup_logs_;
};
static_assert(ProtocolMachine<TransportMachine>);

}  // namespace meshd::transport
