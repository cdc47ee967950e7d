#include "core/transport/secure_transport.h"

namespace meshd::transport {

SecureTransport::SecureTransport(Env& env, const crypto::Identity& identity, const crypto::KeyArchive& archive,
                                 const crypto::Psk& psk, const SecureTransportConfig& config,
                                 const std::vector<TransportPeer>& peers)
    : env_(env),
      machine_(identity, archive, psk, env.random.stream("transport", "handshake"), config, peers,
               [&clock = env.clock] { return clock.wall_us(); }, env.buggify),
      driver_(env, machine_,
              ProtocolDriverOptions{.fiber_name = "transport",
                                    .metric_prefix = metric::kPacketsPrefix,
                                    .noun = "transport",
                                    .late_wake = std::nullopt,
                                    .late_wake_max_us = 0},
              [this](TransportOutput& out) { on_output(out); }) {
  for (size_t c = 0; c < kTransportCounts; ++c) counts_[c] = &env.metrics.counter(metric::kTransportCounts[c]);
  for (const TransportLogLine& line : machine_.take_startup_logs()) env_.log.warn(line.event, line.fields);
}

SecureTransport::~SecureTransport() { driver_.stop(); }

Status SecureTransport::send(const Address& to, std::span<const uint8_t> bytes) {
  if (driver_.stopping()) return Status(Errc::closed, "transport stopped");
  return driver_.input([&](int64_t now_us, TransportOutput& out) { return machine_.send(now_us, to, bytes, out); });
}

void SecureTransport::on_output(TransportOutput& out) {
  // The driver has sent out.send already; the rest, in order.
  publish();
  for (const TransportLogLine& line : out.logs) {
    switch (line.level) {
      case LogLevel::debug: env_.log.debug(line.event, line.fields); break;
      case LogLevel::info: env_.log.info(line.event, line.fields); break;
      case LogLevel::warn: env_.log.warn(line.event, line.fields); break;
      case LogLevel::error: env_.log.error(line.event, line.fields); break;
    }
  }
  for (const crypto::TwinNotice& notice : out.twins) {
    if (twin_handler_) twin_handler_(notice);
  }
  for (const HandshakeRefusal& r : out.refusals) {
    if (refusal_observer_) refusal_observer_(r.from, r.reason);
  }
  for (const Delivery& d : out.deliver) {
    if (handler_) handler_(d.address, d.bytes);
  }
}

void SecureTransport::publish() {
  // The machine's counters are the source of truth; the series mirror them.
  for (size_t c = 0; c < kTransportCounts; ++c) {
    const uint64_t v = machine_.count(static_cast<TransportCount>(c));
    MESHD_ASSERT(v >= *counts_[c]);  // counters only grow
    *counts_[c] = v;
  }
}

nlohmann::json SecureTransport::status() const {
  nlohmann::json drops = nlohmann::json::object();
  for (size_t i = 1; i < wire::kDropReasonCount; ++i) {
    const auto reason = static_cast<wire::DropReason>(i);
    if (const uint64_t n = driver_.dropped(reason); n > 0) drops[std::string(wire::drop_reason_name(reason))] = n;
  }
  nlohmann::json s = machine_.status();
  s["dropped"] = drops;
  return s;
}

}  // namespace meshd::transport
