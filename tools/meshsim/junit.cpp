#include "tools/meshsim/junit.h"

#include <fmt/format.h>

#include <fstream>

namespace meshd::tools {

std::string xml_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        // XML 1.0 forbids most control characters even when escaped.
        if (c < 0x20 && c != '\n' && c != '\t' && c != '\r') {
          out += '?';
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

bool write_junit(const std::string& path, const std::string& suite, const std::vector<JunitCase>& cases,
                 double wall_s, std::string* error) {
  std::ofstream out(path, std::ios::trunc);
  if (!out) {
    *error = "cannot write " + path;
    return false;
  }
  size_t failures = 0;
  for (const auto& c : cases) failures += c.failed ? 1 : 0;
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out << fmt::format("<testsuites tests=\"{}\" failures=\"{}\" time=\"{:.3f}\">\n", cases.size(), failures, wall_s);
  out << fmt::format("  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" time=\"{:.3f}\">\n",
                     xml_escape(suite), cases.size(), failures, wall_s);
  for (const auto& c : cases) {
    out << fmt::format("    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3f}\"", xml_escape(suite),
                       xml_escape(c.name), c.time_s);
    if (!c.failed) {
      out << "/>\n";
      continue;
    }
    out << fmt::format(">\n      <failure message=\"{}\">{}</failure>\n    </testcase>\n", xml_escape(c.message),
                       xml_escape(c.details));
  }
  out << "  </testsuite>\n</testsuites>\n";
  out.close();
  if (!out) {
    *error = "cannot write " + path;
    return false;
  }
  return true;
}

}  // namespace meshd::tools
