// Fuzz target: the Raft codec, the KV client codec, the Raft storage
// record decoder and a RaftNode fed the bytes.
// Invariants: decoding never crashes or reads out of bounds (ASan); an
// accepted message re-encodes to exactly the input (one encoding per
// message); a RaftNode given the bytes from a voter never trips an
// assertion, and a malformed datagram is dropped as `malformed`.
#include <algorithm>
#include <cstdint>
#include <cstdlib>

#include "core/consensus/kv_wire.h"
#include "core/consensus/raft.h"
#include "core/consensus/raft_storage.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace meshd;
  using namespace meshd::consensus;
  const std::span<const uint8_t> input(data, size);
  const auto m = decode(input);
  if (m) {
    const auto again = encode(*m);
    if (again.size() != size || !std::equal(again.begin(), again.end(), data)) std::abort();
  }
  if (const auto kv = decode_kv(input)) {
    const auto again = std::holds_alternative<KvCommand>(*kv) ? encode_request(std::get<KvCommand>(*kv))
                                                              : encode_response(std::get<KvResponse>(*kv));
    if (again.size() != size || !std::equal(again.begin(), again.end(), data)) std::abort();
  }
  if (const auto r = decode_record(input)) {
    const auto again = encode_record(*r);
    if (again.size() != size || !std::equal(again.begin(), again.end(), data)) std::abort();
  }
  RaftConfig c;
  c.voters = {Address{0x0a000001, 7000}, Address{0x0a000002, 7000}, Address{0x0a000003, 7000}};
  RaftLog log;
  log.append(Entry{1, 1, {}});
  log.append(Entry{2, 2, {1, 2}});
  RaftNode node(c, HardState{2, 1}, std::move(log), Random::from_seed(1).stream("raft", "fuzz"), 0);
  RaftOutput out;
  const RaftDrop d = node.on_datagram(1000, c.voters[1], input, out);
  if (!m && d != RaftDrop::malformed) std::abort();
  return 0;
}
