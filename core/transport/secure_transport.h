// SecureTransport: encrypted, authenticated datagrams between mesh nodes,
// presented to upper layers as a plain Network (core/env/network.h).
//
// Upper layers (SWIM) send and receive plaintext datagrams addressed by
// peer Address, exactly as over the raw Network; underneath, every
// datagram is a Noise-keyed transport packet (docs/protocol.md).
//
// The protocol is TransportMachine (transport_machine.h: handshakes,
// sessions, queues, timers, in the one protocol shape); this service is
// only that machine, the one ProtocolDriver (core/env/protocol_driver.h)
// and what to do with the machine's output: datagrams go to the lower
// network (env.network), deliveries to the receive handler, twin notices
// to the twin handler, log lines to env.log, counters to env.metrics.
//
// Send path (send()): never blocks; ok for a queued datagram (UDP
// semantics); Errc::too_large over kTransportPayloadBytesMax; Errc::closed
// after stop(). Receive path (on_datagram(), loop context): the machine
// decodes once and handles at once; only authenticated, never-seen
// plaintext reaches the receive handler, with the peer's known address.
// Nothing is logged per packet above debug.
//
// Timers: the driver's fiber ("transport") sleeps until the machine's
// next_deadline_us() — every timer, rekeys included — and is woken early
// only when an input moved that deadline earlier. No polling.
//
// Metrics (typed keys in transport_machine.h, namespace metric):
// meshd_packets_{sent,send_failed,received}_total and
// meshd_packets_dropped_total{reason} (the driver, prefix "meshd_packets":
// every datagram on the lower network, drops by wire::DropReason), and one
// series per TransportCount (kTransportCounts: sealed packets, deliveries,
// keepalives, queue drops, handshakes, twin notices, peer-table evictions).
//
// Ownership: borrows the Env (its network is the lower, raw one); the
// machine owns the identity, archive, handshake state and queues.
// Single-threaded; not copyable.
#pragma once

#include <nlohmann/json.hpp>

#include <array>
#include <functional>
#include <optional>
#include <vector>

#include "core/env/env.h"
#include "core/env/protocol_driver.h"
#include "core/transport/transport_machine.h"

namespace meshd::transport {

class SecureTransport final : public Network {
 public:
  SecureTransport(Env& env, const crypto::Identity& identity, const crypto::KeyArchive& archive,
                  const crypto::Psk& psk, const SecureTransportConfig& config,
                  const std::vector<TransportPeer>& peers);
  ~SecureTransport() override;
  SecureTransport(const SecureTransport&) = delete;
  SecureTransport& operator=(const SecureTransport&) = delete;

  // Spawns the driver's fiber. The owner routes the lower network's
  // datagrams to on_datagram().
  Status start() { return driver_.start(); }
  void stop() { driver_.stop(); }
  void on_datagram(const Address& from, std::span<const uint8_t> bytes) { driver_.on_datagram(from, bytes); }

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
  void rotate_identity(const crypto::Identity& identity, const crypto::KeyArchive& archive) {
    machine_.rotate_identity(identity, archive);
  }

  void set_observer(TransportObserver* observer) { machine_.set_observer(observer); }
  const crypto::Identity& identity() const { return machine_.identity(); }
  // The NodeId bound to `address` (configured or authenticated by a
  // handshake); nullopt if none. Read-only (membership's identity rules).
  std::optional<NodeId> peer_id(const Address& address) const { return machine_.peer_id(address); }
  const crypto::HandshakeManager& handshakes() const { return machine_.handshakes(); }
  const TransportMachine& machine() const { return machine_; }
  uint64_t dropped(wire::DropReason reason) const { return driver_.dropped(reason); }
  size_t queued(const Address& to) const { return machine_.queued(to); }
  size_t peer_entries() const { return machine_.peer_entries(); }
  // When the machine next has work; INT64_MAX if never.
  int64_t next_deadline_us() const { return machine_.next_deadline_us(); }
  nlohmann::json status() const;

 private:
  void on_output(TransportOutput& out);
  void publish();

  Env& env_;
  TransportMachine machine_;
  ReceiveHandler handler_;
  TwinHandler twin_handler_;
  HandshakeRefusalObserver refusal_observer_;
  std::array<uint64_t*, kTransportCounts> counts_{};
  ProtocolDriver<TransportMachine> driver_;  // last: its fiber uses the members above
};

}  // namespace meshd::transport
