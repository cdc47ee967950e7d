#include "tools/meshd/serve.h"

#include <csignal>
#include <map>

#include "core/wire/drop_reason.h"
#include "io/build_info.h"
#include "io/control.h"
#include "io/http_metrics.h"
#include "io/key_info.h"
#include "io/sd_notify.h"
#include "tools/meshd/exit_codes.h"

namespace meshd::tools {

namespace {

constexpr int64_t kShutdownPollUs = 10'000;  // how often shutdown checks the leave finished

// What an operator should suspect for each refusal reason.
std::string_view refusal_hint(wire::DropReason reason) {
  switch (reason) {
    case wire::DropReason::none:
      return "no answer within security.handshake_timeout_s: the peer is down or unreachable, or its PSK differs "
             "from ours (a node with another PSK drops our initiations without answering)";
    case wire::DropReason::bad_cookie:
    case wire::DropReason::handshake_failed:
      return "the initiation failed its PSK-keyed MAC or the Noise handshake: the sender has a different PSK "
             "(or the packet was forged)";
    case wire::DropReason::cookie_required: return "over our handshake rate: the sender must echo a cookie";
    case wire::DropReason::stale_handshake: return "a replayed or out-of-date handshake";
    case wire::DropReason::not_for_us: return "addressed to another NodeId: the sender pins an old key of ours";
    case wire::DropReason::twin_refused: return "another live node holds this identity (membership.identity_policy)";
    default: return "malformed or unexpected handshake packet";
  }
}

struct RefusalLog {
  int64_t last_us = INT64_MIN / 2;
  uint64_t suppressed = 0;
};

}  // namespace

int serve(io::NodeHost& host, Node& node, const LoadedConfig& loaded, const ServeOptions& options) {
  io::EventLoop& loop = host.loop();
  io::JsonLog& log = host.log();
  const int64_t started_us = host.clock().monotonic_us();
  NodeConfig running = loaded.config;

  // Re-reads the config; applies what can change live, refuses the rest.
  auto reload = [&](std::string_view trigger) -> nlohmann::json {
    LoadedConfig next;
    ConfigError error;
    std::vector<std::string> warnings;
    if (!load_config(options.config_path, next, error, warnings)) {
      nlohmann::json fields = error.fields();
      fields["trigger"] = trigger;
      log.error("config_reload_refused", fields);
      return {{"ok", false}, {"error", "reload refused, the running config stays: " + error.text()}};
    }
    if (!options.log_level_override.empty()) next.config.log_level = running.log_level;
    if (Status s = node.reload(next.config); !s) {
      const std::string field = s.message().substr(7, s.message().find('\'', 7) - 7);
      log.error("config_reload_refused", {{"file", options.config_path},
                                          {"line", config_line_of(next.text, field)},
                                          {"field", field},
                                          {"error", s.message()},
                                          {"trigger", trigger}});
      return {{"ok", false}, {"error", "reload refused: " + s.message()}};
    }
    log.set_min_level(next.config.log_level);
    running = next.config;
    return {{"ok", true}, {"trigger", std::string(trigger)}, {"peers", running.peers.size()},
            {"log_level", log_level_name(running.log_level)}};
  };

  auto render_metrics = [&] {
    std::string text = host.metrics().render_prometheus();
    text += "# HELP meshd_build_info meshd's version, git revision and build type (value 1)\n";
    text += "# TYPE meshd_build_info gauge\n";
    text += "meshd_build_info{version=\"" + std::string(io::build_version()) + "\",revision=\"" +
            std::string(io::build_git_revision()) + "\",build_type=\"" + std::string(io::build_type()) +
            "\"} 1\n";
    text += "# HELP meshd_uptime_seconds seconds since this meshd process started\n";
    text += "# TYPE meshd_uptime_seconds gauge\n";
    text += "meshd_uptime_seconds " +
            std::to_string(static_cast<double>(host.clock().monotonic_us() - started_us) / 1e6) + "\n";
    return text;
  };

  auto control = io::ControlServer::open(
      loop, running.control_socket, [&](const nlohmann::json& request) -> nlohmann::json {
        const std::string cmd = request["cmd"];
        if (cmd == "metrics") return {{"ok", true}, {"text", render_metrics()}};
        if (cmd == "reload") return reload("control");
        if (cmd == "rotate_key") {
          if (Status s = node.rotate_key(); !s) return {{"ok", false}, {"error", s.to_string()}};
          const auto& id = node.transport()->identity();
          return {{"ok", true}, {"node_id", id.node_id().to_hex()}, {"public_key", io::hex_of(id.public_key())},
                  {"fingerprint", io::key_fingerprint(id.public_key())}};
        }
        nlohmann::json out = node.handle_control(request);
        if (cmd == "status" && out.is_object()) {
          out["version"] = io::version_line("meshd");
          if (const auto* t = node.transport(); t != nullptr) {
            const auto& id = t->identity();
            out["identity"] = {{"node_id", id.node_id().to_hex()},
                               {"public_key", io::hex_of(id.public_key())},
                               {"fingerprint", io::key_fingerprint(id.public_key())}};
          }
        }
        return out;
      });
  if (!control) {
    log.error("control_socket_failed",
              {{"file", options.config_path}, {"line", config_line_of(loaded.text, "control_socket")},
               {"field", "control_socket"}, {"path", running.control_socket},
               {"error", control.status().to_string()}});
    return kExitRuntimeError;
  }

  std::unique_ptr<io::HttpMetricsServer> http;
  if (running.metrics_listen) {
    auto opened = io::HttpMetricsServer::open(loop, *running.metrics_listen, render_metrics);
    if (opened) {
      http = std::move(*opened);
    } else {
      // A scrape endpoint is not worth refusing to run the node for: say
      // so loudly (alert on it: the metric below is 0 while the node runs).
      log.error("metrics_listen_failed",
                {{"file", options.config_path}, {"line", config_line_of(loaded.text, "metrics_listen")},
                 {"field", "metrics_listen"}, {"address", running.metrics_listen->to_string()},
                 {"error", opened.status().to_string()}});
    }
  }

  bool stop_requested = false;
  const Status watched = loop.watch_termination_signals([&](int signo) {
    if (signo == SIGHUP) {
      log.info("reload_requested", {{"signal", "SIGHUP"}});
      (void)io::sd_notify_state("RELOADING=1");
      (void)reload("SIGHUP");
      (void)io::sd_notify_state("READY=1");
      return;
    }
    (void)io::sd_notify_state("STOPPING=1");
    log.info("shutdown_requested", {{"signal", signo == SIGTERM ? "SIGTERM" : "SIGINT"}});
    const bool second = stop_requested;
    stop_requested = true;
    node.stop();  // a graceful leave (SWIM gossips `left`), stopped() later
    if (node.stopped() || second) {
      // Posted behind the fibers node.stop() cancelled, so they finish
      // (ready work runs FIFO) before the loop ends.
      host.runtime().post([&loop] { loop.stop(); });
      return;
    }
    // Keep the loop running while the `left` gossip drains (bounded by
    // the membership layer's kLeaveDrainMaxUs); a second signal ends it.
    auto waiter = host.runtime().spawn("shutdown", [&node, &loop, &host] {
      while (!node.stopped()) {
        if (!host.runtime().sleep_for(kShutdownPollUs)) return;
      }
      host.runtime().post([&loop] { loop.stop(); });
    });
    if (!waiter) host.runtime().post([&loop] { loop.stop(); });
  });
  if (!watched) {
    log.error("signals_failed", {{"error", watched.to_string()}});
    return kExitRuntimeError;
  }
  if (Status s = node.start(); !s) {
    // A refused key (exposed, corrupt, cloned) is the config's
    // security.identity; anything else the node's data directory.
    const bool key = s.message().find("key") != std::string::npos || s.code() == Errc::permission;
    const std::string field = key ? "security.identity" : "data_dir";
    log.error("node_start_failed", {{"file", options.config_path}, {"line", config_line_of(loaded.text, field)},
                                    {"field", field}, {"error", s.to_string()}});
    return kExitRuntimeError;
  }
  std::map<std::pair<Address, wire::DropReason>, RefusalLog> refusals;
  if (auto* t = node.transport(); t != nullptr) {
    t->set_handshake_refusal_observer([&](const Address& from, wire::DropReason reason) {
      const int64_t now = host.clock().monotonic_us();
      auto key = std::make_pair(from, reason);
      if (refusals.size() >= kRefusalSourcesMax && !refusals.count(key)) refusals.erase(refusals.begin());
      RefusalLog& r = refusals[key];
      if (now - r.last_us < kRefusalLogIntervalUs) {
        ++r.suppressed;
        return;
      }
      r.last_us = now;
      const bool timed_out = reason == wire::DropReason::none;
      log.warn(timed_out ? "handshake_failed" : "handshake_refused",
               {{timed_out ? "peer" : "from", from.to_string()},
                {"reason", timed_out ? "no_response" : std::string(wire::drop_reason_name(reason))},
                {"hint", refusal_hint(reason)},
                {"suppressed", r.suppressed}});
      r.suppressed = 0;
    });
  }
  log.info("meshd_ready", {{"listen", host.network().local_address().to_string()},
                           {"control_socket", running.control_socket},
                           {"metrics", http ? "http://" + http->local_address().to_string() + "/metrics" : "off"},
                           {"data_dir", running.data_dir},
                           {"version", io::version_line("meshd")}});
  (void)io::sd_notify_state("READY=1");
  if (Status s = loop.run(); !s) {
    log.error("event_loop_failed", {{"error", s.to_string()}});
    return kExitRuntimeError;
  }
  return kExitOk;
}

}  // namespace meshd::tools
