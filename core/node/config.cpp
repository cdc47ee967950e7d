#include "core/node/config.h"

#include "core/env/disk.h"
#include "core/node/json_fields.h"

namespace meshd {

namespace {

Status parse_log_level(const JsonDoc& doc, const nlohmann::json& root, LogLevel& out) {
  std::string text = "info";
  if (Status s = doc.get_string(root, "", "log_level", text, false); !s) return s;
  for (LogLevel l : {LogLevel::debug, LogLevel::info, LogLevel::warn, LogLevel::error}) {
    if (log_level_name(l) == text) {
      out = l;
      return Status::ok();
    }
  }
  return doc.error("log_level", "expected one of debug, info, warn, error, got \"" + text + "\"");
}

Status parse_liveness(const JsonDoc& doc, const nlohmann::json& root, membership::LivenessConfig& out) {
  auto it = root.find("liveness");
  if (it == root.end()) return Status::ok();
  const std::string path = "liveness";
  if (Status s = doc.expect_object(*it, path); !s) return s;
  if (Status s = doc.reject_unknown(*it, path, {"ping_interval_ms", "ping_jitter_percent", "down_after_ms"}); !s) return s;
  if (Status s = doc.get_int(*it, path, "ping_interval_ms", out.ping_interval_ms, 10, 600'000, false); !s) return s;
  if (Status s = doc.get_int(*it, path, "ping_jitter_percent", out.ping_jitter_percent, 0, 50, false); !s) return s;
  if (Status s = doc.get_int(*it, path, "down_after_ms", out.down_after_ms, 10, 3'600'000, false); !s) return s;
  if (out.down_after_ms <= out.ping_interval_ms) {
    return doc.error("liveness.down_after_ms", "must be greater than ping_interval_ms");
  }
  return Status::ok();
}

Status parse_peers(const JsonDoc& doc, const NodeConfig& self, const nlohmann::json& root,
                   std::vector<membership::PeerSpec>& out) {
  auto it = root.find("peers");
  if (it == root.end()) return Status::ok();
  if (Status s = doc.expect_array(*it, "peers"); !s) return s;
  if (it->size() > kConfigPeersMax) return doc.error("peers", "too many peers (limit 1024)");
  for (size_t i = 0; i < it->size(); ++i) {
    const std::string path = JsonDoc::index("peers", i);
    const nlohmann::json& p = (*it)[i];
    if (Status s = doc.expect_object(p, path); !s) return s;
    if (Status s = doc.reject_unknown(p, path, {"name", "address"}); !s) return s;
    membership::PeerSpec spec;
    if (Status s = doc.get_string(p, path, "name", spec.name, true); !s) return s;
    if (Status s = doc.get_address(p, path, "address", spec.address, true); !s) return s;
    if (spec.address == self.listen) {
      return doc.error(JsonDoc::join(path, "address"), "is this node's own listen address");
    }
    for (const auto& other : out) {
      if (other.address == spec.address) return doc.error(JsonDoc::join(path, "address"), "duplicate peer address");
      if (other.name == spec.name) return doc.error(JsonDoc::join(path, "name"), "duplicate peer name");
    }
    out.push_back(std::move(spec));
  }
  return Status::ok();
}

}  // namespace

Result<NodeConfig> parse_node_config(std::string_view json_text) {
  auto doc = JsonDoc::parse(json_text, "config");
  if (!doc) return doc.status();
  const nlohmann::json& root = doc->root();
  if (Status s = doc->expect_object(root, ""); !s) return s;
  if (Status s = doc->reject_unknown(root, "", {"name", "listen", "data_dir", "control_socket",
                                               "log_level", "peers", "liveness"}); !s) {
    return s;
  }
  NodeConfig c;
  if (Status s = doc->get_string(root, "", "name", c.name, true); !s) return s;
  if (c.name.size() > kNodeNameBytesMax || !valid_file_name(c.name)) {
    return doc->error("name", "expected 1-64 characters of [A-Za-z0-9._-]");
  }
  if (Status s = doc->get_address(root, "", "listen", c.listen, true); !s) return s;
  if (Status s = doc->get_string(root, "", "data_dir", c.data_dir, true); !s) return s;
  if (c.data_dir.empty()) return doc->error("data_dir", "must not be empty");
  c.control_socket = c.data_dir + "/control.sock";
  if (Status s = doc->get_string(root, "", "control_socket", c.control_socket, false); !s) return s;
  if (Status s = parse_log_level(*doc, root, c.log_level); !s) return s;
  if (Status s = parse_peers(*doc, c, root, c.peers); !s) return s;
  if (Status s = parse_liveness(*doc, root, c.liveness); !s) return s;
  return c;
}

}  // namespace meshd
