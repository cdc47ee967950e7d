#include "io/http_metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "core/env/assert.h"
#include "io/errno_status.h"
#include "io/http_request.h"

namespace meshd::io {

namespace {

constexpr size_t kReadChunkBytes = 4096;

std::string response(int code, std::string_view reason, std::string_view content_type, std::string_view body,
                     bool head_only) {
  std::string out = "HTTP/1.1 " + std::to_string(code) + " " + std::string(reason) + "\r\n";
  out += "Content-Type: " + std::string(content_type) + "\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  out += "Connection: close\r\n\r\n";
  if (!head_only) out += body;
  return out;
}

std::string plain(int code, std::string_view reason, std::string_view body) {
  return response(code, reason, "text/plain; charset=utf-8", body, false);
}

}  // namespace

Result<std::unique_ptr<HttpMetricsServer>> HttpMetricsServer::open(EventLoop& loop, const Address& listen,
                                                                   Render render) {
  MESHD_ASSERT(render != nullptr);
  std::unique_ptr<HttpMetricsServer> server(new HttpMetricsServer(loop, std::move(render)));
  server->listen_fd_ = UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!server->listen_fd_.valid()) return status_from_errno(errno, "socket(tcp)");
  const int one = 1;
  (void)::setsockopt(server->listen_fd_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(listen.ipv4);
  sa.sin_port = htons(listen.port);
  if (::bind(server->listen_fd_.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
    return status_from_errno(errno, "bind metrics_listen " + listen.to_string());
  }
  if (::listen(server->listen_fd_.get(), kHttpListenBacklog) != 0) {
    return status_from_errno(errno, "listen " + listen.to_string());
  }
  socklen_t len = sizeof(sa);
  if (::getsockname(server->listen_fd_.get(), reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
    return status_from_errno(errno, "getsockname");
  }
  server->local_ = Address{ntohl(sa.sin_addr.s_addr), ntohs(sa.sin_port)};
  HttpMetricsServer* self = server.get();
  if (Status s = loop.add_fd(server->listen_fd_.get(), EPOLLIN, [self](uint32_t) { self->on_accept(); }); !s) {
    return s;
  }
  return server;
}

HttpMetricsServer::~HttpMetricsServer() {
  for (auto& [fd, conn] : conns_) loop_.remove_fd(fd);
  conns_.clear();
  if (listen_fd_.valid()) loop_.remove_fd(listen_fd_.get());
}

std::string HttpMetricsServer::respond(std::string_view request_bytes) {
  HttpRequestHead head;
  switch (parse_http_request_head(request_bytes, head)) {
    case HttpParse::incomplete:
    case HttpParse::bad: return plain(400, "Bad Request", "bad request\n");
    case HttpParse::too_large: return plain(431, "Request Header Fields Too Large", "request head too large\n");
    case HttpParse::complete: break;
  }
  ++requests_served_;
  const bool head_only = head.method == "HEAD";
  if (head.method != "GET" && !head_only) {
    std::string r = plain(405, "Method Not Allowed", "only GET and HEAD\n");
    return r.insert(r.find("\r\n") + 2, "Allow: GET, HEAD\r\n");
  }
  if (head.path == "/metrics") {
    return response(200, "OK", "text/plain; version=0.0.4; charset=utf-8", render_(), head_only);
  }
  if (head.path == "/") return response(200, "OK", "text/plain; charset=utf-8", "meshd: see /metrics\n", head_only);
  return plain(404, "Not Found", "not found (try /metrics)\n");
}

void HttpMetricsServer::on_accept() {
  while (true) {
    UniqueFd fd(::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd.valid()) return;  // EAGAIN, or a transient error: level-triggered, we come back
    if (conns_.size() >= kHttpConnectionsMax) {
      auto oldest = conns_.begin();
      for (auto it = conns_.begin(); it != conns_.end(); ++it) {
        if (it->second->order < oldest->second->order) oldest = it;
      }
      ++evicted_;
      drop(oldest->first);
    }
    const int raw = fd.get();
    auto conn = std::make_unique<Conn>();
    conn->fd = std::move(fd);
    conn->order = next_order_++;
    if (!loop_.add_fd(raw, EPOLLIN, [this, raw](uint32_t events) { on_event(raw, events); })) continue;
    conns_[raw] = std::move(conn);
    MESHD_ASSERT(conns_.size() <= kHttpConnectionsMax);
  }
}

void HttpMetricsServer::on_event(int fd, uint32_t events) {
  auto it = conns_.find(fd);
  if (it == conns_.end()) return;
  Conn& c = *it->second;
  if ((events & (EPOLLERR | EPOLLHUP)) != 0 && (events & EPOLLIN) == 0) {
    drop(fd);
    return;
  }
  if (!c.responded && (events & EPOLLIN) != 0) {
    char chunk[kReadChunkBytes];
    const ssize_t n = ::read(fd, chunk, sizeof(chunk));
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
      drop(fd);
      return;
    }
    if (n > 0) c.in.append(chunk, static_cast<size_t>(n));
    HttpRequestHead head;
    const HttpParse p = parse_http_request_head(c.in, head);
    if (p == HttpParse::incomplete) return;
    c.out = respond(c.in);
    c.in.clear();
    c.responded = true;
  }
  if (c.responded) flush(c);
}

void HttpMetricsServer::flush(Conn& c) {
  const int fd = c.fd.get();
  while (!c.out.empty()) {
    const ssize_t n = ::send(fd, c.out.data(), c.out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      (void)loop_.modify_fd(fd, EPOLLOUT);
      return;
    }
    if (n < 0) break;  // the client went away
    c.out.erase(0, static_cast<size_t>(n));
  }
  ::shutdown(fd, SHUT_WR);
  drop(fd);
}

void HttpMetricsServer::drop(int fd) {
  loop_.remove_fd(fd);
  conns_.erase(fd);
}

}  // namespace meshd::io
