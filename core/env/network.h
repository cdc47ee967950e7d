// Network: one bound datagram endpoint of a node.
//
// Unreliable, unordered datagrams, exactly like UDP: a successful send()
// means only that the backend accepted the bytes; they may be lost,
// duplicated, reordered, delayed or (in the simulator) corrupted. Anything
// that must arrive intact is the transport's job (AEAD + retries).
//
// Receiving is push-based: the backend calls the receive handler on the
// node's loop (never inside a fiber, never re-entrantly from send()), once
// per datagram, with a view that is valid only for the duration of the call.
// A handler that wants a fiber to block on packets pushes them into a
// bounded Channel (core/env/runtime.h). This is a deliberate departure from
// a blocking recv(): see docs/architecture.md, "Receiving".
//
// Ownership: the backend owns the endpoint; the node borrows it for its
// lifetime. Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>

#include "core/env/address.h"
#include "core/env/status.h"

namespace meshd {

// Largest datagram any layer may send. Chosen below the common 1500-byte
// Ethernet MTU minus IPv4/UDP headers (1472) with room for tunnels.
constexpr size_t kDatagramBytesMax = 1400;

class Network {
 public:
  using ReceiveHandler = std::function<void(const Address& from, std::span<const uint8_t> bytes)>;

  virtual ~Network() = default;
  virtual Address local_address() const = 0;
  // Errc::too_large if bytes.size() > kDatagramBytesMax; Errc::unavailable
  // if the local send queue is full (the datagram is dropped and counted);
  // Errc::closed after the endpoint is closed.
  virtual Status send(const Address& to, std::span<const uint8_t> bytes) = 0;
  virtual void set_receive_handler(ReceiveHandler handler) = 0;
};

}  // namespace meshd
