#include "io/udp.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>

#include "core/env/assert.h"
#include "io/errno_status.h"

namespace meshd::io {

namespace {

sockaddr_in to_sockaddr(const Address& address) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(address.ipv4);
  sa.sin_port = htons(address.port);
  return sa;
}

Address from_sockaddr(const sockaddr_in& sa) {
  return Address{ntohl(sa.sin_addr.s_addr), ntohs(sa.sin_port)};
}

}  // namespace

struct UdpNetwork::Buffers {
  std::array<std::array<uint8_t, kReceiveBufferBytes>, kRecvmmsgVectorMax> data;
  std::array<sockaddr_in, kRecvmmsgVectorMax> from;
  std::array<iovec, kRecvmmsgVectorMax> iov;
  std::array<mmsghdr, kRecvmmsgVectorMax> headers;
};

UdpNetwork::UdpNetwork(EventLoop& loop, Metrics& metrics)
    : loop_(loop),
      counters_{
          &metrics.counter(metric::kUdpSentDatagrams),
          &metrics.counter(metric::kUdpSentBytes),
          &metrics.counter(metric::kUdpSendDroppedFull),
          &metrics.counter(metric::kUdpSendDroppedError),
          &metrics.counter(metric::kUdpSendDroppedTooLarge),
          &metrics.counter(metric::kUdpReceivedDatagrams),
          &metrics.counter(metric::kUdpReceivedBytes),
          &metrics.counter(metric::kUdpReceiveDroppedOversize),
          &metrics.counter(metric::kUdpReceiveDroppedNoHandler),
          &metrics.counter(metric::kUdpReceiveErrors),
      },
      buffers_(std::make_unique<Buffers>()) {}

Result<std::unique_ptr<UdpNetwork>> UdpNetwork::open(EventLoop& loop, const Address& bind_address,
                                                     Metrics& metrics) {
  std::unique_ptr<UdpNetwork> net(new UdpNetwork(loop, metrics));
  net->socket_.reset(::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!net->socket_.valid()) return status_from_errno(errno, "socket(udp)");
  const int fd = net->socket_.get();
  // Best effort: a smaller kernel buffer only means earlier drops.
  (void)::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &kSocketBufferBytes, sizeof(kSocketBufferBytes));
  (void)::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &kSocketBufferBytes, sizeof(kSocketBufferBytes));
  sockaddr_in sa = to_sockaddr(bind_address);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof(sa)) != 0) {
    const int err = errno;
    Status s = status_from_errno(err, "bind " + bind_address.to_string());
    // EADDRINUSE maps to io_error by default; "exists" says what happened.
    return err == EADDRINUSE ? Status(Errc::exists, s.message()) : s;
  }
  sockaddr_in bound{};
  socklen_t len = sizeof(bound);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len) != 0) {
    return status_from_errno(errno, "getsockname");
  }
  net->local_ = from_sockaddr(bound);
  UdpNetwork* raw = net.get();
  if (Status s = loop.add_fd(fd, EPOLLIN, [raw](uint32_t) { raw->on_readable(); }); !s) return s;
  return net;
}

UdpNetwork::~UdpNetwork() { close(); }

void UdpNetwork::close() {
  if (!socket_.valid()) return;
  loop_.remove_fd(socket_.get());
  socket_.reset();
}

Status UdpNetwork::send(const Address& to, std::span<const uint8_t> bytes) {
  if (!socket_.valid()) return Status(Errc::closed, "udp socket closed");
  if (bytes.size() > kDatagramBytesMax) {
    ++*counters_.send_rejected_too_large;
    return Status(Errc::too_large, "datagram over kDatagramBytesMax");
  }
  const sockaddr_in sa = to_sockaddr(to);
  ssize_t n;
  do {
    n = ::sendto(socket_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL,
                 reinterpret_cast<const sockaddr*>(&sa), sizeof(sa));
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    const int err = errno;
    if (err == EMSGSIZE) {
      ++*counters_.send_rejected_too_large;
      return status_from_errno(err, "sendto");
    }
    if (err == EAGAIN || err == ENOBUFS) {
      ++*counters_.send_dropped_full;
    } else {
      ++*counters_.send_dropped_error;
    }
    return Status(Errc::unavailable, status_from_errno(err, "sendto " + to.to_string()).message());
  }
  // A datagram socket sends all or nothing.
  MESHD_ASSERT(static_cast<size_t>(n) == bytes.size());
  ++*counters_.sent_datagrams;
  *counters_.sent_bytes += bytes.size();
  return Status::ok();
}

void UdpNetwork::set_receive_handler(ReceiveHandler handler) {
  if (dispatching_) {
    pending_handler_ = std::move(handler);
    pending_handler_set_ = true;
    return;
  }
  handler_ = std::move(handler);
}

void UdpNetwork::on_readable() {
  size_t handled = 0;
  while (handled < kReceiveBatchMax && socket_.valid()) {
    const size_t got = receive_some(std::min(kRecvmmsgVectorMax, kReceiveBatchMax - handled));
    if (got == 0) break;
    handled += got;
  }
}

size_t UdpNetwork::receive_some(size_t want) {
  MESHD_ASSERT(want > 0 && want <= kRecvmmsgVectorMax);
  Buffers& b = *buffers_;
  for (size_t i = 0; i < want; ++i) {
    b.iov[i] = iovec{b.data[i].data(), b.data[i].size()};
    b.headers[i] = mmsghdr{};
    b.headers[i].msg_hdr.msg_name = &b.from[i];
    b.headers[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
    b.headers[i].msg_hdr.msg_iov = &b.iov[i];
    b.headers[i].msg_hdr.msg_iovlen = 1;
  }
  int n;
  do {
    n = ::recvmmsg(socket_.get(), b.headers.data(), static_cast<unsigned>(want), MSG_DONTWAIT,
                   nullptr);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    // EAGAIN: drained. Anything else (e.g. a queued ICMP error) is counted;
    // the next wakeup tries again.
    if (errno != EAGAIN) ++*counters_.receive_errors;
    return 0;
  }
  for (int i = 0; i < n && socket_.valid(); ++i) {
    if (pending_handler_set_) {
      handler_ = std::move(pending_handler_);
      pending_handler_ = nullptr;
      pending_handler_set_ = false;
    }
    const mmsghdr& h = b.headers[static_cast<size_t>(i)];
    const size_t len = h.msg_len;
    if ((h.msg_hdr.msg_flags & MSG_TRUNC) != 0 || len > kDatagramBytesMax) {
      ++*counters_.receive_dropped_oversize;
      continue;
    }
    if (!handler_) {
      ++*counters_.receive_dropped_no_handler;
      continue;
    }
    ++*counters_.received_datagrams;
    *counters_.received_bytes += len;
    const Address from = from_sockaddr(b.from[static_cast<size_t>(i)]);
    // The handler may close() us; the buffers stay valid (owned by *this).
    dispatching_ = true;
    handler_(from, std::span<const uint8_t>(b.data[static_cast<size_t>(i)].data(), len));
    dispatching_ = false;
  }
  if (pending_handler_set_) {
    handler_ = std::move(pending_handler_);
    pending_handler_ = nullptr;
    pending_handler_set_ = false;
  }
  return static_cast<size_t>(n);
}

}  // namespace meshd::io
