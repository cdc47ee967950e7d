// meshctl: the operator CLI for a running meshd, over its control socket.
//
//   meshctl --socket PATH [--timeout-ms N] <cmd> [JSON-OBJECT]
//
// Sends {"cmd": "<cmd>", ...JSON-OBJECT fields} as one line and prints the
// response (commands: status, peers (SWIM members + transport facts),
// members (SWIM membership), transport,
// metrics): "metrics" prints the Prometheus text as is, everything else
// prints pretty JSON. Exit codes (docs/operator.md): 0 success, 1 the node
// is unreachable or did not answer, 2 usage error, 3 the node answered with
// an error ({"ok": false} or an "error" field).
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "io/control.h"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitUnreachable = 1;
constexpr int kExitUsage = 2;
constexpr int kExitNodeError = 3;
constexpr int64_t kTimeoutMsMax = 600'000;

int usage(const char* why) {
  if (why != nullptr) std::fprintf(stderr, "meshctl: %s\n", why);
  std::fprintf(stderr,
               "usage: meshctl --socket PATH [--timeout-ms N] <command> [JSON-OBJECT]\n"
               "commands: status | peers | members | metrics | any command the node serves\n"
               "example:  meshctl --socket /var/lib/meshd/control.sock status\n");
  return kExitUsage;
}

bool is_error_response(const nlohmann::json& response) {
  if (!response.is_object()) return false;
  if (auto ok = response.find("ok"); ok != response.end() && ok->is_boolean() && !ok->get<bool>()) {
    return true;
  }
  return response.contains("error");
}

}  // namespace

int main(int argc, char** argv) {
  std::string socket_path;
  int64_t timeout_ms = meshd::io::kControlTimeoutMsDefault;
  std::string cmd;
  std::string args_text;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      usage(nullptr);
      return kExitOk;
    }
    if (arg == "--socket" || arg == "--timeout-ms") {
      if (i + 1 >= argc) return usage(("missing value after " + std::string(arg)).c_str());
      const std::string value = argv[++i];
      if (arg == "--socket") {
        socket_path = value;
      } else {
        char* end = nullptr;
        timeout_ms = std::strtoll(value.c_str(), &end, 10);
        if (end == value.c_str() || *end != '\0' || timeout_ms <= 0 || timeout_ms > kTimeoutMsMax) {
          return usage("--timeout-ms expects a number of milliseconds in 1..600000");
        }
      }
    } else if (arg.size() > 1 && arg[0] == '-' && cmd.empty()) {
      return usage(("unknown option " + std::string(arg)).c_str());
    } else if (cmd.empty()) {
      cmd = arg;
    } else if (args_text.empty()) {
      args_text = arg;
    } else {
      return usage("too many arguments (pass command arguments as one JSON object)");
    }
  }
  if (socket_path.empty()) return usage("--socket PATH is required");
  if (cmd.empty()) return usage("missing command");

  nlohmann::json request = nlohmann::json::object();
  if (!args_text.empty()) {
    request = nlohmann::json::parse(args_text, nullptr, /*allow_exceptions=*/false);
    if (request.is_discarded() || !request.is_object()) {
      return usage("command arguments must be one JSON object, e.g. '{\"peer\": \"n2\"}'");
    }
  }
  request["cmd"] = cmd;

  auto response = meshd::io::control_call(socket_path, request, timeout_ms);
  if (!response) {
    std::fprintf(stderr, "meshctl: %s: %s\n", socket_path.c_str(),
                 response.status().to_string().c_str());
    return kExitUnreachable;
  }
  if (is_error_response(*response)) {
    auto err = response->find("error");
    const std::string why = err != response->end() && err->is_string() ? err->get<std::string>()
                                                                        : response->dump();
    std::fprintf(stderr, "meshctl: node error: %s\n", why.c_str());
    return kExitNodeError;
  }
  auto text = response->is_object() ? response->find("text") : response->end();
  if (cmd == "metrics" && text != response->end() && text->is_string()) {
    std::fputs(text->get<std::string>().c_str(), stdout);
  } else {
    std::printf("%s\n", response->dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  }
  return kExitOk;
}
