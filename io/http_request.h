// HttpRequestHead: the tiny HTTP/1.x request-head parser behind meshd's
// /metrics endpoint (io/http_metrics.h). Pure: bytes in, verdict out; it
// has a fuzz target (fuzz/http_request.cpp).
//
// Accepts "METHOD SP TARGET SP HTTP/1.x CRLF (header CRLF)* CRLF" (a bare
// LF is accepted too, as most servers do). The head must end within
// kHttpRequestHeadBytesMax bytes; the request line's method is 1..16
// uppercase letters, the target 1..kHttpTargetBytesMax visible ASCII bytes
// starting with '/'. Headers are not interpreted (none matter for a GET of
// /metrics) beyond counting them (at most kHttpHeadersMax). A body is
// never read: the connection is closed after one response.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace meshd::io {

constexpr size_t kHttpRequestHeadBytesMax = 8 * 1024;
constexpr size_t kHttpTargetBytesMax = 1024;
constexpr size_t kHttpMethodBytesMax = 16;
constexpr size_t kHttpHeadersMax = 64;

enum class HttpParse { incomplete, complete, bad, too_large };

struct HttpRequestHead {
  std::string method;
  std::string path;   // the target without its query string
  std::string query;  // after '?', may be empty
};

// Parses the head at the start of `bytes`. incomplete: need more bytes (and
// bytes.size() < kHttpRequestHeadBytesMax); too_large: no end of head within
// the limit; bad: malformed (out is then unspecified).
HttpParse parse_http_request_head(std::string_view bytes, HttpRequestHead& out);

}  // namespace meshd::io
