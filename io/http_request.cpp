#include "io/http_request.h"

#include "core/env/assert.h"

namespace meshd::io {

namespace {

// The end of the head: the index just past the blank line, or npos.
size_t head_end(std::string_view bytes) {
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (bytes[i] != '\n') continue;
    if (i + 1 < bytes.size() && bytes[i + 1] == '\n') return i + 2;
    if (i + 2 < bytes.size() && bytes[i + 1] == '\r' && bytes[i + 2] == '\n') return i + 3;
  }
  return std::string_view::npos;
}

std::string_view chomp(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

}  // namespace

HttpParse parse_http_request_head(std::string_view bytes, HttpRequestHead& out) {
  const size_t end = head_end(bytes.substr(0, kHttpRequestHeadBytesMax));
  if (end == std::string_view::npos) {
    return bytes.size() >= kHttpRequestHeadBytesMax ? HttpParse::too_large : HttpParse::incomplete;
  }
  MESHD_ASSERT(end <= kHttpRequestHeadBytesMax);
  const std::string_view head = bytes.substr(0, end);
  const size_t first_nl = head.find('\n');
  MESHD_ASSERT(first_nl != std::string_view::npos);
  const std::string_view line = chomp(head.substr(0, first_nl));
  const size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos || sp1 == 0 || sp1 > kHttpMethodBytesMax) return HttpParse::bad;
  const size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return HttpParse::bad;
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  for (char c : method) {
    if (c < 'A' || c > 'Z') return HttpParse::bad;
  }
  if (target.empty() || target.size() > kHttpTargetBytesMax || target[0] != '/') return HttpParse::bad;
  for (char c : target) {
    if (c <= ' ' || c > '~') return HttpParse::bad;
  }
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return HttpParse::bad;
  // Headers: "name: value" lines, counted and shape-checked only.
  size_t headers = 0;
  size_t pos = first_nl + 1;
  while (pos < head.size()) {
    const size_t nl = head.find('\n', pos);
    MESHD_ASSERT(nl != std::string_view::npos);
    const std::string_view h = chomp(head.substr(pos, nl - pos));
    pos = nl + 1;
    if (h.empty()) break;  // the blank line ending the head
    if (++headers > kHttpHeadersMax) return HttpParse::bad;
    const size_t colon = h.find(':');
    if (colon == std::string_view::npos || colon == 0) return HttpParse::bad;
  }
  out.method = std::string(method);
  const size_t q = target.find('?');
  out.path = std::string(target.substr(0, q));
  out.query = q == std::string_view::npos ? "" : std::string(target.substr(q + 1));
  return HttpParse::complete;
}

}  // namespace meshd::io
