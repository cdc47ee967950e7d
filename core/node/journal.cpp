#include "core/node/journal.h"

#include <array>

#include "core/env/assert.h"

namespace meshd {

namespace {
// Events that change what the node believes or is (see journal.h).
constexpr std::array<std::string_view, 9> kJournaledPrefixes = {
    "member_", "peer_", "node_", "membership_", "incarnation_", "key_", "identity_", "security", "journal_"};
}  // namespace

bool journaled_event(LogLevel level, std::string_view event) {
  if (level >= LogLevel::warn) return true;
  if (level < LogLevel::info) return false;
  for (std::string_view p : kJournaledPrefixes) {
    if (event.substr(0, p.size()) == p) return true;
  }
  return false;
}

NodeJournal::NodeJournal(Runtime& runtime, const Clock& clock, Log& inner, JournalOptions options,
                         std::unique_ptr<storage::AppendLog> log)
    : runtime_(runtime), clock_(clock), inner_(inner), opt_(options), log_(std::move(log)) {}

NodeJournal::~NodeJournal() {
  // The writer only touches `this` after a successful park (see writer_loop).
  if (writer_ && runtime_.alive(*writer_)) runtime_.cancel(*writer_);
}

Result<std::unique_ptr<NodeJournal>> NodeJournal::open(Disk& disk, Runtime& runtime, const Clock& clock, Log& inner,
                                                       JournalOptions options) {
  storage::LogOptions lo;
  lo.prefix = std::string(kJournalPrefix);
  lo.segment_bytes = options.segment_bytes;
  // The writer fiber syncs after each drained batch: the batch is the group.
  lo.sync = options.sync == storage::SyncPolicy::every ? storage::SyncPolicy::every : storage::SyncPolicy::none;
  lo.now_ms = clock.wall_us() / kMicrosPerMilli;
  auto log = storage::AppendLog::open(disk, &runtime, &inner, lo);
  if (!log) {
    inner.error("journal_open_failed", {{"error", log.status().to_string()}});
    return log.status();
  }
  if (const auto& c = (*log)->corruption()) {
    inner.error("journal_corrupt",
                {{"segment", c->segment}, {"offset", c->offset}, {"seq", c->seq}, {"what", c->what},
                 {"remedy", "the node will not start past a corrupt journal: stop it; meshlog verify DATA_DIR lists "
                            "every problem; meshlog repair DATA_DIR --truncate-after-corruption keeps the records "
                            "before the first one; check the disk"}});
    return Status(Errc::corrupt, "journal corrupt at " + c->segment + " offset " + std::to_string(c->offset) +
                                     " (seq " + std::to_string(c->seq) + "): " + c->what);
  }
  std::unique_ptr<NodeJournal> j(new NodeJournal(runtime, clock, inner, options, std::move(*log)));
  const storage::AppendLog& l = *j->log_;
  j->counters_.recovered_records = l.next_seq() - l.first_seq();
  MESHD_ASSERT(l.health() == storage::LogHealth::ok && l.durable_end() == l.next_seq());
  const auto& r = l.recovery();
  inner.info("journal_opened", {{"records", j->counters_.recovered_records},
                                {"first_seq", l.first_seq()},
                                {"next_seq", l.next_seq()},
                                {"segments", l.segment_count()},
                                {"torn_tails", r.torn_tails},
                                {"torn_tail_bytes", r.torn_tail_bytes},
                                {"sync", std::string(storage::sync_policy_name(options.sync))}});
  return j;
}

bool NodeJournal::enabled(LogLevel level) const {
  return (!closed_ && level >= LogLevel::info) || inner_.enabled(level);
}

void NodeJournal::write(LogLevel level, std::string_view event, const nlohmann::json& fields) {
  if (inner_.enabled(level)) inner_.write(level, event, fields);
  if (!journaled_event(level, event)) return;
  if (closed_ || log_->health() != storage::LogHealth::ok) {
    ++counters_.dropped_failed;
    return;
  }
  if (queue_.size() >= kJournalQueueMax) {
    ++counters_.dropped_queue_full;  // never block a logging caller
    return;
  }
  queue_.push_back(encode(level, event, fields));
  MESHD_ASSERT(queue_.size() <= kJournalQueueMax);
  runtime_.wake_one(queue_waiters_);
}

std::vector<uint8_t> NodeJournal::encode(LogLevel level, std::string_view event, const nlohmann::json& fields) {
  nlohmann::json rec = {{"t_us", clock_.wall_us()}, {"level", std::string(log_level_name(level))}, {"event", std::string(event)},
                        {"fields", fields}};
  std::string text = rec.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text.size() > kJournalRecordBytesMax) {
    ++counters_.truncated_fields;
    rec["fields"] = {{"truncated_bytes", text.size()}};
    text = rec.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  MESHD_ASSERT(text.size() <= kJournalRecordBytesMax || event.size() > kJournalRecordBytesMax / 2);
  return {text.begin(), text.end()};
}

void NodeJournal::note_failure(const Status& s) {
  if (failed_logged_) return;
  failed_logged_ = true;
  inner_.error("journal_failed", {{"error", s.to_string()},
                                  {"durable_end", log_->durable_end()},
                                  {"remedy", "journaling stopped; fix the device and restart the node"}});
}

Status NodeJournal::drain() {
  if (draining_) return Status::ok();  // the writer is at it (parked in the disk)
  draining_ = true;
  Status result;
  while (!queue_.empty() && result.is_ok()) {
    std::vector<uint8_t> rec = std::move(queue_.front());
    queue_.pop_front();
    auto seq = log_->append(rec);
    if (!seq) {
      result = seq.status();
      break;
    }
    ++counters_.journaled;
  }
  if (result.is_ok() && opt_.sync == storage::SyncPolicy::group) result = log_->sync();
  draining_ = false;
  if (!result.is_ok()) {
    counters_.dropped_failed += queue_.size();
    queue_.clear();
    note_failure(result);
  }
  return result;
}

Status NodeJournal::start() {
  MESHD_ASSERT(!writer_);
  auto id = runtime_.spawn("journal", [this] { writer_loop(); });
  if (!id) return id.status();
  writer_ = *id;
  return Status::ok();
}

void NodeJournal::writer_loop() {
  for (;;) {
    while (queue_.empty() && !closed_) {
      // On cancel (node destroyed) return without touching `this` again.
      if (Status s = runtime_.park(queue_waiters_, kNoDeadline); !s) return;
    }
    if (!drain() || closed_) return;
  }
}

void NodeJournal::close() {
  if (closed_) return;
  if (!draining_) {
    // Idle writer: flush now, and sync whatever the policy (a graceful stop
    // leaves a durable journal). Failures are logged by note_failure.
    if (drain() && log_->health() == storage::LogHealth::ok) {
      if (Status s = log_->sync(); !s) note_failure(s);
    }
  }
  closed_ = true;
  runtime_.wake_all(queue_waiters_);
}

nlohmann::json NodeJournal::status() const {
  const storage::AppendLog& l = *log_;
  return {{"records", l.next_seq() - l.first_seq()},
          {"recovered_records", counters_.recovered_records},
          {"journaled", counters_.journaled},
          {"durable_end", l.durable_end()},
          {"queued", queue_.size()},
          {"dropped_queue_full", counters_.dropped_queue_full},
          {"dropped_failed", counters_.dropped_failed},
          {"torn_tails", l.recovery().torn_tails},
          {"health", l.health() == storage::LogHealth::ok        ? "ok"
                     : l.health() == storage::LogHealth::corrupt ? "corrupt"
                                                                 : "failed"}};
}

}  // namespace meshd
