// meshd: the production mesh node.
//
//   meshd --config node.json [--log-level debug|info|warn|error]
//
// Reads and validates the config (any problem: one line on stderr naming
// the field and line, exit 2), builds the production Env (io/node_host.h),
// starts the Node, serves the control socket (the node's commands plus
// "metrics"), and runs the event loop. SIGTERM/SIGINT stop the node (with
// SWIM always on: a graceful leave, the loop running until `left` has been
// gossiped, at most the membership layer's drain bound; a second signal
// ends it at once), let its cancelled fibers finish, remove the control
// socket and exit 0.
// Other exit codes: 1 when the environment fails (port in use, data
// directory unusable, node start failure, event loop failure).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/node/config.h"
#include "core/node/node.h"
#include "io/control.h"
#include "io/fd.h"
#include "io/host_fingerprint.h"
#include "io/json_log.h"
#include "io/node_host.h"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitRuntimeError = 1;
constexpr int kExitConfigError = 2;
// A config file is a few KiB; a bigger one is a mistake (wrong file).
constexpr size_t kConfigBytesMax = 1024 * 1024;
constexpr int64_t kShutdownPollUs = 10'000;  // how often shutdown checks the leave finished

struct Args {
  std::string config_path;
  std::string log_level;  // empty: the config's log_level
};

int usage(const char* why) {
  if (why != nullptr) std::fprintf(stderr, "meshd: %s\n", why);
  std::fprintf(stderr, "usage: meshd --config node.json [--log-level debug|info|warn|error]\n");
  return kExitConfigError;
}

// Returns the exit code on failure, -1 to continue.
int parse_args(int argc, char** argv, Args& out) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      usage(nullptr);
      return kExitOk;
    }
    if (arg != "--config" && arg != "--log-level") return usage(("unknown argument " + std::string(arg)).c_str());
    if (i + 1 >= argc) return usage(("missing value after " + std::string(arg)).c_str());
    (arg == "--config" ? out.config_path : out.log_level) = argv[++i];
  }
  if (out.config_path.empty()) return usage("--config is required");
  return -1;
}

meshd::Result<std::string> read_text_file(const std::string& path) {
  meshd::io::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return meshd::Status(meshd::Errc::not_found, std::strerror(errno));
  std::string text;
  char chunk[4096];
  while (true) {
    const ssize_t n = ::read(fd.get(), chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return meshd::Status(meshd::Errc::io_error, std::strerror(errno));
    if (n == 0) return text;
    text.append(chunk, static_cast<size_t>(n));
    if (text.size() > kConfigBytesMax) return meshd::Status(meshd::Errc::too_large, "larger than 1 MiB");
  }
}


// Fills in what core cannot read itself: the PSK file and the host
// fingerprint. Returns an exit code on error, -1 to continue.
int load_security(meshd::NodeConfig& config) {
  meshd::SecurityConfig& sec = config.security;
  if (sec.plaintext) return -1;
  if (!sec.psk_file.empty()) {
    struct stat st {};
    if (::stat(sec.psk_file.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
      std::fprintf(stderr, "meshd: security.psk_file %s is readable by group or others; chmod 600 it\n",
                   sec.psk_file.c_str());
      return kExitConfigError;
    }
    auto text = read_text_file(sec.psk_file);
    if (!text) {
      std::fprintf(stderr, "meshd: cannot read security.psk_file '%s': %s\n", sec.psk_file.c_str(),
                   text.status().message().c_str());
      return kExitConfigError;
    }
    auto psk = meshd::parse_psk_hex(*text);
    if (!psk) {
      std::fprintf(stderr, "meshd: security.psk_file '%s': expected 64 hex digits\n", sec.psk_file.c_str());
      return kExitConfigError;
    }
    sec.psk = *psk;
  }
  if (sec.host_fingerprint.empty()) sec.host_fingerprint = meshd::io::host_fingerprint();
  if (sec.host_fingerprint.empty() && !sec.ephemeral) {
    std::fprintf(stderr, "meshd: warning: no host fingerprint (/etc/machine-id, physical MAC): "
                         "clone detection is off\n");
  }
  return -1;
}

// Serves the control socket and runs the loop until a termination signal.
// Returns the process exit code.
int serve(meshd::io::NodeHost& host, meshd::Node& node, const meshd::NodeConfig& config) {
  meshd::io::EventLoop& loop = host.loop();
  meshd::Log& log = host.log();
  auto control = meshd::io::ControlServer::open(
      loop, config.control_socket, [&](const nlohmann::json& request) -> nlohmann::json {
        if (request["cmd"] == "metrics") {
          return {{"ok", true}, {"text", host.metrics().render_prometheus()}};
        }
        return node.handle_control(request);
      });
  if (!control) {
    std::fprintf(stderr, "meshd: control socket: %s\n", control.status().to_string().c_str());
    return kExitRuntimeError;
  }
  bool stop_requested = false;
  if (meshd::Status s = loop.watch_termination_signals([&](int signo) {
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
        // the membership layer's kLeaveDrainMaxUs); a second signal ends
        // it at once.
        auto waiter = host.runtime().spawn("shutdown", [&node, &loop, &host] {
          while (!node.stopped()) {
            if (!host.runtime().sleep_for(kShutdownPollUs)) return;
          }
          host.runtime().post([&loop] { loop.stop(); });
        });
        if (!waiter) host.runtime().post([&loop] { loop.stop(); });
      });
      !s) {
    std::fprintf(stderr, "meshd: signals: %s\n", s.to_string().c_str());
    return kExitRuntimeError;
  }
  if (meshd::Status s = node.start(); !s) {
    std::fprintf(stderr, "meshd: node start failed: %s\n", s.to_string().c_str());
    return kExitRuntimeError;
  }
  log.info("meshd_ready", {{"listen", host.network().local_address().to_string()},
                           {"control_socket", config.control_socket},
                           {"data_dir", config.data_dir}});
  if (meshd::Status s = loop.run(); !s) {
    log.error("event_loop_failed", {{"error", s.to_string()}});
    return kExitRuntimeError;
  }
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (int code = parse_args(argc, argv, args); code >= 0) return code;

  auto text = read_text_file(args.config_path);
  if (!text) {
    std::fprintf(stderr, "meshd: cannot read config '%s': %s\n", args.config_path.c_str(),
                 text.status().message().c_str());
    return kExitConfigError;
  }
  auto parsed = meshd::parse_node_config(*text);
  if (!parsed) {
    std::fprintf(stderr, "meshd: %s: %s\n", args.config_path.c_str(),
                 parsed.status().message().c_str());
    return kExitConfigError;
  }
  meshd::NodeConfig config = std::move(*parsed);
  if (int code = load_security(config); code >= 0) return code;
  if (!args.log_level.empty()) {
    auto level = meshd::io::parse_log_level(args.log_level);
    if (!level) return usage("--log-level expects debug, info, warn or error");
    config.log_level = *level;
  }

  auto host_or = meshd::io::NodeHost::create({config.listen, config.data_dir, config.log_level});
  if (!host_or) {
    std::fprintf(stderr, "meshd: %s\n", host_or.status().to_string().c_str());
    return kExitRuntimeError;
  }
  meshd::io::NodeHost& host = **host_or;
  int exit_code;
  {
    meshd::Node node(host.env(), config);
    exit_code = serve(host, node, config);
    node.stop();
    // No fiber may outlive the Node it points into.
    host.runtime().kill_all();
  }
  meshd::Log& log = host.log();
  log.info("meshd_exit", {{"code", exit_code}});
  return exit_code;
}
