// SecureTransport: encrypted, authenticated datagrams between mesh nodes,
// presented to upper layers as a plain Network (core/env/network.h).
//
// Upper layers (LivenessService today) send and receive plaintext datagrams
// addressed by peer Address, exactly as over the raw Network; underneath,
// every datagram is a Noise-keyed transport packet (docs/protocol.md).
//
// Send path (send()): the address maps to a NodeId (configured public key,
// or learned by a completed handshake). With a live session the datagram is
// sealed and sent at once. Otherwise it waits in a per-peer queue (at most
// queue_packets_max; overflow is dropped and counted in
// meshd_transport_queue_dropped_total{reason="overflow"}) while a handshake
// runs: IKpsk2 to a known key, XXpsk3 first contact by address otherwise.
// send() never blocks and returns ok for a queued datagram (UDP semantics).
//
// Receive path (on_datagram(), loop context): decode -> handshake packets
// to the HandshakeManager, transport packets opened (replay window, AEAD);
// only authenticated, never-seen plaintext reaches the receive handler,
// with the peer's known address. Every drop is counted by reason in
// meshd_packets_dropped_total{reason=...} (wire::DropCounters); nothing is
// logged per packet above debug.
//
// Timers: one fiber ("transport") sleeps until next_deadline_us() — the
// handshake manager's (retries, timeouts, rekeys, expiry), every silent
// peer's rehandshake time and the idlest peer entry's eviction time — then
// ticks. No polling: a change that brings a deadline forward wakes the
// fiber. (Under buggify only, it also wakes every kBuggifyTickIntervalUs so
// the early-rekey fault point keeps firing mid-session.) A peer we sent to
// but have not heard from for silence_rehandshake_us gets a fresh
// handshake (it may have restarted and lost the session), at most once per
// silence period. Postcondition of each tick: next_deadline_us() > now.
//
// Peer entries (per address: NodeId, queue, timestamps) are bounded by
// kTransportPeersMax. An entry that is not a configured peer, has nothing
// queued and has neither sent nor received for peer_idle_timeout_us is
// evicted (meshd_transport_peers_evicted_total{reason="idle"}); a new
// address when the table is full evicts the idlest such entry
// ({reason="full"}) or is refused (meshd_transport_peers_refused_total).
// A transport packet for an unknown session, or any packet addressed to a
// NodeId that is not ours (the sender holds a stale key for us: we were
// wiped and re-keyed), from an address we talk to is a hint (rate-limited)
// that the peer there lost or changed identity since our session: a
// handshake starts at once, even if we hold a session (XX first contact if
// a different NodeId now answers there). Without the second hint two nodes that were both wiped
// would each keep initiating IK to the other's old key forever.
// Passive keepalive: receiving data from a peer we have not sent to for
// silence_rehandshake_us / 2 sends it an empty packet, so one-way traffic
// never looks like silence. Session confirmation: after an initiator-side handshake with nothing
// queued, an empty keepalive confirms the keys (an IK responder seals only
// once the initiator spoke first). Empty plaintexts are never delivered.
//
// Twins: a signed twin notice (crypto::HandshakeManager, "Twins") says a
// responder refused our handshake because our identity is live at another
// endpoint; it reaches the owner through the twin handler (Node applies
// membership.identity_policy). Counted in
// meshd_transport_twin_notices_total{result="received"|"sent"|"suppressed"}.
//
// Ownership: borrows the Env (its network is the lower, raw one) and owns
// the identity, archive, handshake state and queues. Single-threaded.
#pragma once

#include <nlohmann/json.hpp>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "core/crypto/handshake_manager.h"
#include "core/crypto/key_archive.h"
#include "core/env/env.h"
#include "core/wire/drop_reason.h"

namespace meshd::transport {

constexpr size_t kQueuedPacketsPerPeerMax = 16;
constexpr size_t kQueuedPeersMax = 1024;  // distinct addresses a send() may add
constexpr size_t kTransportPeersMax = crypto::kPeersMax;  // per-address entries in all
// Fault-injection cadence only (Env::buggify set): never a correctness timer.
constexpr int64_t kBuggifyTickIntervalUs = 250 * 1000;
constexpr int64_t kSilenceRehandshakeDefaultUs = 5 * kMicrosPerSecond;
// Longer than a session lives (SessionConfig::reject_after_us, 180 s): an
// evicted entry had no usable session left.
constexpr int64_t kPeerIdleTimeoutDefaultUs = 5 * 60 * kMicrosPerSecond;
// Largest plaintext an upper layer may send in one datagram.
constexpr size_t kTransportPayloadBytesMax = kDatagramBytesMax - crypto::kSealOverheadBytes;

struct SecureTransportConfig {
  crypto::HandshakeManagerConfig handshake;
  size_t queue_packets_max = kQueuedPacketsPerPeerMax;
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

class SecureTransport final : public Network {
 public:
  SecureTransport(Env& env, const crypto::Identity& identity, const crypto::KeyArchive& archive,
                  const crypto::Psk& psk, const SecureTransportConfig& config,
                  const std::vector<TransportPeer>& peers);
  ~SecureTransport() override;
  SecureTransport(const SecureTransport&) = delete;
  SecureTransport& operator=(const SecureTransport&) = delete;

  // Spawns the timer fiber. The owner routes the lower network's datagrams
  // to on_datagram().
  Status start();
  void stop();
  void on_datagram(const Address& from, std::span<const uint8_t> bytes);

  // --- Network (the upper layers' view) ---------------------------------
  Address local_address() const override { return env_.network.local_address(); }
  // Errc::too_large over kTransportPayloadBytesMax; Errc::closed after stop().
  Status send(const Address& to, std::span<const uint8_t> bytes) override;
  void set_receive_handler(ReceiveHandler handler) override { handler_ = std::move(handler); }

  // Called (loop context) for every authenticated twin notice.
  using TwinHandler = std::function<void(const crypto::TwinNotice&)>;
  void set_twin_handler(TwinHandler handler) { twin_handler_ = std::move(handler); }
  // Operator evidence (meshd's logs; never behaviour): called for every
  // handshake packet refused (the drop reason and its source) and for
  // every handshake attempt that ended without a session (reason
  // wire::DropReason::none: it timed out unanswered). Unset: nothing.
  using HandshakeRefusalObserver = std::function<void(const Address& from, wire::DropReason reason)>;
  void set_handshake_refusal_observer(HandshakeRefusalObserver observer) { refusal_observer_ = std::move(observer); }

  // Key rotation: the new identity (same NodeId) and the archive holding
  // the old key; live sessions continue, new handshakes use the new key.
  void rotate_identity(const crypto::Identity& identity, const crypto::KeyArchive& archive);

  void set_observer(TransportObserver* observer) { observer_ = observer; }
  const crypto::Identity& identity() const { return identity_; }
  // The NodeId bound to `address` (configured or authenticated by a
  // handshake); nullopt if none. Read-only (membership's identity rules).
  std::optional<NodeId> peer_id(const Address& address) const;
  const crypto::HandshakeManager& handshakes() const { return manager_; }
  uint64_t dropped(wire::DropReason reason) const { return drops_.value(reason); }
  size_t queued(const Address& to) const;
  size_t peer_entries() const { return peers_.size(); }
  // When the timer fiber next has work (see "Timers"); INT64_MAX if never.
  int64_t next_deadline_us() const;
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

  void run();
  void handle(crypto::HandshakeOutput& out);
  void transmit(const crypto::OutPacket& packet);
  void flush(const Address& address, PeerState& peer);
  bool seal_and_send(PeerState& peer, const NodeId& id, std::span<const uint8_t> plaintext);
  void connect(const Address& address, PeerState& peer, bool force);
  void on_transport_packet(const Address& from, const wire::DecodedPacket& packet);
  void on_unknown_session(const Address& from, const NodeId& claimed);
  void deliver(const Address& address, const NodeId& peer_id, const crypto::KeyUse& use,
               std::span<const uint8_t> plaintext);
  // The entry for `address`, created if needed; nullptr if the table is
  // full of entries that cannot be evicted (counted).
  PeerState* peer_at(const Address& address, int64_t now_us);
  bool evictable(const PeerState& peer) const;
  void evict(std::map<Address, PeerState>::iterator it);
  void evict_idle(int64_t now_us);
  void tick(int64_t now_us);
  void wake() { wake_.set(); }

  Env& env_;
  crypto::Identity identity_;
  crypto::KeyArchive archive_;
  RandomStream rng_;
  SecureTransportConfig config_;
  crypto::HandshakeManager manager_;
  wire::DropCounters drops_;
  ReceiveHandler handler_;
  TwinHandler twin_handler_;
  HandshakeRefusalObserver refusal_observer_;
  TransportObserver* observer_ = nullptr;
  std::map<Address, PeerState> peers_;
  std::map<NodeId, Address> address_of_;
  Event wake_;
  std::optional<Runtime::FiberId> fiber_;
  bool stopped_ = false;
  int64_t sleep_until_us_ = INT64_MAX;     // the timer fiber's current deadline
  int64_t next_buggify_roll_us_ = 0;       // transport_early_rekey's cadence (buggify only)
  uint64_t& sent_;
  uint64_t& delivered_;
  uint64_t& keepalives_sent_;
  uint64_t& queue_overflow_;
  uint64_t& queue_failed_;
  uint64_t& handshakes_completed_;
  uint64_t& handshakes_failed_;
  uint64_t& handshakes_forced_;
  uint64_t& send_failed_;
  uint64_t& twin_notices_received_;
  uint64_t& twin_notices_sent_;
  uint64_t& twin_notices_suppressed_;
  uint64_t& peers_evicted_idle_;
  uint64_t& peers_evicted_full_;
  uint64_t& peers_refused_;
};

}  // namespace meshd::transport
