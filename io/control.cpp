#include "io/control.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/env/assert.h"
#include "io/errno_status.h"

namespace meshd::io {

namespace {

nlohmann::json error_response(std::string_view error) {
  return nlohmann::json{{"ok", false}, {"error", std::string(error)}};
}

std::string dump_line(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<sockaddr_un> unix_address(const std::string& path) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.empty()) return Status(Errc::invalid, "empty control socket path");
  if (path.size() >= sizeof(sa.sun_path)) {
    return Status(Errc::too_large, "control socket path longer than " +
                                       std::to_string(sizeof(sa.sun_path) - 1) + " bytes");
  }
  std::memcpy(sa.sun_path, path.data(), path.size());
  return sa;
}

int64_t monotonic_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

// True when a server accepts connections at `sa` right now.
bool someone_listens(const sockaddr_un& sa) {
  UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!probe.valid()) return false;
  return ::connect(probe.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof(sa)) == 0;
}

// Removes a stale socket file at `path`; refuses live sockets and
// non-sockets.
Status clear_stale_socket(const std::string& path, const sockaddr_un& sa) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Status::ok();
    return status_from_errno(errno, "stat " + path);
  }
  if (!S_ISSOCK(st.st_mode)) {
    return Status(Errc::exists, "control socket path exists and is not a socket: " + path);
  }
  if (someone_listens(sa)) {
    return Status(Errc::exists, "control socket in use by a running process: " + path);
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return status_from_errno(errno, "unlink stale socket " + path);
  }
  return Status::ok();
}

}  // namespace

Result<std::unique_ptr<ControlServer>> ControlServer::open(EventLoop& loop, const std::string& path,
                                                           Handler handler) {
  MESHD_ASSERT(handler != nullptr);
  auto sa = unix_address(path);
  if (!sa) return sa.status();
  if (Status s = clear_stale_socket(path, *sa); !s) return s;

  std::unique_ptr<ControlServer> server(new ControlServer(loop, path, std::move(handler)));
  server->listen_fd_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!server->listen_fd_.valid()) return status_from_errno(errno, "socket(unix)");
  const int fd = server->listen_fd_.get();
  // The umask makes the file 0600 from the moment it exists (no window
  // where others could connect); chmod makes it so whatever umask did.
  const mode_t old_umask = ::umask(0177);
  const int bound = ::bind(fd, reinterpret_cast<const sockaddr*>(&*sa), sizeof(*sa));
  const int bind_errno = errno;
  ::umask(old_umask);
  if (bound != 0) return status_from_errno(bind_errno, "bind " + path);
  if (::chmod(path.c_str(), 0600) != 0) return status_from_errno(errno, "chmod " + path);
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return status_from_errno(errno, "stat " + path);
  server->socket_dev_ = st.st_dev;
  server->socket_ino_ = st.st_ino;
  if (::listen(fd, kListenBacklog) != 0) return status_from_errno(errno, "listen " + path);
  ControlServer* raw = server.get();
  if (Status s = loop.add_fd(fd, EPOLLIN, [raw](uint32_t) { raw->on_accept(); }); !s) return s;
  return server;
}

ControlServer::~ControlServer() {
  for (auto& [fd, client] : clients_) loop_.remove_fd(fd);
  clients_.clear();
  if (listen_fd_.valid()) {
    loop_.remove_fd(listen_fd_.get());
    // Unlink only our own socket file, never one a successor created.
    struct stat st {};
    if (::lstat(path_.c_str(), &st) == 0 && st.st_dev == socket_dev_ && st.st_ino == socket_ino_) {
      (void)::unlink(path_.c_str());
    }
  }
}

void ControlServer::on_accept() {
  // Bounded: at most backlog-many connections can be pending.
  for (int i = 0; i < kListenBacklog; ++i) {
    UniqueFd fd(::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd.valid()) return;  // EAGAIN (drained) or a transient error
    if (clients_.size() >= kControlClientsMax) {
      const std::string line = dump_line(error_response("too many control clients")) + "\n";
      (void)::send(fd.get(), line.data(), line.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      continue;  // fd closes here
    }
    const int raw_fd = fd.get();
    auto client = std::make_unique<Client>();
    client->fd = std::move(fd);
    if (!loop_.add_fd(raw_fd, EPOLLIN, [this, raw_fd](uint32_t ev) { on_client_event(raw_fd, ev); })) {
      continue;  // loop full: the client is closed
    }
    clients_.emplace(raw_fd, std::move(client));
  }
}

void ControlServer::on_client_event(int fd, uint32_t events) {
  auto it = clients_.find(fd);
  if (it == clients_.end()) return;
  Client& client = *it->second;
  if ((events & EPOLLERR) != 0) {
    drop(fd);
    return;
  }
  if ((events & (EPOLLIN | EPOLLHUP)) != 0 && !client.closing) read_from(client);
  if (clients_.count(fd) == 0) return;
  flush(client);
}

void ControlServer::read_from(Client& client) {
  char chunk[kReadChunkBytes];
  // Bounded per wakeup: at most one request's worth (plus a chunk), so one
  // chatty client cannot starve the node.
  size_t read_this_wakeup = 0;
  while (read_this_wakeup <= kControlRequestBytesMax && !client.closing) {
    const ssize_t n = ::read(client.fd.get(), chunk, sizeof(chunk));
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) client.closing = true;
      break;
    }
    if (n == 0) {
      // EOF: a final request without a newline still counts.
      if (!client.in.empty()) client.in.push_back('\n');
      client.closing = true;
      process_lines(client);
      break;
    }
    read_this_wakeup += static_cast<size_t>(n);
    client.in.append(chunk, static_cast<size_t>(n));
    process_lines(client);
  }
}

void ControlServer::process_lines(Client& client) {
  size_t start = 0;
  while (true) {
    const size_t newline = client.in.find('\n', start);
    if (newline == std::string::npos) break;
    if (newline - start > kControlRequestBytesMax) {
      client.in.clear();
      reply_error_and_close(client, "request too large");
      return;
    }
    const std::string_view line(client.in.data() + start, newline - start);
    if (!line.empty() && line != "\r") {
      client.out += handle_line(line);
      client.out += '\n';
    }
    start = newline + 1;
  }
  client.in.erase(0, start);
  if (client.in.size() > kControlRequestBytesMax) {
    client.in.clear();
    reply_error_and_close(client, "request too large");
  }
}

void ControlServer::reply_error_and_close(Client& client, std::string_view error) {
  client.out += dump_line(error_response(std::string(error) + " (limit " +
                                         std::to_string(kControlRequestBytesMax) + " bytes)"));
  client.out += '\n';
  client.closing = true;
}

std::string ControlServer::handle_line(std::string_view line) {
  ++requests_served_;
  nlohmann::json request = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (request.is_discarded()) return dump_line(error_response("request is not valid JSON"));
  if (!request.is_object() || !request.contains("cmd") || !request["cmd"].is_string()) {
    return dump_line(error_response("request must be an object with a string \"cmd\""));
  }
  try {
    return dump_line(handler_(request));
  } catch (const std::exception& e) {
    return dump_line(error_response(std::string("internal error: ") + e.what()));
  }
}

void ControlServer::flush(Client& client) {
  const int fd = client.fd.get();
  if (client.out.size() > kControlPendingOutputBytesMax) {
    drop(fd);  // the client does not read its responses
    return;
  }
  size_t written = 0;
  while (written < client.out.size()) {
    const ssize_t n = ::send(fd, client.out.data() + written, client.out.size() - written,
                             MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      drop(fd);  // EPIPE and friends: the client is gone
      return;
    }
    written += static_cast<size_t>(n);
  }
  client.out.erase(0, written);
  if (client.out.empty() && client.closing) {
    drop(fd);
    return;
  }
  uint32_t events = client.closing ? 0u : static_cast<uint32_t>(EPOLLIN);
  if (!client.out.empty()) events |= EPOLLOUT;
  (void)loop_.modify_fd(fd, events);
}

void ControlServer::drop(int fd) {
  loop_.remove_fd(fd);
  clients_.erase(fd);  // closes the socket
}

// --- client -------------------------------------------------------------------

Result<std::string> control_exchange(const std::string& socket_path, std::string_view line,
                                     int64_t timeout_ms) {
  auto sa = unix_address(socket_path);
  if (!sa) return sa.status();
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return status_from_errno(errno, "socket(unix)");
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&*sa), sizeof(*sa)) != 0) {
    const Status s = status_from_errno(errno, "connect " + socket_path);
    return Status(Errc::unavailable, s.message());
  }
  const int64_t deadline_ms = monotonic_ms() + timeout_ms;
  auto wait_for = [&](short events) -> Status {
    while (true) {
      const int64_t left_ms = deadline_ms - monotonic_ms();
      if (left_ms <= 0) return Status(Errc::timeout, "no response from " + socket_path);
      pollfd p{fd.get(), events, 0};
      const int r = ::poll(&p, 1, static_cast<int>(left_ms));
      if (r > 0) return Status::ok();
      if (r < 0 && errno != EINTR) return status_from_errno(errno, "poll");
    }
  };

  std::string request(line);
  request += '\n';
  size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = ::send(fd.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n >= 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    // The server may close early (e.g. an oversize request); its error
    // line is still readable, so stop sending and go read it.
    if (errno == EPIPE || errno == ECONNRESET) break;
    if (errno != EAGAIN) return status_from_errno(errno, "send " + socket_path);
    if (Status s = wait_for(POLLOUT); !s) return s;
  }

  std::string response;
  char chunk[4096];
  while (true) {
    const size_t newline = response.find('\n');
    if (newline != std::string::npos) {
      response.resize(newline);
      return response;
    }
    if (response.size() > kControlResponseBytesMax) {
      return Status(Errc::too_large, "control response over kControlResponseBytesMax");
    }
    const ssize_t n = ::read(fd.get(), chunk, sizeof(chunk));
    if (n > 0) {
      response.append(chunk, static_cast<size_t>(n));
      continue;
    }
    if (n == 0) return Status(Errc::closed, "control socket closed without a response");
    if (errno == EINTR) continue;
    if (errno == ECONNRESET) return Status(Errc::closed, "control connection reset");
    if (errno != EAGAIN) return status_from_errno(errno, "read " + socket_path);
    if (Status s = wait_for(POLLIN); !s) return s;
  }
}

Result<nlohmann::json> control_call(const std::string& socket_path, const nlohmann::json& request,
                                    int64_t timeout_ms) {
  auto line = control_exchange(socket_path, dump_line(request), timeout_ms);
  if (!line) return line.status();
  nlohmann::json response = nlohmann::json::parse(*line, nullptr, /*allow_exceptions=*/false);
  if (response.is_discarded()) return Status(Errc::corrupt, "control response is not JSON");
  return response;
}

}  // namespace meshd::io
