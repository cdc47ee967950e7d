#include "core/consensus/raft_host.h"

#include <fmt/format.h>

#include "core/env/assert.h"

namespace meshd::consensus {

RaftHost::RaftHost(Env& env, RaftHostOptions options)
    : env_(env),
      opt_(std::move(options)),
      wake_(env.runtime),
      received_(env.metrics.counter("meshd_raft_received_total", "Raft datagrams accepted")),
      inbox_dropped_(env.metrics.counter("meshd_raft_inbox_dropped_total", "Raft inputs dropped: inbox full")),
      sent_(env.metrics.counter("meshd_raft_sent_total", "Raft datagrams sent")),
      send_failed_(env.metrics.counter("meshd_raft_send_failed_total", "Raft datagrams the network refused")),
      fsyncs_(env.metrics.counter("meshd_raft_persists_total", "Raft batches made durable")) {
  for (size_t r = 1; r < kRaftDropReasons; ++r) {
    dropped_[r] = &env.metrics.counter(
        fmt::format("meshd_raft_dropped_total{{reason=\"{}\"}}", drop_reason_name(static_cast<RaftDrop>(r))),
        "Raft datagrams dropped, by reason");
  }
}

RaftHost::~RaftHost() { stop(); }

Status RaftHost::start() {
  MESHD_ASSERT(!machine_ && !stopped_);
  if (std::string_view e = raft_config_error(opt_.raft); !e.empty()) return Status(Errc::invalid, std::string(e));
  auto opened = RaftStorage::open(env_.disk, &env_.runtime, &env_.log, opt_.log_prefix);
  if (!opened) {
    env_.log.error("raft_storage_unusable", {{"error", opened.status().to_string()}});
    stopped_ = true;
    return opened.status();
  }
  storage_ = std::move(*opened);
  const HardState hs = storage_->hard_state();
  machine_ = std::make_unique<RaftNode>(opt_.raft, hs, storage_->take_log(),
                                        env_.random.stream("raft", "election"), env_.clock.monotonic_us());
  env_.log.info("raft_recovered", {{"term", hs.term}, {"vote", hs.vote}, {"last_index", machine_->log().last_index()}});
  auto id = env_.runtime.spawn("raft", [this] { run(); });
  if (!id) return id.status();
  fiber_ = *id;
  return Status::ok();
}

void RaftHost::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (fiber_ && env_.runtime.alive(*fiber_) &&
      (!env_.runtime.in_fiber() || env_.runtime.current_fiber() != *fiber_)) {
    env_.runtime.cancel(*fiber_);
  }
  wake_.set();
}

void RaftHost::on_datagram(const Address& from, std::span<const uint8_t> bytes) {
  if (!running()) return;
  if (inbox_.size() >= kInboxMax) {
    ++inbox_dropped_;
    return;
  }
  inbox_.push_back(Input{from, {bytes.begin(), bytes.end()}, false});
  MESHD_ASSERT(inbox_.size() <= kInboxMax);
  wake_.set();
}

void RaftHost::submit(std::vector<uint8_t> command) {
  if (!running()) return;
  if (inbox_.size() >= kInboxMax) {
    ++inbox_dropped_;
    return;
  }
  inbox_.push_back(Input{Address{}, std::move(command), true});
  MESHD_ASSERT(inbox_.size() <= kInboxMax);
  wake_.set();
}

void RaftHost::run() {
  while (!stopped_) {
    if (inbox_.empty()) {
      const Status s = wake_.wait(machine_->next_deadline_us());
      if (s.code() == Errc::cancelled || stopped_) return;
    }
    wake_.reset();
    RaftOutput out;
    while (!inbox_.empty()) {
      Input in = std::move(inbox_.front());
      inbox_.pop_front();
      const int64_t now_us = env_.clock.monotonic_us();
      if (in.proposal) {
        (void)machine_->propose(now_us, std::move(in.bytes), out);
        continue;
      }
      const RaftDrop d = machine_->on_datagram(now_us, in.from, in.bytes, out);
      if (d == RaftDrop::none) {
        ++received_;
      } else {
        ++*dropped_[static_cast<size_t>(d)];
      }
    }
    const int64_t now_us = env_.clock.monotonic_us();
    if (now_us >= machine_->next_deadline_us()) machine_->on_tick(now_us, out);
    if (!flush(out)) return;
  }
}

bool RaftHost::flush(RaftOutput& out) {
  if (!out.persist.empty()) {
    const Status s = storage_->persist(out.persist);  // parks this fiber for the fsync
    if (!s) {
      env_.log.error("raft_persist_failed", {{"error", s.to_string()}});
      stopped_ = true;
      return false;
    }
    ++fsyncs_;
    if (stopped_) return false;  // stopped while the fsync ran
    if (out.persist.hard_state && opt_.after_persist && !opt_.after_persist(*out.persist.hard_state)) {
      stopped_ = true;
      return false;
    }
  }
  for (const Datagram& d : out.send) {
    if (env_.network.send(d.to, d.bytes)) {
      ++sent_;
    } else {
      ++send_failed_;
    }
  }
  if (opt_.on_output) opt_.on_output(out);
  if (opt_.apply) {
    for (const Entry& e : out.committed) opt_.apply(e);
  }
  return !stopped_;
}

}  // namespace meshd::consensus
