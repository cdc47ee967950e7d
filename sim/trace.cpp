#include "sim/trace.h"

#include <cstring>

namespace meshd::sim {

std::string_view trace_kind_name(TraceKind kind) {
  switch (kind) {
    case TraceKind::send: return "send";
    case TraceKind::deliver: return "deliver";
    case TraceKind::drop: return "drop";
    case TraceKind::corrupt: return "corrupt";
    case TraceKind::duplicate: return "duplicate";
    case TraceKind::timer: return "timer";
    case TraceKind::node_start: return "node_start";
    case TraceKind::node_crash: return "node_crash";
    case TraceKind::node_restart: return "node_restart";
    case TraceKind::node_pause: return "node_pause";
    case TraceKind::node_resume: return "node_resume";
    case TraceKind::fault: return "fault";
    case TraceKind::log: return "log";
    case TraceKind::check: return "check";
  }
  return "unknown";
}

uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t digest_bytes(std::span<const uint8_t> bytes) {
  constexpr uint64_t kMul = 0x9fb21c651e98df25ULL;
  uint64_t h = 0xcbf29ce484222325ULL ^ (bytes.size() * kMul);
  size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    uint64_t w = 0;
    std::memcpy(&w, bytes.data() + i, 8);  // host order: x86-64/arm64 little endian
    h = (h ^ w) * kMul;
    h ^= h >> 29;
  }
  uint64_t tail = 0;
  for (size_t k = 0; i < bytes.size(); ++i, ++k) tail |= uint64_t{bytes[i]} << (8 * k);
  return mix64(h ^ tail);
}

uint64_t digest_text(std::string_view text) {
  return digest_bytes(std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

void Trace::record(int64_t t_us, uint32_t node, TraceKind kind, uint64_t digest,
                   std::string_view detail, uint64_t msg, uint32_t peer) {
  hash_ = mix64(hash_ ^ static_cast<uint64_t>(t_us));
  hash_ = mix64(hash_ ^ ((uint64_t{node} << 8) | static_cast<uint8_t>(kind)));
  hash_ = mix64(hash_ ^ digest);
  ++events_;
  if (!recording_ && !sink_) return;
  TraceEvent ev{t_us, node, kind, digest, std::string(detail), msg, peer};
  if (sink_) sink_(ev);
  if (recording_) recorded_.push_back(std::move(ev));
}

std::optional<size_t> first_divergence(const std::vector<TraceEvent>& a,
                                       const std::vector<TraceEvent>& b) {
  const size_t n = a.size() < b.size() ? a.size() : b.size();
  for (size_t i = 0; i < n; ++i) {
    const TraceEvent& x = a[i];
    const TraceEvent& y = b[i];
    if (x.t_us != y.t_us || x.node != y.node || x.kind != y.kind || x.digest != y.digest) return i;
  }
  if (a.size() != b.size()) return n;
  return std::nullopt;
}

}  // namespace meshd::sim
