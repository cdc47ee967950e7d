// Runs the built meshsim binary for the CLI tests: captures stdout (stderr
// goes to the test log) and the exit code.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

namespace meshd::test {

struct Exec {
  int code = -1;
  std::string out;
  // The last non-empty line of stdout.
  std::string last_line() const {
    std::string s = out;
    while (!s.empty() && s.back() == '\n') s.pop_back();
    const size_t nl = s.rfind('\n');
    return nl == std::string::npos ? s : s.substr(nl + 1);
  }
  bool has(const std::string& text) const { return out.find(text) != std::string::npos; }
};

inline std::string meshsim_bin() { return std::string(MESHD_BINARY_DIR) + "/tools/meshsim"; }
inline std::string source_path(const std::string& rel) { return std::string(MESHD_SOURCE_DIR) + "/" + rel; }

// Runs a shell command line (test-controlled) and captures its stdout.
inline Exec run_command(const std::string& cmd) {
  Exec e;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return e;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) e.out.append(buf, n);
  const int status = pclose(p);
  e.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return e;
}

// `args` is appended to the binary path as shell words (test-controlled).
inline Exec meshsim(const std::string& args) { return run_command(meshsim_bin() + " " + args); }

inline std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// "trace_hash=XXXX" from a PASS/FAIL line.
inline std::string trace_hash_of(const Exec& e) {
  const size_t at = e.out.rfind("trace_hash=");
  return at == std::string::npos ? "" : e.out.substr(at + 11, 16);
}

inline std::string temp_path(const std::string& name) {
  return std::string(MESHD_BINARY_DIR) + "/meshsim-test-" + name;
}

}  // namespace meshd::test
