#include "sim/storage/storage_service.h"

#include <fmt/format.h>

namespace meshd::sim {

StorageService::StorageService(Env& env, size_t node, const StorageSpec& spec, StorageOracle& oracle,
                               bool planted_ack_before_fsync)
    : env_(env), node_(node), spec_(spec), oracle_(oracle), planted_(planted_ack_before_fsync),
      rng_(env.random.stream("storage", "workload")) {}

StorageService::~StorageService() = default;

void StorageService::start() {
  auto fiber = env_.runtime.spawn("storage-open", [this] { open_and_check(); });
  MESHD_ASSERT(fiber.is_ok());
}

void StorageService::open_and_check() {
  storage::LogOptions o;
  o.segment_bytes = static_cast<uint64_t>(spec_.segment_bytes);
  o.sync = spec_.sync;
  o.group_max_delay_us = spec_.group_max_delay_us;
  o.index_stride_records = 16;
  o.now_ms = env_.clock.wall_us() / 1000;
  o.planted_bug_ack_before_fsync = planted_;
  auto log = storage::AppendLog::open(env_.disk, &env_.runtime, &env_.log, o);
  if (!log) {
    oracle_.on_open_failed(node_, log.status());
    return;
  }
  log_ = std::move(*log);
  oracle_.check_open(node_, *log_);
  if (!healthy()) return;
  for (size_t i = 0; i < static_cast<size_t>(spec_.appenders); ++i) {
    auto fiber = env_.runtime.spawn(fmt::format("storage-append-{}", i), [this, i] { append_loop(i); });
    MESHD_ASSERT(fiber.is_ok());
  }
}

void StorageService::append_loop(size_t fiber) {
  uint64_t since_sync = 0;
  while (healthy()) {
    const int64_t gap_us = rng_.range(1, 2 * spec_.append_interval_us);
    if (!env_.runtime.sleep_for(gap_us)) return;
    if (!healthy()) return;
    const uint64_t seed = rng_.next_u64();
    const size_t size = static_cast<size_t>(rng_.below(static_cast<uint64_t>(spec_.record_bytes_max) + 1));
    oracle_.on_append_uncertain(node_, seed, size);  // in doubt until append() returns its seq
    auto seq = log_->append(storage_payload(seed, size));
    if (!seq) return;  // failed or corrupt: the oracle checks after the next restart
    oracle_.on_appended(node_, *seq, seed, size);
    if (spec_.sync == storage::SyncPolicy::none && ++since_sync < static_cast<uint64_t>(spec_.sync_every)) continue;
    since_sync = 0;
    if (!log_->wait_durable(*seq)) return;
    oracle_.on_durable(node_, log_->durable_end());
    if (spec_.truncate_every > 0 && fiber == 0 &&
        ++appends_since_truncate_ >= static_cast<uint64_t>(spec_.truncate_every)) {
      appends_since_truncate_ = 0;
      // Keep the last half of what is durable (as if a snapshot covered the rest).
      const uint64_t keep_from = log_->first_seq() + (log_->durable_end() - log_->first_seq()) / 2;
      oracle_.on_truncated(node_, keep_from);
      if (!log_->truncate_prefix(keep_from)) return;
    }
  }
}

nlohmann::json StorageService::snapshot() const {
  if (!log_) return nlohmann::json{{"open", false}};
  const auto& c = log_->counters();
  return nlohmann::json{{"open", true},
                        {"first_seq", log_->first_seq()},
                        {"next_seq", log_->next_seq()},
                        {"durable_end", log_->durable_end()},
                        {"segments", log_->segment_count()},
                        {"health", log_->health() == storage::LogHealth::ok        ? "ok"
                                   : log_->health() == storage::LogHealth::corrupt ? "corrupt"
                                                                                    : "failed"},
                        {"appends", c.appends},
                        {"fsyncs", c.fsyncs},
                        {"group_batches", c.group_batches},
                        {"rotations", c.rotations}};
}

}  // namespace meshd::sim
