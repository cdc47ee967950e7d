// Fuzz target: HandshakeManager::on_handshake_packet and open() on hostile
// datagrams (the whole responder/initiator receive path after the header
// decoder). The manager has one peer with a handshake in flight so
// responses and cookie replies reach the Noise readers too. Byte 0 picks
// whether the manager is under load (cookie path). Invariants: no crash,
// no assertion, and our own in-flight handshake (random ephemeral) never
// completes from fuzzed bytes. (Responder-side establishment is legitimate:
// the corpus holds genuine initiations from the peer.) Twin notices reach
// the mac, binding and signature checks (corpus: a genuine notice bound to
// the fixture's initiation, and a tampered one); an accepted one must name
// the peer the initiation went to.
#include <cstdint>
#include <vector>

#include "core/crypto/handshake_manager.h"

namespace {
using namespace meshd;
using namespace meshd::crypto;

Key32 key_of(uint8_t v) {
  Key32 k{};
  k.fill(v);
  return k;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static RandomStream id_rng(key_of(1));
  static const Identity self = Identity::generate(id_rng);
  static const Identity peer = Identity::generate(id_rng);
  static const KeyArchive archive;
  Psk psk{};
  psk.fill(0x55);
  RandomStream rng(key_of(2));
  HandshakeManagerConfig config;
  if (data[0] & 1) {
    config.handshake_rate_per_s = 1;
    config.handshake_burst = 1;
  }
  HandshakeManager manager(self, archive, psk, rng, config);
  const Address peer_address{0x0a000002, 5000};
  if (!manager.add_peer(peer.node_id(), peer_address, (data[0] & 2) ? std::nullopt : std::optional(peer.public_key()))) {
    __builtin_trap();
  }
  const int64_t now_us = 1'000'000;
  if (!manager.connect(peer.node_id(), now_us, now_us)) __builtin_trap();
  if (data[0] & 1) (void)manager.tick(now_us, now_us);
  const auto decoded = wire::decode_packet(std::span(data + 1, size - 1));
  if (!decoded.ok()) return 0;
  if (decoded.header.type == wire::PacketType::transport) {
    std::vector<uint8_t> out(decoded.payload.size());
    size_t n = 0;
    NodeId from;
    if (manager.open(decoded, out, n, from, now_us) == wire::DropReason::none) __builtin_trap();
    return 0;
  }
  const auto result = manager.on_handshake_packet(peer_address, decoded, now_us, now_us);
  for (const auto& e : result.events) {
    if (e.kind == HandshakeEventKind::established && e.initiator) __builtin_trap();
    if (e.kind == HandshakeEventKind::twin_refused && e.twin.responder != peer.node_id()) __builtin_trap();
  }
  return 0;
}
