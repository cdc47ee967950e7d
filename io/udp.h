// UdpNetwork: the production meshd::Network — one non-blocking IPv4 UDP
// socket driven by an EventLoop.
//
// * open() binds to `bind_address` (port 0 picks a free port; read it back
//   with local_address()). SO_REUSEADDR is deliberately left off so two
//   nodes can never share a port by accident.
// * Receiving: on readability the loop calls recvmmsg() repeatedly, at most
//   kReceiveBatchMax datagrams per wakeup (fairness with other fds; epoll is
//   level-triggered so the rest arrive next round), and calls the receive
//   handler once per datagram in loop context. Datagrams larger than
//   kDatagramBytesMax are dropped and counted, never delivered truncated.
// * send(): one sendto(). Errc::too_large above kDatagramBytesMax (or
//   EMSGSIZE), Errc::unavailable when the kernel queue is full (EAGAIN/
//   ENOBUFS; the datagram is dropped and counted), Errc::closed after
//   close(); other errors (e.g. ENETUNREACH) are Errc::unavailable too —
//   UDP is unreliable and the transport retries.
// Counters (Prometheus): meshd_udp_{sent,received}_{datagrams,bytes}_total,
// meshd_udp_send_dropped_total{reason=...},
// meshd_udp_receive_dropped_total{reason=...}.
// The handler may call send(), close() or set_receive_handler(), but must
// not destroy the UdpNetwork.
// Ownership: owns the socket; borrows the EventLoop and Metrics, which must
// outlive it. Single-threaded.
#pragma once

#include <cstdint>
#include <memory>

#include "core/env/metric_key.h"
#include "core/env/metrics.h"
#include "core/env/network.h"
#include "io/fd.h"
#include "io/loop.h"

namespace meshd::io {

namespace metric {
// The UDP backend's series (typed keys: tests and status read these).
inline constexpr CounterKey kUdpSentDatagrams{"meshd_udp_sent_datagrams_total", "UDP datagrams handed to the kernel"};
inline constexpr CounterKey kUdpSentBytes{"meshd_udp_sent_bytes_total", "UDP payload bytes handed to the kernel"};
inline constexpr CounterKey kUdpSendDroppedFull{"meshd_udp_send_dropped_total{reason=\"queue_full\"}",
                                                "UDP datagrams dropped on send"};
inline constexpr CounterKey kUdpSendDroppedError{"meshd_udp_send_dropped_total{reason=\"error\"}",
                                                 "UDP datagrams dropped on send"};
inline constexpr CounterKey kUdpSendDroppedTooLarge{"meshd_udp_send_dropped_total{reason=\"too_large\"}",
                                                    "UDP datagrams dropped on send"};
inline constexpr CounterKey kUdpReceivedDatagrams{"meshd_udp_received_datagrams_total", "UDP datagrams delivered"};
inline constexpr CounterKey kUdpReceivedBytes{"meshd_udp_received_bytes_total", "UDP payload bytes delivered"};
inline constexpr CounterKey kUdpReceiveDroppedOversize{"meshd_udp_receive_dropped_total{reason=\"oversize\"}",
                                                       "UDP datagrams dropped on receive"};
inline constexpr CounterKey kUdpReceiveDroppedNoHandler{"meshd_udp_receive_dropped_total{reason=\"no_handler\"}",
                                                        "UDP datagrams dropped on receive"};
inline constexpr CounterKey kUdpReceiveErrors{"meshd_udp_receive_errors_total", "recvmmsg failures other than EAGAIN"};
}  // namespace metric

class UdpNetwork final : public Network {
 public:
  // Datagrams handled per readability wakeup.
  static constexpr size_t kReceiveBatchMax = 64;
  // Datagrams per recvmmsg() call (the receive buffers live in the object).
  static constexpr size_t kRecvmmsgVectorMax = 16;
  // Receive buffer per datagram: larger than kDatagramBytesMax so that an
  // oversize datagram is recognised (MSG_TRUNC) rather than cut silently.
  static constexpr size_t kReceiveBufferBytes = 2048;
  // Kernel socket buffers: room for bursts without drops.
  static constexpr int kSocketBufferBytes = 1 << 20;

  static Result<std::unique_ptr<UdpNetwork>> open(EventLoop& loop, const Address& bind_address,
                                                  Metrics& metrics);
  ~UdpNetwork() override;
  UdpNetwork(const UdpNetwork&) = delete;
  UdpNetwork& operator=(const UdpNetwork&) = delete;

  Address local_address() const override { return local_; }
  Status send(const Address& to, std::span<const uint8_t> bytes) override;
  // Safe from inside the handler itself (e.g. a node stopping on a
  // datagram): the new handler takes over from the next datagram.
  void set_receive_handler(ReceiveHandler handler) override;
  // Unregisters from the loop and closes the socket; later sends fail with
  // Errc::closed. Idempotent.
  void close();

 private:
  struct Counters {
    uint64_t* sent_datagrams;
    uint64_t* sent_bytes;
    uint64_t* send_dropped_full;
    uint64_t* send_dropped_error;
    uint64_t* send_rejected_too_large;
    uint64_t* received_datagrams;
    uint64_t* received_bytes;
    uint64_t* receive_dropped_oversize;
    uint64_t* receive_dropped_no_handler;
    uint64_t* receive_errors;
  };
  UdpNetwork(EventLoop& loop, Metrics& metrics);
  void on_readable();
  // One recvmmsg() call; returns datagrams handled, 0 when drained.
  size_t receive_some(size_t want);

  EventLoop& loop_;
  Counters counters_;
  UniqueFd socket_;
  Address local_;
  ReceiveHandler handler_;
  // A handler set while handler_ runs waits here (replacing a running
  // std::function would destroy it mid-call).
  ReceiveHandler pending_handler_;
  bool pending_handler_set_ = false;
  bool dispatching_ = false;
  struct Buffers;
  std::unique_ptr<Buffers> buffers_;
};

}  // namespace meshd::io
