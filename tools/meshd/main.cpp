// meshd: the production mesh node.
//
//   meshd [run] --config FILE [--log-level debug|info|warn|error]
//   meshd key show|generate|rotate --config FILE
//   meshd --version | meshd [VERB] --help
//
// run (the default verb): reads and validates the config (any problem: one
// JSON line on stderr, event "config_invalid", naming file, line and field;
// exit 2), builds the production Env (io/node_host.h), starts the Node and
// serves (tools/meshd/serve.h) until SIGTERM/SIGINT (graceful leave, exit 0);
// SIGHUP reloads the config. Everything on stderr is a JSON line in the
// schema of io/json_log.h, startup errors included; --help and --version
// print plain text on stdout and exit 0.
// Exit codes (exit_codes.h): 0 clean stop, 1 environment failure, 2 usage
// or configuration error.
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "core/env/assert.h"
#include "core/node/node.h"
#include "io/build_info.h"
#include "io/clock.h"
#include "io/json_log.h"
#include "io/node_host.h"
#include "tools/meshd/config_load.h"
#include "tools/meshd/exit_codes.h"
#include "tools/meshd/key_cmd.h"
#include "tools/meshd/serve.h"

namespace {

using namespace meshd::tools;

constexpr const char* kHelpMain =
    "usage: meshd [run] --config FILE [--log-level debug|info|warn|error]\n"
    "       meshd key show|generate|rotate --config FILE\n"
    "       meshd --version\n"
    "       meshd VERB --help\n"
    "\n"
    "verbs:\n"
    "  run       run the node (the default): JSON log lines on stderr; SIGTERM/SIGINT leave\n"
    "            gracefully and exit 0; SIGHUP reloads the config (docs/operator.md)\n"
    "  key       show, generate or rotate the node's identity key\n"
    "\n"
    "exit codes: 0 clean stop, 1 environment failure, 2 usage or configuration error\n";
constexpr const char* kHelpRun =
    "usage: meshd run --config FILE [--log-level debug|info|warn|error]\n"
    "  --config FILE       the node's JSON config (docs/operator.md, \"Configuration\")\n"
    "  --log-level LEVEL   overrides the config's log_level (also across reloads)\n"
    "signals: SIGTERM/SIGINT graceful leave then exit 0; SIGHUP reload the config\n";
constexpr const char* kHelpKey =
    "usage: meshd key show|generate|rotate --config FILE\n"
    "  show      print node_id, public_key (what peers pin), fingerprint and a peers entry (JSON)\n"
    "  generate  create the key file if there is none (never replaces one)\n"
    "  rotate    new key, same NodeId, old key archived; a running node rotates itself and\n"
    "            tells its peers, a stopped one has its files rotated offline\n";

struct Args {
  std::string verb = "run";
  std::string key_verb;
  std::string config_path;
  std::string log_level;
  bool help = false;
  bool version = false;
};

// The node's name for the assertion report (set once the config is read).
std::string g_node_name;

// A failed invariant is reported as a JSON line like every other (stderr
// carries JSON lines only), then the process aborts.
void report_assertion(const char* expr, const char* file, int line, const char* msg) {
  meshd::io::RealClock clock;
  meshd::io::JsonLog log(clock, stderr, meshd::LogLevel::error);
  log.set_node(g_node_name);
  log.error("assertion_failed", {{"expr", expr}, {"file", file}, {"line", line}, {"message", msg ? msg : ""}});
}

int usage_error(meshd::io::JsonLog& log, const std::string& why, const char* help) {
  log.error("usage_error", {{"error", why}, {"usage", help}});
  return kExitConfigError;
}

// Returns an exit code to stop with, or -1 to continue.
int parse_args(int argc, char** argv, Args& out, meshd::io::JsonLog& log) {
  std::vector<std::string_view> words;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      out.help = true;
    } else if (arg == "--version" || arg == "-V") {
      out.version = true;
    } else if (arg == "--config" || arg == "--log-level") {
      if (i + 1 >= argc) return usage_error(log, "missing value after " + std::string(arg), kHelpMain);
      (arg == "--config" ? out.config_path : out.log_level) = argv[++i];
    } else if (arg.size() > 1 && arg[0] == '-') {
      return usage_error(log, "unknown option " + std::string(arg), kHelpMain);
    } else {
      words.push_back(arg);
    }
  }
  if (!words.empty()) out.verb = std::string(words[0]);
  if (out.verb != "run" && out.verb != "key") {
    return usage_error(log, "unknown verb '" + out.verb + "' (run, key)", kHelpMain);
  }
  if (out.verb == "key" && words.size() >= 2) out.key_verb = std::string(words[1]);
  const size_t words_max = out.verb == "key" ? 2 : 1;
  if (words.size() > words_max) return usage_error(log, "unexpected argument " + std::string(words.back()), kHelpMain);
  if (out.version) {
    std::printf("%s\n", meshd::io::version_line("meshd").c_str());
    return kExitOk;
  }
  if (out.help) {
    std::fputs(out.verb == "key" ? kHelpKey : (words.empty() ? kHelpMain : kHelpRun), stdout);
    return kExitOk;
  }
  if (out.verb == "key") {
    if (out.key_verb != "show" && out.key_verb != "generate" && out.key_verb != "rotate") {
      return usage_error(log, "meshd key needs show, generate or rotate", kHelpKey);
    }
    if (!out.log_level.empty()) return usage_error(log, "--log-level is for meshd run", kHelpKey);
  }
  if (out.config_path.empty()) return usage_error(log, "--config is required", kHelpMain);
  if (!out.log_level.empty() && !meshd::io::parse_log_level(out.log_level)) {
    return usage_error(log, "--log-level expects debug, info, warn or error", kHelpRun);
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  meshd::set_assert_reporter(report_assertion);
  meshd::io::RealClock clock;
  meshd::io::JsonLog startup_log(clock, stderr, meshd::LogLevel::info);
  Args args;
  if (int code = parse_args(argc, argv, args, startup_log); code >= 0) return code;
  if (args.verb == "key") return key_command(args.key_verb, args.config_path, startup_log);

  LoadedConfig loaded;
  ConfigError error;
  std::vector<std::string> warnings;
  if (!load_config(args.config_path, loaded, error, warnings)) {
    startup_log.error("config_invalid", error.fields());
    return kExitConfigError;
  }
  meshd::NodeConfig& config = loaded.config;
  g_node_name = config.name;
  if (!args.log_level.empty()) config.log_level = *meshd::io::parse_log_level(args.log_level);

  auto host_or = meshd::io::NodeHost::create({config.listen, config.data_dir, config.log_level});
  if (!host_or) {
    startup_log.set_node(config.name);
    const std::string msg = host_or.status().to_string();
    const bool port = msg.find("bind") != std::string::npos;
    startup_log.error("host_start_failed", {{"file", args.config_path},
                                            {"line", config_line_of(loaded.text, port ? "listen" : "data_dir")},
                                            {"field", port ? "listen" : "data_dir"},
                                            {"error", msg}});
    return kExitRuntimeError;
  }
  meshd::io::NodeHost& host = **host_or;
  meshd::io::JsonLog& log = host.log();
  log.set_node(config.name);
  for (const std::string& w : warnings) log.warn("startup_warning", {{"warning", w}});
  int exit_code;
  {
    meshd::Node node(host.env(), config);
    exit_code = serve(host, node, loaded, {args.config_path, args.log_level});
    node.stop();
    // No fiber may outlive the Node it points into.
    host.runtime().kill_all();
  }
  log.info("meshd_exit", {{"code", exit_code}});
  return exit_code;
}
