// `meshd key show|generate|rotate --config FILE`: the node's identity key
// without a hex editor. Output on stdout is one JSON object; problems are
// JSON log lines on stderr (the same schema as the node's).
//   show      node_id, public_key (64 hex: what peers pin), fingerprint, the
//             key file, and a ready-to-paste "peers" entry for other nodes.
//   generate  creates the key file if there is none (exit 1 if it exists:
//             a key is never replaced silently — that would change the NodeId).
//   rotate    a new key, same NodeId; the old one goes to the archive
//             (answers handshakes for security.archive_grace_s). If the node
//             runs, asks it over the control socket (Node::rotate_key: live
//             sessions continue, peers learn the new key from its signed
//             announcement); else rotates the files offline.
#pragma once

#include <string>

#include "io/json_log.h"

namespace meshd::tools {

int key_command(const std::string& verb, const std::string& config_path, io::JsonLog& log);

}  // namespace meshd::tools
