// meshctl: the operator CLI for a running meshd, over its control socket.
//
//   meshctl [--socket PATH] [--timeout-ms N] VERB [ARGS]
//   meshctl --version | meshctl --help | meshctl VERB --help
//
// Sends {"cmd": VERB, ...} as one line and prints the response: "metrics"
// prints the Prometheus text as is, everything else pretty JSON on stdout.
// The verbs are listed in kVerbs (and by --help); any other word is sent
// as a raw command ("meshctl some_cmd '{...}'") for commands newer than
// this meshctl. --socket defaults to $MESHCTL_SOCKET, else the packaged
// node's /var/lib/meshd/control.sock.
// Exit codes (docs/operator.md): 0 success, 1 the node is unreachable or
// did not answer, 2 usage error, 3 the node answered with an error
// ({"ok": false} or an "error" field).
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/build_info.h"
#include "io/control.h"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitUnreachable = 1;
constexpr int kExitUsage = 2;
constexpr int kExitNodeError = 3;
constexpr int64_t kTimeoutMsMax = 600'000;
constexpr const char* kSocketDefault = "/var/lib/meshd/control.sock";

struct Verb {
  const char* name;
  const char* args;  // usage of the arguments after the verb
  const char* help;
};

// Every verb meshctl knows (shell completion lists these too).
constexpr Verb kVerbs[] = {
    {"status", "", "the node: name, listen, incarnation, identity (node_id, public_key, fingerprint), peers, "
                   "membership, transport"},
    {"peers", "", "one row per member (SWIM) joined with transport facts, then configured peers never seen"},
    {"members", "", "SWIM's view: self, members with status and incarnation, counters"},
    {"transport", "", "sessions, handshakes, drops by reason"},
    {"metrics", "", "every counter and gauge in Prometheus text format"},
    {"announce", "[JSON]", "re-announce this node; '{\"capabilities\": [...]}' replaces its capability list"},
    {"why", "NAME", "why member NAME (peer name, hostname or node id) is in its state: its last verdict and the "
                    "evidence (accuser, failed probes, confirmations, local health)"},
    {"reload", "", "re-read the config file (as SIGHUP): live fields applied, others refused (exit 3)"},
    {"rotate-key", "", "rotate the node's identity key (same NodeId; the old key is archived; peers are told)"},
};

const Verb* find_verb(std::string_view name) {
  for (const Verb& v : kVerbs) {
    if (name == v.name) return &v;
  }
  return nullptr;
}

void print_help(FILE* out) {
  std::fprintf(out,
               "usage: meshctl [--socket PATH] [--timeout-ms N] VERB [ARGS]\n"
               "       meshctl --version | --help | VERB --help\n"
               "  --socket PATH     the node's control socket (default $MESHCTL_SOCKET, else %s)\n"
               "  --timeout-ms N    give up after N ms (default %lld, at most %lld)\n"
               "verbs:\n",
               kSocketDefault, static_cast<long long>(meshd::io::kControlTimeoutMsDefault),
               static_cast<long long>(kTimeoutMsMax));
  for (const Verb& v : kVerbs) std::fprintf(out, "  %-10s %-7s %s\n", v.name, v.args, v.help);
  std::fprintf(out,
               "  any other word is sent as a raw command: meshctl CMD ['{\"field\": ...}']\n"
               "exit codes: 0 ok, 1 unreachable, 2 usage error, 3 the node answered with an error\n");
}

int usage(const std::string& why) {
  std::fprintf(stderr, "meshctl: %s (meshctl --help)\n", why.c_str());
  return kExitUsage;
}

bool is_error_response(const nlohmann::json& response) {
  if (!response.is_object()) return false;
  if (auto ok = response.find("ok"); ok != response.end() && ok->is_boolean() && !ok->get<bool>()) return true;
  return response.contains("error");
}

}  // namespace

int main(int argc, char** argv) {
  std::string socket_path;
  if (const char* env = std::getenv("MESHCTL_SOCKET"); env != nullptr && *env != '\0') socket_path = env;
  if (socket_path.empty()) socket_path = kSocketDefault;
  int64_t timeout_ms = meshd::io::kControlTimeoutMsDefault;
  std::vector<std::string> words;
  bool help = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      help = true;
    } else if (arg == "--version" || arg == "-V") {
      std::printf("%s\n", meshd::io::version_line("meshctl").c_str());
      return kExitOk;
    } else if (arg == "--socket" || arg == "--timeout-ms") {
      if (i + 1 >= argc) return usage("missing value after " + std::string(arg));
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
    } else if (arg.size() > 1 && arg[0] == '-' && arg[1] == '-') {
      return usage("unknown option " + std::string(arg));
    } else {
      words.emplace_back(arg);
    }
  }
  if (help) {
    if (words.empty()) {
      print_help(stdout);
    } else if (const Verb* v = find_verb(words[0]); v != nullptr) {
      std::printf("usage: meshctl [--socket PATH] %s %s\n  %s\n", v->name, v->args, v->help);
    } else {
      std::printf("usage: meshctl [--socket PATH] %s ['{JSON object}']\n  a raw command sent to the node\n",
                  words[0].c_str());
    }
    return kExitOk;
  }
  if (words.empty()) return usage("missing verb");
  const std::string verb = words[0];
  nlohmann::json request = nlohmann::json::object();
  if (verb == "why") {
    if (words.size() != 2) return usage("why needs one NAME (a peer name, hostname or node id)");
    request["name"] = words[1];
  } else if (words.size() > 2) {
    return usage("too many arguments (pass command arguments as one JSON object)");
  } else if (words.size() == 2) {
    request = nlohmann::json::parse(words[1], nullptr, /*allow_exceptions=*/false);
    if (request.is_discarded() || !request.is_object()) {
      return usage("command arguments must be one JSON object, e.g. '{\"capabilities\": [\"gpu\"]}'");
    }
  }
  request["cmd"] = verb == "rotate-key" ? "rotate_key" : verb;

  auto response = meshd::io::control_call(socket_path, request, timeout_ms);
  if (!response) {
    std::fprintf(stderr, "meshctl: %s: %s\n", socket_path.c_str(), response.status().to_string().c_str());
    return kExitUnreachable;
  }
  if (is_error_response(*response)) {
    auto err = response->find("error");
    const std::string why = err != response->end() && err->is_string() ? err->get<std::string>() : response->dump();
    std::fprintf(stderr, "meshctl: node error: %s\n", why.c_str());
    return kExitNodeError;
  }
  auto text = response->is_object() ? response->find("text") : response->end();
  if (verb == "metrics" && text != response->end() && text->is_string()) {
    std::fputs(text->get<std::string>().c_str(), stdout);
  } else {
    std::printf("%s\n", response->dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  }
  return kExitOk;
}
