#include "io/host_fingerprint.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <vector>

namespace meshd::io {

namespace {

constexpr size_t kFingerprintLineBytesMax = 256;

std::string first_line(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return {};
  std::string line;
  std::getline(in, line);
  if (line.size() > kFingerprintLineBytesMax) line.resize(kFingerprintLineBytesMax);
  while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.pop_back();
  return line;
}

}  // namespace

std::string host_fingerprint() {
  if (std::string id = first_line("/etc/machine-id"); !id.empty()) return "machine-id:" + id;
  std::error_code ec;
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator("/sys/class/net", ec)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    const std::filesystem::path dir = std::filesystem::path("/sys/class/net") / name;
    if (!std::filesystem::exists(dir / "device", ec)) continue;  // virtual interface
    std::string mac = first_line(dir / "address");
    if (!mac.empty() && mac != "00:00:00:00:00:00") return "mac:" + mac;
  }
  return {};
}

}  // namespace meshd::io
