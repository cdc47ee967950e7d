#include "tools/meshd/key_cmd.h"

#include <sys/stat.h>

#include <cstdio>

#include "core/crypto/key_archive.h"
#include "core/crypto/key_store.h"
#include "core/env/random.h"
#include "io/clock.h"
#include "io/control.h"
#include "io/entropy.h"
#include "io/key_info.h"
#include "io/posix_disk.h"
#include "tools/meshd/config_load.h"
#include "tools/meshd/exit_codes.h"

namespace meshd::tools {

namespace {

nlohmann::json describe(const crypto::Identity& id, const NodeConfig& config) {
  const std::string pk = io::hex_of(id.public_key());
  return {{"node_id", id.node_id().to_hex()},
          {"public_key", pk},
          {"fingerprint", io::key_fingerprint(id.public_key())},
          {"key_file", config.data_dir + "/" + config.security.key_file},
          {"pin", {{"name", config.name}, {"address", config.listen.to_string()}, {"public_key", pk}}}};
}

void print(const nlohmann::json& j) { std::printf("%s\n", j.dump(2).c_str()); }

}  // namespace

int key_command(const std::string& verb, const std::string& config_path, io::JsonLog& log) {
  LoadedConfig loaded;
  ConfigError error;
  std::vector<std::string> warnings;
  if (!load_config(config_path, loaded, error, warnings)) {
    log.error("config_invalid", error.fields());
    return kExitConfigError;
  }
  const NodeConfig& config = loaded.config;
  log.set_node(config.name);
  if (config.security.plaintext || config.security.ephemeral) {
    log.error("key_unavailable", {{"why", "the config has no persistent key (plaintext or ephemeral identity)"}});
    return kExitConfigError;
  }
  auto disk = io::PosixDisk::open(config.data_dir);
  if (!disk) {
    log.error("data_dir_unusable", {{"data_dir", config.data_dir}, {"error", disk.status().to_string()}});
    return kExitRuntimeError;
  }
  crypto::KeyStoreOptions options;
  options.key_file = config.security.key_file;
  options.clone_policy = config.security.clone_policy;
  options.host_fingerprint = config.security.host_fingerprint;
  auto exists = (*disk)->stat(options.key_file);
  if (!exists && exists.code() != Errc::not_found) {
    log.error("key_file_unreadable", {{"file", options.key_file}, {"error", exists.status().to_string()}});
    return kExitRuntimeError;
  }
  if (verb == "generate" && exists) {
    log.error("key_exists", {{"file", config.data_dir + "/" + options.key_file},
                             {"why", "a key is never replaced (the NodeId would change); use `meshd key rotate`"}});
    return kExitRuntimeError;
  }
  if ((verb == "show" || verb == "rotate") && !exists) {
    log.error("key_missing", {{"file", config.data_dir + "/" + options.key_file},
                              {"why", "no key yet: `meshd key generate` or start the node once"}});
    return kExitRuntimeError;
  }
  if (verb == "rotate") {
    // A running node rotates itself (it holds the key in memory and tells
    // its peers); the files are only ours when it is stopped.
    auto live = io::control_call(config.control_socket, {{"cmd", "rotate_key"}}, io::kControlTimeoutMsDefault);
    if (live) {
      if (live->contains("error")) {
        log.error("key_rotation_failed", {{"error", (*live)["error"]}});
        return kExitRuntimeError;
      }
      print(*live);
      return kExitOk;
    }
  }
  if (verb == "rotate" && exists && !exists->private_to_owner) {
    // The remedy meshd names for an exposed key file ("chmod 600 it, or
    // rotate the key"): rotating makes the exposed key the archived one,
    // which stops being accepted after security.archive_grace_s.
    const std::string path = config.data_dir + "/" + options.key_file;
    if (::chmod(path.c_str(), 0600) != 0) {
      log.error("key_file_unreadable", {{"file", path}, {"error", "chmod 600 failed"}});
      return kExitRuntimeError;
    }
    log.warn("key_file_permissions_fixed", {{"file", path}, {"mode", "0600"},
                                            {"why", "the key was readable by others: rotating it"}});
  }
  Random random(io::entropy_key());
  RandomStream rng = random.stream("crypto", "identity");
  auto id = crypto::load_or_create_identity(**disk, rng, options, log);
  if (!id) {
    log.error("identity_refused", {{"error", id.status().to_string()}});
    return kExitRuntimeError;
  }
  if (verb == "rotate") {
    io::RealClock clock;
    const int64_t grace_us = config.security.archive_grace_s * kMicrosPerSecond;
    auto archive = crypto::KeyArchive::load(**disk, crypto::kArchiveFileDefault, grace_us);
    if (!archive) {
      log.error("key_archive_unreadable", {{"error", archive.status().to_string()}});
      return kExitRuntimeError;
    }
    RandomStream rotation = random.stream("crypto", "rotation");
    auto rotated = crypto::rotate_identity(**disk, rotation, id->identity, *archive, clock.wall_us(), options);
    if (!rotated) {
      log.error("key_rotation_failed", {{"error", rotated.status().to_string()}});
      return kExitRuntimeError;
    }
    log.info("key_rotated", {{"node_id", rotated->node_id().to_hex()}, {"archived", archive->entries().size()},
                             {"offline", true}});
    nlohmann::json out = describe(*rotated, config);
    out["ok"] = true;
    out["previous_public_key"] = io::hex_of(id->identity.public_key());
    out["archived"] = archive->entries().size();
    print(out);
    return kExitOk;
  }
  print(describe(id->identity, config));
  return kExitOk;
}

}  // namespace meshd::tools
