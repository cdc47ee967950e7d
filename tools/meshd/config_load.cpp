#include "tools/meshd/config_load.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <regex>

#include "core/node/json_fields.h"
#include "io/fd.h"
#include "io/host_fingerprint.h"

namespace meshd::tools {

namespace {
// A config file is a few KiB; a bigger one is a mistake (wrong file).
constexpr size_t kConfigBytesMax = 1024 * 1024;
}  // namespace

nlohmann::json ConfigError::fields() const {
  nlohmann::json j = {{"file", file}, {"line", line}, {"field", field}, {"error", message}};
  return j;
}

std::string ConfigError::text() const {
  std::string out = file;
  if (line > 0) out += ": line " + std::to_string(line);
  if (!field.empty()) out += ": field '" + field + "'";
  return out + ": " + message;
}

ConfigError config_error_of(const std::string& file, const std::string& message) {
  static const std::regex with_field(R"(^(?:config: )?line (\d+): field '([^']*)': ([\s\S]*)$)");
  static const std::regex with_line(R"(^(?:config: )?line (\d+): ([\s\S]*)$)");
  static const std::regex field_only(R"(^(?:config: )?field '([^']*)': ([\s\S]*)$)");
  std::smatch m;
  if (std::regex_match(message, m, with_field)) return {file, std::stoi(m[1]), m[2], m[3]};
  if (std::regex_match(message, m, with_line)) return {file, std::stoi(m[1]), "", m[2]};
  if (std::regex_match(message, m, field_only)) return {file, 1, m[1], m[2]};
  std::string rest = message;
  if (rest.rfind("config: ", 0) == 0) rest = rest.substr(8);
  return {file, 0, "", rest};
}

int config_line_of(const std::string& text, const std::string& field) {
  auto doc = JsonDoc::parse(text, "config");
  if (!doc) return 0;
  for (std::string path = field; !path.empty();) {
    if (int line = doc->line_of(path); line > 0) return line;
    const size_t cut = path.find_last_of(".[");
    path = cut == std::string::npos ? "" : path.substr(0, cut);
  }
  return 1;
}

Result<std::string> read_text_file(const std::string& path) {
  io::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Status(Errc::not_found, std::strerror(errno));
  std::string text;
  char chunk[4096];
  while (true) {
    const ssize_t n = ::read(fd.get(), chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status(Errc::io_error, std::strerror(errno));
    if (n == 0) return text;
    text.append(chunk, static_cast<size_t>(n));
    if (text.size() > kConfigBytesMax) return Status(Errc::too_large, "larger than 1 MiB");
  }
}

bool load_config(const std::string& path, LoadedConfig& out, ConfigError& error, std::vector<std::string>& warnings) {
  auto text = read_text_file(path);
  if (!text) {
    error = {path, 0, "", "cannot read the config file: " + text.status().message()};
    return false;
  }
  auto parsed = parse_node_config(*text);
  if (!parsed) {
    error = config_error_of(path, parsed.status().message());
    return false;
  }
  out.text = std::move(*text);
  out.config = std::move(*parsed);
  SecurityConfig& sec = out.config.security;
  if (!sec.plaintext && !sec.psk_file.empty()) {
    const std::string field = "security.psk_file";
    const int line = config_line_of(out.text, field);
    struct stat st {};
    if (::stat(sec.psk_file.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
      error = {path, line, field, sec.psk_file + " is readable by group or others; chmod 600 it"};
      return false;
    }
    auto psk_text = read_text_file(sec.psk_file);
    if (!psk_text) {
      error = {path, line, field, "cannot read " + sec.psk_file + ": " + psk_text.status().message()};
      return false;
    }
    auto psk = parse_psk_hex(*psk_text);
    if (!psk) {
      error = {path, line, field, sec.psk_file + ": expected 64 hex digits"};
      return false;
    }
    sec.psk = *psk;
  }
  if (!sec.plaintext && sec.host_fingerprint.empty()) sec.host_fingerprint = io::host_fingerprint();
  if (!sec.plaintext && sec.host_fingerprint.empty() && !sec.ephemeral) {
    warnings.push_back("no host fingerprint (/etc/machine-id, physical MAC): clone detection is off");
  }
  return true;
}

}  // namespace meshd::tools
