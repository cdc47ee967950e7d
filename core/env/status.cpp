#include "core/env/status.h"

namespace meshd {

std::string_view errc_name(Errc code) {
  switch (code) {
    case Errc::ok: return "ok";
    case Errc::io_error: return "io_error";
    case Errc::no_space: return "no_space";
    case Errc::not_found: return "not_found";
    case Errc::exists: return "exists";
    case Errc::short_read: return "short_read";
    case Errc::corrupt: return "corrupt";
    case Errc::invalid: return "invalid";
    case Errc::too_large: return "too_large";
    case Errc::timeout: return "timeout";
    case Errc::cancelled: return "cancelled";
    case Errc::closed: return "closed";
    case Errc::permission: return "permission";
    case Errc::unavailable: return "unavailable";
  }
  return "unknown";
}

std::string Status::to_string() const {
  std::string s(errc_name(code_));
  if (!message_.empty()) {
    s += ": ";
    s += message_;
  }
  return s;
}

}  // namespace meshd
