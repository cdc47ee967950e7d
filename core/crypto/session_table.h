// SessionTable: every peer's transport sessions, the local session-index
// space, and sealing/opening of transport packets (docs/protocol.md,
// "Transport"). HandshakeManager installs sessions here when a handshake
// completes; this table alone touches transport packets.
//
//  * Index space: every local index we hand out (handshakes in flight,
//    sessions) names an owner NodeId — zero for a first-contact probe,
//    whose peer is not known yet. open() routes a packet by its
//    session_id and accepts it only from the owner it names.
//  * Liveness facts for the twin rule (twin_rule.h): when a packet last
//    opened on a peer's sessions, and from which source address.
// Bounds: kPeersMax peers (add_peer beyond it is a programmer error:
// HandshakeManager refuses first), PeerSessions::kSessionsMax sessions each,
// indices at most kIndicesMax. Pure state: time comes in as now_us.
#pragma once

#include <functional>
#include <map>
#include <span>
#include <vector>

#include "core/crypto/peer_sessions.h"
#include "core/crypto/twin_rule.h"
#include "core/env/address.h"
#include "core/env/protocol.h"
#include "core/env/random.h"
#include "core/env/status.h"

namespace meshd::crypto {

constexpr size_t kPeersMax = 4096;
// Indices held at once: each peer's sessions and handshake in flight, XX
// half-open responders and probes (HandshakeManager bounds each).
constexpr size_t kIndicesMax = kPeersMax * (PeerSessions::kSessionsMax + 1) + 2048;

// A packet to send is the one protocol Datagram (core/env/protocol.h).

// Which key and nonce a transport packet used (the simulator's nonce-reuse
// and forgery checks; see Session::send_key_id).
struct KeyUse {
  uint64_t key_id = 0;
  uint64_t counter = 0;
};

class SessionTable {
 public:
  // `rng` (index allocation) is borrowed and must outlive this.
  SessionTable(const NodeId& self, const SessionConfig& config, uint8_t hop_limit, RandomStream& rng);

  // --- peers ---------------------------------------------------------------
  // Preconditions: not present, fewer than kPeersMax peers.
  void add_peer(const NodeId& peer);
  bool has_peer(const NodeId& peer) const { return peers_.count(peer) != 0; }
  size_t peer_count() const { return peers_.size(); }
  PeerSessions& sessions(const NodeId& peer);  // precondition: present
  const PeerSessions* find(const NodeId& peer) const;
  // The liveness view of `peer` for the twin rule; `holder` and
  // `last_freshness` are the handshake layer's and filled by the caller.
  LivenessView liveness(const NodeId& peer) const;

  // --- index space ---------------------------------------------------------
  uint32_t allocate_index(const NodeId& owner);  // never 0; asserts on exhaustion
  // The owner of `index`, or nullptr.
  const NodeId* owner_of(uint32_t index) const;
  // Hands an index to a new owner (a probe promoted to a peer). Precondition: allocated.
  void reassign_index(uint32_t index, const NodeId& owner);
  // Frees one index now (a half-open responder evicted).
  void release_index(uint32_t index) { index_owner_.erase(index); }
  // Frees every index that neither a session holds nor `held(index, owner)` claims.
  void release_unused(const std::function<bool(uint32_t, const NodeId&)>& held);
  size_t index_count() const { return index_owner_.size(); }

  // --- transport packets -----------------------------------------------------
  // Seals `plaintext` to `peer` at `to`. Errc::not_found for an unknown peer,
  // Errc::unavailable without a session.
  Result<Datagram> seal(const NodeId& peer, const Address& to, std::span<const uint8_t> plaintext,
                         int64_t now_us, KeyUse* used = nullptr);
  // Opens a transport packet (see HandshakeManager::open).
  wire::DropReason open(const wire::DecodedPacket& packet, std::span<uint8_t> out, size_t& plaintext_bytes,
                        NodeId& from, int64_t now_us, KeyUse* used, const Address* from_address);

  // --- time ------------------------------------------------------------------
  void expire(int64_t now_us);
  int64_t next_expiry_us() const;  // INT64_MAX if no session is held

 private:
  struct Entry {
    PeerSessions sessions;
    Address last_opened_from{};
    int64_t last_opened_from_us = kLivenessNeverUs;
  };

  NodeId self_;
  SessionConfig config_;
  uint8_t hop_limit_;
  RandomStream& rng_;
  std::map<NodeId, Entry> peers_;
  std::map<uint32_t, NodeId> index_owner_;
};

}  // namespace meshd::crypto
