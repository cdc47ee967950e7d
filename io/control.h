// Control socket: the operator's door into a running meshd (meshctl).
//
// Server: a Unix-domain stream socket at a configured path, driven by an
// EventLoop (non-blocking accept/read/write, level-triggered).
//  * Protocol: each request is one JSON object on one line,
//    {"cmd": "<name>", ...}; each gets exactly one JSON response line, in
//    order. Errors are {"ok": false, "error": "<why>"}; successful
//    responses are whatever the handler returns (by convention an object
//    with "ok": true).
//  * The socket file is created mode 0600 (umask during bind, then chmod):
//    only the node's user may control it. A *stale* socket file (nothing
//    listening) is replaced; a live one or a non-socket file is Errc::exists.
//    The destructor unlinks the file if it is still ours.
//  * Limits: a request line over kControlRequestBytesMax gets an error
//    response and the connection is closed; at most kControlClientsMax
//    concurrent clients (extra ones get an error line and are closed); a
//    client whose unread responses exceed kControlPendingOutputBytesMax is
//    disconnected.
//  * The handler runs in loop context; exceptions it throws become error
//    responses (the node keeps running).
// Client: control_call() is a small blocking client (connect, send one
// line, read one line) used by meshctl and tests.
// Ownership: ControlServer owns its listening socket and client sockets;
// borrows the EventLoop, which must outlive it. Single-threaded.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "core/env/status.h"
#include "io/fd.h"
#include "io/loop.h"

namespace meshd::io {

constexpr size_t kControlRequestBytesMax = 64 * 1024;
constexpr size_t kControlClientsMax = 16;
constexpr size_t kControlPendingOutputBytesMax = 8 * 1024 * 1024;
// The client refuses responses beyond this (a status of a large mesh fits).
constexpr size_t kControlResponseBytesMax = 8 * 1024 * 1024;
constexpr int64_t kControlTimeoutMsDefault = 5000;

class ControlServer {
 public:
  using Handler = std::function<nlohmann::json(const nlohmann::json& request)>;

  static constexpr int kListenBacklog = 16;
  static constexpr size_t kReadChunkBytes = 4096;

  static Result<std::unique_ptr<ControlServer>> open(EventLoop& loop, const std::string& path,
                                                     Handler handler);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  const std::string& path() const { return path_; }
  size_t client_count() const { return clients_.size(); }
  uint64_t requests_served() const { return requests_served_; }

  // Parses and dispatches one request line; returns the response (without
  // newline). Exposed for tests; the socket path calls it per line.
  std::string handle_line(std::string_view line);

 private:
  struct Client {
    UniqueFd fd;
    std::string in;
    std::string out;
    bool closing = false;  // no more reads; close once `out` is flushed
  };

  ControlServer(EventLoop& loop, std::string path, Handler handler)
      : loop_(loop), path_(std::move(path)), handler_(std::move(handler)) {}
  void on_accept();
  void on_client_event(int fd, uint32_t events);
  void read_from(Client& client);
  void process_lines(Client& client);
  void reply_error_and_close(Client& client, std::string_view error);
  // Writes what the socket takes; re-arms EPOLLOUT when some remains.
  void flush(Client& client);
  void drop(int fd);

  EventLoop& loop_;
  std::string path_;
  Handler handler_;
  UniqueFd listen_fd_;
  dev_t socket_dev_ = 0;
  ino_t socket_ino_ = 0;
  std::map<int, std::unique_ptr<Client>> clients_;
  uint64_t requests_served_ = 0;
};

// Sends one raw line (a newline is appended) and returns the response line
// without its newline. Errc::unavailable if nothing listens at the path,
// Errc::timeout after timeout_ms, Errc::too_large for an over-long response,
// Errc::closed if the server closed without answering.
Result<std::string> control_exchange(const std::string& socket_path, std::string_view line,
                                     int64_t timeout_ms = kControlTimeoutMsDefault);
// control_exchange() with JSON on both sides; Errc::corrupt if the response
// is not JSON.
Result<nlohmann::json> control_call(const std::string& socket_path, const nlohmann::json& request,
                                    int64_t timeout_ms = kControlTimeoutMsDefault);

}  // namespace meshd::io
