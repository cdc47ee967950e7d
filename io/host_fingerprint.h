// Host fingerprint for clone detection (docs/crypto.md, "Clone detection").
//
// /etc/machine-id when present and non-empty, else the MAC address of the
// first (by name) network interface backed by a physical device
// (/sys/class/net/<if>/device exists), so virtual interfaces (bridges,
// veth, docker) that come and go never change the fingerprint. Returns an
// empty string when neither exists: the key store then skips the check
// (and meshd logs a warning).
#pragma once

#include <string>

namespace meshd::io {

std::string host_fingerprint();

}  // namespace meshd::io
