#include "sim/storage/storage_oracle.h"

#include <fmt/format.h>

#include "sim/scenario/oracle.h"
#include "sim/world.h"

namespace meshd::sim {

std::vector<uint8_t> storage_payload(uint64_t seed, size_t size) {
  std::vector<uint8_t> out(size);
  uint64_t x = seed;
  for (size_t i = 0; i < size; ++i) {
    if (i % 8 == 0) {  // splitmix64
      x += 0x9e3779b97f4a7c15ull;
      uint64_t z = x;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
      seed = z ^ (z >> 31);
    }
    out[i] = static_cast<uint8_t>(seed >> (8 * (i % 8)));
  }
  return out;
}

StorageOracle::StorageOracle(World& world, size_t nodes, const StorageSpec& spec)
    : world_(world), spec_(spec), nodes_(nodes), lost_fsync_seen_(nodes, 0) {}

void StorageOracle::violation(size_t node, std::string text) {
  ++violation_count_;
  std::string v = fmt::format("t={:.6f}s node {}: storage: {}", world_.now_us() / 1e6, node, text);
  world_.record(TraceKind::check, static_cast<uint32_t>(node), v);
  if (violations_.size() < kViolationsMax) violations_.push_back(std::move(v));
}

uint64_t StorageOracle::disk_counter(size_t node, const char* name) const {
  const auto& c = world_.disk(node).counters();
  auto it = c.find(name);
  return it == c.end() ? 0 : it->second;
}

bool StorageOracle::disk_corrupted(size_t node) const {
  return disk_counter(node, "misdirected_writes") + disk_counter(node, "fsync_errors_lost") > 0;
}

void StorageOracle::on_appended(size_t node, uint64_t seq, uint64_t payload_seed, size_t size) {
  NodeModel& m = nodes_[node];
  m.appended[seq] = Entry{payload_seed, static_cast<uint32_t>(size)};
  for (auto u = m.uncertain.begin(); u != m.uncertain.end(); ++u) {
    if (u->seed == payload_seed && u->size == size) {
      m.uncertain.erase(u);
      break;
    }
  }
  ++counters_["appends"];
}

void StorageOracle::on_append_uncertain(size_t node, uint64_t payload_seed, size_t size) {
  auto& u = nodes_[node].uncertain;
  if (u.size() < kUncertainMax) u.push_back(Entry{payload_seed, static_cast<uint32_t>(size)});

}

void StorageOracle::on_durable(size_t node, uint64_t durable_end) {
  NodeModel& m = nodes_[node];
  if (durable_end > m.durable_end) {
    counters_["durable_acks"] += durable_end - m.durable_end;
    m.durable_end = durable_end;
  }
}

void StorageOracle::on_truncated(size_t node, uint64_t keep_from) {
  NodeModel& m = nodes_[node];
  m.keep_from_max = std::max(m.keep_from_max, keep_from);
  ++counters_["truncations"];
}

void StorageOracle::on_open_failed(size_t node, const Status& status) {
  ++counters_["open_failed"];
  const DiskFaults& f = spec_.disk;
  if (f.write_eio == 0 && f.fsync_eio == 0) violation(node, "open failed on an honest disk: " + status.to_string());
}

void StorageOracle::check_open(size_t node, storage::AppendLog& log) {
  NodeModel& m = nodes_[node];
  ++counters_["opens"];
  const storage::RecoveryReport& rec = log.recovery();
  counters_["torn_tails"] += rec.torn_tails;
  counters_["torn_tail_bytes"] += rec.torn_tail_bytes;
  counters_["rereads"] += rec.rereads;
  const uint64_t first = log.first_seq();
  const uint64_t next = log.next_seq();
  if (first > m.keep_from_max) {
    violation(node, fmt::format("first seq {} is past the highest truncation point {}", first, m.keep_from_max));
  }
  // Read everything back.
  uint64_t expect = first;
  bool mismatch_reported = false;
  Status s = log.scan(first, next, [&](uint64_t seq, std::span<const uint8_t> payload) {
    if (seq != expect) {
      violation(node, fmt::format("scan returned seq {} where {} was due (not dense/ordered)", seq, expect));
      mismatch_reported = true;
      return false;
    }
    ++expect;
    auto it = m.appended.find(seq);
    if (it == m.appended.end()) {
      // A failed append whose bytes made it to disk: legitimate, once.
      for (auto u = m.uncertain.begin(); u != m.uncertain.end(); ++u) {
        if (u->size == payload.size() &&
            storage_payload(u->seed, u->size) == std::vector<uint8_t>(payload.begin(), payload.end())) {
          m.appended[seq] = *u;
          m.uncertain.erase(u);
          ++counters_["uncertain_appends_found"];
          ++counters_["records_verified"];
          return true;
        }
      }
      violation(node, fmt::format("seq {} returned but never appended", seq));
      mismatch_reported = true;
      return false;
    }
    if (payload.size() != it->second.size || storage_payload(it->second.seed, it->second.size) !=
                                                 std::vector<uint8_t>(payload.begin(), payload.end())) {
      violation(node, fmt::format("seq {} returned with bytes that were never appended ({} bytes, appended {})",
                                  seq, payload.size(), it->second.size));
      mismatch_reported = true;
      return false;
    }
    ++counters_["records_verified"];
    return true;
  });
  if (mismatch_reported) return;
  uint64_t served_end = next;  // every seq < this was served intact
  if (!s) {
    if (s.code() != Errc::corrupt || !log.corruption()) {
      violation(node, "reading the log failed: " + s.to_string());
      return;
    }
    served_end = expect;
    ++counters_["corruptions_reported"];
    if (!disk_corrupted(node)) {
      violation(node, "corruption reported but the disk never corrupted data (false alarm): " + s.to_string());
    }
    if (log.corruption()->seq != expect) {
      violation(node, fmt::format("corruption reported at seq {} but records were served up to {}",
                                  log.corruption()->seq, expect));
    }
  } else if (log.corruption()) {
    served_end = std::min(next, log.corruption()->seq);
    ++counters_["corruptions_reported"];
    if (!disk_corrupted(node)) {
      violation(node, "corruption reported but the disk never corrupted data (false alarm): " + log.corruption()->what);
    }
  }
  if (m.durable_end > served_end && !log.corruption()) {
    const uint64_t lost_fsyncs = disk_counter(node, "fsync_errors_lost");
    if (lost_fsyncs > lost_fsync_seen_[node]) {
      counters_["durable_lost_to_lost_fsync_errors"] += m.durable_end - served_end;
    } else {
      violation(node, fmt::format("durable seqs [{}, {}) missing after restart (log holds [{}, {}))", served_end,
                                  m.durable_end, first, next));
    }
  }
  lost_fsync_seen_[node] = disk_counter(node, "fsync_errors_lost");
  // The new life: never-durable appends past the end are gone and their
  // seqs will be reused; what the log holds now is durable (open fsyncs).
  if (log.corruption()) return;  // nothing was cut: the records past it are still on disk, unserved
  m.appended.erase(m.appended.lower_bound(next), m.appended.end());
  m.uncertain.clear();  // a failed append not in the log now never will be
  m.durable_end = log.durable_end();
}

}  // namespace meshd::sim
