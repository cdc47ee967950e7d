// bench_crypto: per-operation cost of the crypto/wire hot paths.
//
// Prints ns/op for: header encode+decode (goal <= 10 ns), replay-window
// check (goal <= 5 ns), session seal and open at 64 B and 1 KiB, and the
// CPU cost of an IKpsk2 / XXpsk3 handshake per side (wall time of tight
// loops; tools/ may use real clocks, core/ never does). Then loopback UDP
// throughput at 1 KiB: raw datagrams vs sealed+opened datagrams in the same
// run (sender and receiver threads pinned to two cores, raw and encrypted
// alternating over 5 rounds; goal: median encrypted/raw >= 70 %).
// Usage: bench_crypto [iterations_scale]   (default 1)
#include <arpa/inet.h>
#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "core/crypto/handshake_state.h"
#include "core/crypto/replay_window.h"
#include "core/crypto/session.h"
#include "core/wire/header.h"

using namespace meshd;
using namespace meshd::crypto;

namespace {

volatile uint64_t g_sink = 0;

template <class Fn>
double ns_per_op(uint64_t iterations, Fn&& fn) {
  for (uint64_t i = 0; i < iterations / 10 + 1; ++i) fn(i);  // warm up
  const auto start = std::chrono::steady_clock::now();
  for (uint64_t i = 0; i < iterations; ++i) fn(i);
  const auto end = std::chrono::steady_clock::now();
  return std::chrono::duration<double, std::nano>(end - start).count() / static_cast<double>(iterations);
}

void report(const char* name, double ns, double goal_ns = 0) {
  if (goal_ns > 0) {
    std::printf("%-40s %12.1f ns/op   (goal <= %.0f ns: %s)\n", name, ns, goal_ns, ns <= goal_ns ? "met" : "MISSED");
  } else {
    std::printf("%-40s %12.1f ns/op\n", name, ns);
  }
}

HandshakeConfig side(const char* name, bool initiator, RandomStream& rng) {
  HandshakeConfig c;
  c.protocol_name = name;
  c.initiator = initiator;
  c.prologue = {'b'};
  DhPrivate s{};
  s.fill(initiator ? 1 : 2);
  c.local_static = s;
  DhPrivate other{};
  other.fill(2);
  if (initiator && std::string_view(name).find("IK") != std::string_view::npos) {
    c.remote_static = dh_public_from_private(other);
  }
  c.psks = {Psk{}};
  c.rng = &rng;
  return c;
}

// Times each side's write/read calls over a full handshake.
void bench_handshake(const char* label, const char* name, int rounds) {
  Key32 k1{}, k2{};
  k1.fill(1);
  k2.fill(2);
  RandomStream r1(k1), r2(k2);
  double init_ns = 0, resp_ns = 0;
  for (int round = 0; round < rounds; ++round) {
    auto init = HandshakeState::create(side(name, true, r1));
    auto resp = HandshakeState::create(side(name, false, r2));
    if (!init || !resp) std::abort();
    while (!init->is_complete()) {
      const bool from_init = init->is_my_turn();
      HandshakeState& s = from_init ? *init : *resp;
      HandshakeState& r = from_init ? *resp : *init;
      std::vector<uint8_t> msg, payload;
      auto t0 = std::chrono::steady_clock::now();
      if (!s.write_message({}, msg)) std::abort();
      auto t1 = std::chrono::steady_clock::now();
      if (!r.read_message(msg, payload)) std::abort();
      auto t2 = std::chrono::steady_clock::now();
      const double w = std::chrono::duration<double, std::nano>(t1 - t0).count();
      const double rd = std::chrono::duration<double, std::nano>(t2 - t1).count();
      (from_init ? init_ns : resp_ns) += w;
      (from_init ? resp_ns : init_ns) += rd;
    }
  }
  std::printf("%-40s %12.1f us initiator, %.1f us responder (per handshake)\n", label,
              init_ns / rounds / 1000.0, resp_ns / rounds / 1000.0);
}

// One loopback run: a sender thread pushes `count` datagrams of
// `payload_bytes`; the receiver counts what arrives until the sender is done
// and the socket stays quiet. Returns received datagrams per second.
// Pins the calling thread to `cpu` when the machine has more than one (each
// endpoint on its own core, as two meshd processes would be); otherwise a
// no-op. Without it the scheduler migrates the two threads and the figure
// swings by a third from run to run.
void pin_to_cpu(unsigned cpu) {
  const unsigned cpus = std::thread::hardware_concurrency();
  if (cpus < 2) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu % cpus, &set);
  (void)pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

double loopback_rate(size_t payload_bytes, uint64_t count, bool encrypted) {
  const int rx = socket(AF_INET, SOCK_DGRAM, 0);
  const int tx = socket(AF_INET, SOCK_DGRAM, 0);
  if (rx < 0 || tx < 0) std::abort();
  int buffer_bytes = 8 << 20;
  setsockopt(rx, SOL_SOCKET, SO_RCVBUF, &buffer_bytes, sizeof(buffer_bytes));
  timeval quiet{0, 200000};
  setsockopt(rx, SOL_SOCKET, SO_RCVTIMEO, &quiet, sizeof(quiet));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (bind(rx, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) std::abort();
  getsockname(rx, reinterpret_cast<sockaddr*>(&addr), &len);
  if (connect(tx, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) std::abort();

  SessionKeys ka, kb;
  ka.send.fill(1);
  ka.receive.fill(2);
  kb.send = ka.receive;
  kb.receive = ka.send;
  Session alice(ka, 1, 2, true, 0, SessionConfig{});
  Session bob(kb, 2, 1, false, 0, SessionConfig{});
  wire::PacketHeader h;
  h.hop_limit = 4;

  std::atomic<bool> sender_done{false};
  uint64_t received = 0, rejected = 0;
  const auto start = std::chrono::steady_clock::now();
  auto last = start;
  std::thread receiver([&] {
    pin_to_cpu(1);
    std::vector<uint8_t> buf(wire::kPacketBytesMax), plain(wire::kPacketBytesMax);
    while (true) {
      const ssize_t n = recv(rx, buf.data(), buf.size(), 0);
      if (n < 0) {
        if (sender_done.load()) break;
        continue;
      }
      if (encrypted) {
        const auto d = wire::decode_packet(std::span(buf.data(), static_cast<size_t>(n)));
        size_t got = 0;
        if (!d.ok() || bob.open(d, plain, got, 0) != wire::DropReason::none) {
          ++rejected;
          continue;
        }
      }
      ++received;
      last = std::chrono::steady_clock::now();
    }
  });
  std::vector<uint8_t> plaintext(payload_bytes, 7), out(payload_bytes + kSealOverheadBytes);
  pin_to_cpu(0);
  for (uint64_t i = 0; i < count; ++i) {
    size_t bytes = payload_bytes;
    const uint8_t* data = plaintext.data();
    if (encrypted) {
      auto r = alice.seal(h, plaintext, out, 0);
      bytes = *r;
      data = out.data();
    }
    while (send(tx, data, bytes, 0) < 0) {
    }
  }
  sender_done.store(true);
  receiver.join();
  close(rx);
  close(tx);
  if (rejected != 0) std::abort();
  const double seconds = std::chrono::duration<double>(last - start).count();
  return static_cast<double>(received) / seconds;
}

}  // namespace

int main(int argc, char** argv) {
  const uint64_t scale = argc > 1 ? std::max<uint64_t>(1, std::strtoull(argv[1], nullptr, 10)) : 1;
  ensure_sodium();

  wire::PacketHeader h;
  h.hop_limit = 4;
  h.source.bytes.fill(3);
  h.destination.bytes.fill(4);
  h.payload_length = 64;
  std::vector<uint8_t> packet(wire::kHeaderBytes + 64, 0);
  report("header encode+decode", ns_per_op(20'000'000 * scale, [&](uint64_t i) {
           h.counter = i;
           wire::encode_header(h, std::span<uint8_t, wire::kHeaderBytes>(packet.data(), wire::kHeaderBytes));
           const auto d = wire::decode_packet(packet);
           g_sink = g_sink + d.header.counter;
         }),
         10);

  ReplayWindow window;
  for (uint64_t c = 0; c < 10000; ++c) window.commit(c);
  report("replay window check", ns_per_op(50'000'000 * scale, [&](uint64_t i) {
           g_sink = g_sink + window.check(10000 - (i & 4095));
         }),
         5);
  ReplayWindow sliding;
  report("replay window check+commit (in order)", ns_per_op(50'000'000 * scale, [&](uint64_t i) {
           if (sliding.check(i)) sliding.commit(i);
         }));

  SessionKeys ka, kb;
  ka.send.fill(1);
  ka.receive.fill(2);
  kb.send = ka.receive;
  kb.receive = ka.send;
  for (size_t size : {size_t{64}, size_t{1024}}) {
    Session alice(ka, 1, 2, true, 0, SessionConfig{});
    Session bob(kb, 2, 1, false, 0, SessionConfig{});
    std::vector<uint8_t> plaintext(size, 7), out(size + kSealOverheadBytes), opened(size + kAeadTagBytes);
    const uint64_t n = 2'000'000 * scale / (size / 64);
    std::vector<std::vector<uint8_t>> sealed;
    char label[64];
    std::snprintf(label, sizeof(label), "session seal %zu B", size);
    report(label, ns_per_op(n, [&](uint64_t) {
             auto r = alice.seal(h, plaintext, out, 0);
             g_sink = g_sink + *r;
           }));
    // Open distinct packets (a replayed one would be rejected early).
    Session alice2(ka, 1, 2, true, 0, SessionConfig{});
    const uint64_t m = std::min<uint64_t>(n, 200000);
    sealed.reserve(m);
    for (uint64_t i = 0; i < m; ++i) {
      auto r = alice2.seal(h, plaintext, out, 0);
      sealed.emplace_back(out.begin(), out.begin() + static_cast<long>(*r));
    }
    std::snprintf(label, sizeof(label), "session open %zu B (decode+open)", size);
    uint64_t next = 0;
    const double open_ns = ns_per_op(m - m / 10 - 1, [&](uint64_t) {
      const auto d = wire::decode_packet(sealed[next++]);
      size_t got = 0;
      if (bob.open(d, opened, got, 0) != wire::DropReason::none) std::abort();
      g_sink = g_sink + got;
    });
    report(label, open_ns);
  }

  bench_handshake("handshake IKpsk2 CPU", "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b", static_cast<int>(2000 * scale));
  bench_handshake("handshake XXpsk3 CPU", "Noise_XXpsk3_25519_ChaChaPoly_BLAKE2b", static_cast<int>(2000 * scale));
  // Raw and encrypted alternate over several rounds so both see the same
  // machine; the figures are the medians (and the median per-round ratio).
  constexpr int kRounds = 5;
  const uint64_t datagrams = 150'000 * scale;
  std::vector<double> raws, sealeds, ratios;
  for (int r = 0; r < kRounds; ++r) {
    raws.push_back(loopback_rate(1024, datagrams, false));
    sealeds.push_back(loopback_rate(1024, datagrams, true));
    ratios.push_back(sealeds.back() / raws.back());
  }
  const auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  const double ratio = median(ratios);
  std::printf("%-40s %12.0f datagrams/s  (median of %d rounds)\n", "loopback UDP raw 1 KiB", median(raws), kRounds);
  std::printf("%-40s %12.0f datagrams/s  (median of %d rounds)\n", "loopback UDP encrypted 1 KiB", median(sealeds),
              kRounds);
  std::printf("%-40s %12.0f %%  (rounds %.0f..%.0f %%; goal >= 70 %%: %s)\n", "encrypted / raw, median per round",
              100.0 * ratio, 100.0 * *std::min_element(ratios.begin(), ratios.end()),
              100.0 * *std::max_element(ratios.begin(), ratios.end()), ratio >= 0.7 ? "met" : "MISSED");
  return g_sink == 42 ? 1 : 0;
}
