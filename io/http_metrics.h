// HttpMetricsServer: meshd's Prometheus scrape endpoint — a tiny HTTP/1.x
// responder on the node's EventLoop (no thread, no library).
//
//  * GET /metrics (or HEAD): 200, Content-Type
//    "text/plain; version=0.0.4; charset=utf-8", the body render() returns.
//    GET /: 200 with a one-line pointer to /metrics. Other paths: 404;
//    other methods: 405; a malformed head: 400; a head over
//    kHttpRequestHeadBytesMax: 431. Every response closes the connection
//    (Connection: close): one request per connection, no keep-alive state.
//  * Limits: at most kHttpConnectionsMax open connections — a new one
//    beyond that evicts the oldest (a stalled client cannot lock the
//    endpoint out); a response is at most what render() returns (the
//    metrics text, bounded by the metrics registry).
//  * Binds a TCP IPv4 address (meshd's `metrics_listen`, default
//    127.0.0.1:9464); port 0 picks a free port (local_address() says which).
// Ownership: owns its sockets; borrows the EventLoop (must outlive it).
// Single-threaded, loop context only.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "core/env/address.h"
#include "core/env/status.h"
#include "io/fd.h"
#include "io/loop.h"

namespace meshd::io {

constexpr size_t kHttpConnectionsMax = 8;
constexpr int kHttpListenBacklog = 16;

class HttpMetricsServer {
 public:
  using Render = std::function<std::string()>;

  static Result<std::unique_ptr<HttpMetricsServer>> open(EventLoop& loop, const Address& listen, Render render);
  ~HttpMetricsServer();
  HttpMetricsServer(const HttpMetricsServer&) = delete;
  HttpMetricsServer& operator=(const HttpMetricsServer&) = delete;

  Address local_address() const { return local_; }
  uint64_t requests_served() const { return requests_served_; }
  uint64_t connections_evicted() const { return evicted_; }
  size_t connection_count() const { return conns_.size(); }

  // The full response for one request head (status line, headers, body);
  // exposed for tests.
  std::string respond(std::string_view request_bytes);

 private:
  struct Conn {
    UniqueFd fd;
    std::string in;
    std::string out;
    uint64_t order = 0;  // accept order: the oldest is evicted first
    bool responded = false;
  };
  HttpMetricsServer(EventLoop& loop, Render render) : loop_(loop), render_(std::move(render)) {}
  void on_accept();
  void on_event(int fd, uint32_t events);
  void flush(Conn& c);
  void drop(int fd);

  EventLoop& loop_;
  Render render_;
  UniqueFd listen_fd_;
  Address local_;
  std::map<int, std::unique_ptr<Conn>> conns_;
  uint64_t next_order_ = 1;
  uint64_t requests_served_ = 0;
  uint64_t evicted_ = 0;
};

}  // namespace meshd::io
