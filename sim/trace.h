// Trace: the simulator's rolling determinism hash and optional event log.
//
// Every observable step of a run (send, deliver, drop, timer wake, fault,
// crash, restart, log line, check) is folded into one 64-bit rolling hash:
//
//   h = mix(mix(mix(h ^ t_us) ^ (node << 8 | kind)) ^ digest)
//
// where mix is the splitmix64 finaliser. Two runs are identical iff their
// hashes match (up to 2^-64). `detail` is human text only and is NOT part
// of the hash, so wording changes never change a seed's hash.
// Recording (keeping every TraceEvent in memory) is off by default; with it
// on, first_divergence() names the first differing event of two runs.
// wants_detail() tells call sites whether building a detail string is worth
// it (recording or a sink is active). Not thread-safe.
//
// Message linkage (for trace viewers, NOT hashed either): datagram events
// carry `msg`, a per-World datagram id (1, 2, ... in transmit order; 0 = not
// a datagram event) and `peer`, the other end (send/drop at send: the
// destination; deliver/drop on arrival: the source). A `send` starts message
// `msg`; each network copy is its own message: the first copy keeps the
// send's id, a `duplicate` event starts a new id for the extra copy. Every
// message ends in exactly one `deliver` or `drop` with its id (or is still
// in flight / held when the run stops; a datagram to an unknown address has
// only its `drop`); `corrupt` marks a copy whose bits were flipped and
// carries that copy's id. Outside recording the ids cost one increment.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace meshd::sim {

enum class TraceKind : uint8_t {
  send, deliver, drop, corrupt, duplicate, timer, node_start, node_crash, node_restart,
  node_pause, node_resume, fault, log, check
};
std::string_view trace_kind_name(TraceKind kind);

struct TraceEvent {
  int64_t t_us = 0;
  uint32_t node = 0;
  TraceKind kind = TraceKind::log;
  uint64_t digest = 0;
  std::string detail;
  uint64_t msg = 0;           // datagram id (see above); 0: none. Not hashed.
  uint32_t peer = UINT32_MAX;  // the datagram's other end; UINT32_MAX: none. Not hashed.
};

// Node index used for events that belong to no node (world faults, checks).
constexpr uint32_t kWorldNode = UINT32_MAX;

class Trace {
 public:
  using Sink = std::function<void(const TraceEvent&)>;

  // msg/peer are kept with the recorded event only (never hashed).
  void record(int64_t t_us, uint32_t node, TraceKind kind, uint64_t digest,
              std::string_view detail = {}, uint64_t msg = 0, uint32_t peer = UINT32_MAX);
  uint64_t hash() const { return hash_; }
  uint64_t events() const { return events_; }
  void set_recording(bool on) { recording_ = on; }
  bool recording() const { return recording_; }
  const std::vector<TraceEvent>& recorded() const { return recorded_; }
  void clear_recorded() { recorded_.clear(); }
  void set_sink(Sink sink) { sink_ = std::move(sink); }
  bool wants_detail() const { return recording_ || static_cast<bool>(sink_); }

 private:
  static constexpr uint64_t kHashInit = 0x6a09e667f3bcc909ULL;
  uint64_t hash_ = kHashInit;
  uint64_t events_ = 0;
  bool recording_ = false;
  std::vector<TraceEvent> recorded_;
  Sink sink_;
};

// Index of the first event where a and b differ in (t_us, node, kind,
// digest), or where one ends; nullopt if identical.
std::optional<size_t> first_divergence(const std::vector<TraceEvent>& a,
                                       const std::vector<TraceEvent>& b);

// splitmix64 finaliser: a bijective 64-bit mixer.
uint64_t mix64(uint64_t x);
// Fast non-cryptographic 64-bit digest of bytes (8 bytes per step).
uint64_t digest_bytes(std::span<const uint8_t> bytes);
uint64_t digest_text(std::string_view text);

}  // namespace meshd::sim
