// bench_udp: raw UDP throughput over loopback — the baseline the crypto
// and transport layers are compared against.
//
// Two sockets in one process on 127.0.0.1, 1 KiB payloads, a bounded
// number of datagrams sent in bursts that are drained before the next
// burst (so the figure is the per-datagram cost, not the kernel's drop
// behaviour). Two measurements:
//  1. syscalls only: sendto() / recvfrom() on plain non-blocking sockets;
//  2. the production backend: UdpNetwork::send() and the EventLoop's
//     epoll + recvmmsg receive path calling a receive handler.
// Prints datagrams/s and MiB/s for each. Loopback only; no network traffic.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

#include "core/env/metrics.h"
#include "core/env/runtime.h"
#include "io/clock.h"
#include "io/fd.h"
#include "io/loop.h"
#include "io/udp.h"

namespace {

constexpr size_t kPayloadBytes = 1024;
constexpr size_t kDatagramsTotal = 200'000;
constexpr size_t kBurstDatagrams = 64;  // well inside the socket buffers
constexpr uint32_t kLoopback = 0x7f000001;
constexpr int64_t kDrainBudgetMs = 1000;  // a burst not drained by then is lost

int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

void report(const char* name, size_t sent, size_t received, int64_t elapsed_ns) {
  const double seconds = static_cast<double>(elapsed_ns) / 1e9;
  const double per_s = static_cast<double>(received) / seconds;
  std::printf("%-28s sent=%zu received=%zu lost=%zu  %10.0f datagrams/s  %8.1f MiB/s  %6.2f us/datagram\n",
              name, sent, received, sent - received, per_s,
              per_s * kPayloadBytes / (1024.0 * 1024.0), 1e6 / per_s);
}

meshd::io::UniqueFd bound_socket(sockaddr_in& addr) {
  meshd::io::UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  addr = sockaddr_in{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(kLoopback);
  socklen_t len = sizeof(addr);
  if (!fd.valid() || ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::perror("bench_udp: socket");
    std::exit(1);
  }
  return fd;
}

void bench_syscalls() {
  sockaddr_in a_addr{}, b_addr{};
  auto a = bound_socket(a_addr);
  auto b = bound_socket(b_addr);
  std::vector<uint8_t> payload(kPayloadBytes, 0xab);
  std::vector<uint8_t> buffer(2048);
  size_t sent = 0, received = 0;
  const int64_t start = now_ns();
  while (sent < kDatagramsTotal) {
    size_t burst = 0;
    for (; burst < kBurstDatagrams && sent < kDatagramsTotal; ++burst, ++sent) {
      (void)::sendto(a.get(), payload.data(), payload.size(), 0,
                     reinterpret_cast<sockaddr*>(&b_addr), sizeof(b_addr));
    }
    // Loopback delivers synchronously: everything sent is queued already.
    while (::recvfrom(b.get(), buffer.data(), buffer.size(), 0, nullptr, nullptr) > 0) ++received;
  }
  report("sendto/recvfrom", sent, received, now_ns() - start);
}

void bench_backend() {
  meshd::io::RealClock clock;
  meshd::Runtime runtime(clock);
  auto loop = meshd::io::EventLoop::create(runtime);
  meshd::Metrics metrics;
  auto a = meshd::io::UdpNetwork::open(**loop, {kLoopback, 0}, metrics);
  auto b = meshd::io::UdpNetwork::open(**loop, {kLoopback, 0}, metrics);
  if (!loop || !a || !b) {
    std::fprintf(stderr, "bench_udp: backend setup failed\n");
    std::exit(1);
  }
  size_t received = 0;
  (*b)->set_receive_handler([&](const meshd::Address&, std::span<const uint8_t>) { ++received; });
  std::vector<uint8_t> payload(kPayloadBytes, 0xcd);
  const meshd::Address to = (*b)->local_address();
  size_t sent = 0;
  const int64_t start = now_ns();
  while (sent < kDatagramsTotal) {
    size_t burst = 0;
    for (; burst < kBurstDatagrams && sent < kDatagramsTotal; ++burst, ++sent) {
      (void)(*a)->send(to, payload);
    }
    const int64_t drain_deadline = now_ns() + kDrainBudgetMs * 1'000'000;
    while (received < sent && now_ns() < drain_deadline) (void)(*loop)->run_once(1000);
  }
  report("UdpNetwork + EventLoop", sent, received, now_ns() - start);
}

}  // namespace

int main() {
  std::printf("bench_udp: %zu datagrams of %zu B over 127.0.0.1, bursts of %zu\n", kDatagramsTotal,
              kPayloadBytes, kBurstDatagrams);
  bench_syscalls();
  bench_backend();
  return 0;
}
