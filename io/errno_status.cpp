#include "io/errno_status.h"

#include <cerrno>
#include <cstring>
#include <string>

namespace meshd::io {

Errc errc_from_errno(int err) {
  switch (err) {
    case EIO: return Errc::io_error;
    case ENOSPC:
    case EDQUOT: return Errc::no_space;
    case ENOENT: return Errc::not_found;
    case EEXIST: return Errc::exists;
    case EACCES:
    case EPERM: return Errc::permission;
    case EAGAIN: return Errc::unavailable;  // EWOULDBLOCK == EAGAIN on Linux
    case ENOBUFS: return Errc::unavailable;
    case EMSGSIZE: return Errc::too_large;
    case ENAMETOOLONG:
    case EINVAL: return Errc::invalid;
    default: return Errc::io_error;
  }
}

Status status_from_errno(int err, std::string_view what) {
  std::string message(what);
  message += ": ";
  message += std::strerror(err);
  return Status(errc_from_errno(err), std::move(message));
}

}  // namespace meshd::io
