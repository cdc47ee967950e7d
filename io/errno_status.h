// errno -> Status mapping shared by every io/ backend.
//
// The mapping is the one core/env/disk.h promises: EIO -> io_error,
// ENOSPC/EDQUOT -> no_space, ENOENT -> not_found, EEXIST -> exists,
// EACCES/EPERM -> permission, EAGAIN -> unavailable, EMSGSIZE -> too_large,
// ENAMETOOLONG/EINVAL -> invalid. Anything else is io_error. The message is
// "<what>: <strerror>" so logs say which operation failed.
#pragma once

#include <string_view>

#include "core/env/status.h"

namespace meshd::io {

Errc errc_from_errno(int err);
Status status_from_errno(int err, std::string_view what);

}  // namespace meshd::io
