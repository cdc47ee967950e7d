// sd_notify without libsystemd: the service manager's readiness protocol is
// one datagram ("READY=1", "RELOADING=1", "STOPPING=1", "STATUS=...") on
// the AF_UNIX socket named by $NOTIFY_SOCKET (a path, or '@' for the
// abstract namespace). meshd's unit is Type=notify (packaging/meshd.service):
// READY=1 once the node listens and the control socket is up, so units
// ordered After=meshd.service start against a node that answers.
// Outside systemd ($NOTIFY_SOCKET unset) every call is a no-op returning
// false. Never blocks (MSG_DONTWAIT); failures are returned, not fatal.
#pragma once

#include <string_view>

namespace meshd::io {

bool sd_notify_state(std::string_view state);

}  // namespace meshd::io
