#include "core/crypto/key_store.h"

#include <sodium.h>

#include <cstring>

#include "core/crypto/blake2b_hkdf.h"
#include "core/env/assert.h"

namespace meshd::crypto {

namespace {

constexpr uint8_t kMagic[8] = {'m', 'e', 's', 'h', 'd', 'k', 'e', 'y'};
constexpr uint8_t kKeyFileVersion = 1;
constexpr size_t kSeedOffset = 9;
constexpr size_t kPublicOffset = 41;
constexpr size_t kNodeIdOffset = 73;
constexpr size_t kFingerprintOffset = 89;
constexpr size_t kChecksumOffset = 121;
static_assert(kChecksumOffset + 32 == kKeyFileBytes);

Hash32 checksum(std::span<const uint8_t> bytes) { return blake2b_256(bytes); }

}  // namespace

std::string_view clone_policy_name(ClonePolicy policy) {
  switch (policy) {
    case ClonePolicy::refuse: return "refuse";
    case ClonePolicy::warn: return "warn";
    case ClonePolicy::allow: return "allow";
  }
  return "unknown";
}

Result<ClonePolicy> parse_clone_policy(std::string_view text) {
  if (text == "refuse") return ClonePolicy::refuse;
  if (text == "warn") return ClonePolicy::warn;
  if (text == "allow") return ClonePolicy::allow;
  return Status(Errc::invalid, "clone policy must be refuse, warn or allow: " + std::string(text));
}

std::array<uint8_t, 32> host_fingerprint_hash(std::string_view host_fingerprint) {
  std::array<uint8_t, 32> out{};
  if (host_fingerprint.empty()) return out;  // zero = no fingerprint recorded
  return checksum(std::span(reinterpret_cast<const uint8_t*>(host_fingerprint.data()), host_fingerprint.size()));
}

std::array<uint8_t, kKeyFileBytes> encode_key_file(const Identity& identity,
                                                   std::string_view host_fingerprint) {
  std::array<uint8_t, kKeyFileBytes> out{};
  std::memcpy(out.data(), kMagic, sizeof(kMagic));
  out[8] = kKeyFileVersion;
  std::memcpy(out.data() + kSeedOffset, identity.seed().data(), kSigningSeedBytes);
  std::memcpy(out.data() + kPublicOffset, identity.public_key().data(), kSigningPublicBytes);
  std::memcpy(out.data() + kNodeIdOffset, identity.node_id().bytes.data(), kNodeIdBytes);
  const auto fp = host_fingerprint_hash(host_fingerprint);
  std::memcpy(out.data() + kFingerprintOffset, fp.data(), fp.size());
  const auto sum = checksum(std::span(out).first(kChecksumOffset));
  std::memcpy(out.data() + kChecksumOffset, sum.data(), sum.size());
  return out;
}

Result<KeyFileContents> decode_key_file(std::span<const uint8_t> bytes) {
  if (bytes.size() != kKeyFileBytes) return Status(Errc::corrupt, "key file has the wrong size");
  if (std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) return Status(Errc::corrupt, "key file: bad magic");
  if (bytes[8] != kKeyFileVersion) return Status(Errc::corrupt, "key file: unknown format version");
  const auto sum = checksum(bytes.first(kChecksumOffset));
  if (sodium_memcmp(sum.data(), bytes.data() + kChecksumOffset, sum.size()) != 0) {
    return Status(Errc::corrupt, "key file: checksum mismatch");
  }
  KeyFileContents c;
  std::memcpy(c.seed.data(), bytes.data() + kSeedOffset, kSigningSeedBytes);
  std::memcpy(c.fingerprint_hash.data(), bytes.data() + kFingerprintOffset, c.fingerprint_hash.size());
  std::memcpy(c.node_id.bytes.data(), bytes.data() + kNodeIdOffset, kNodeIdBytes);
  const Identity id = Identity::from_seed(c.seed, c.node_id);
  if (std::memcmp(id.public_key().data(), bytes.data() + kPublicOffset, kSigningPublicBytes) != 0) {
    return Status(Errc::corrupt, "key file: public key does not match the seed");
  }
  return c;
}

Status write_identity(Disk& disk, const Identity& identity, const KeyStoreOptions& options) {
  auto bytes = encode_key_file(identity, options.host_fingerprint);
  Status s = write_file_atomic(disk, options.key_file, bytes);
  sodium_memzero(bytes.data(), bytes.size());
  return s;
}

Result<LoadedIdentity> load_or_create_identity(Disk& disk, RandomStream& rng,
                                               const KeyStoreOptions& options, Log& log) {
  if (options.host_fingerprint.size() > kHostFingerprintBytesMax) {
    return Status(Errc::too_large, "host fingerprint longer than 1024 bytes");
  }
  if (options.ephemeral) {
    LoadedIdentity out{Identity::generate(rng), true, false};
    log.info("identity_ephemeral", {{"node_id", out.identity.node_id().to_hex()}});
    return out;
  }
  auto info = disk.stat(options.key_file);
  if (!info && info.code() != Errc::not_found) return info.status();
  if (!info) {
    LoadedIdentity out{Identity::generate(rng), true, false};
    if (Status s = write_identity(disk, out.identity, options); !s) return s;
    log.info("identity_created", {{"node_id", out.identity.node_id().to_hex()}, {"file", options.key_file}});
    return out;
  }
  if (!info->private_to_owner) {
    log.error("security_key_file_exposed", {{"file", options.key_file}});
    return Status(Errc::permission, "key file " + options.key_file +
                                        " is readable by group or others; refusing to use a key that "
                                        "may have been copied (chmod 600 it, or rotate the key)");
  }
  auto bytes = read_file(disk, options.key_file, kKeyFileBytes);
  if (!bytes) {
    if (bytes.code() == Errc::too_large) return Status(Errc::corrupt, "key file has the wrong size");
    return bytes.status();
  }
  auto contents = decode_key_file(*bytes);
  sodium_memzero(bytes->data(), bytes->size());
  if (!contents) return Status(contents.code(), options.key_file + ": " + contents.status().message());
  LoadedIdentity out{Identity::from_seed(contents->seed, contents->node_id), false, false};
  sodium_memzero(contents->seed.data(), contents->seed.size());
  const auto expected = host_fingerprint_hash(options.host_fingerprint);
  const std::array<uint8_t, 32> none{};
  if (!options.host_fingerprint.empty() && contents->fingerprint_hash != none &&
      contents->fingerprint_hash != expected) {
    out.clone_suspected = true;
    log.error("security_clone_suspected",
              {{"node_id", out.identity.node_id().to_hex()},
               {"file", options.key_file},
               {"policy", std::string(clone_policy_name(options.clone_policy))}});
    if (options.clone_policy == ClonePolicy::refuse) {
      return Status(Errc::permission,
                    "key file " + options.key_file +
                        " was written on another host (fingerprint mismatch): refusing to run a clone "
                        "of node " + out.identity.node_id().to_hex() +
                        "; set clone_policy to warn or allow if the move was deliberate");
    }
  }
  const bool record = !options.host_fingerprint.empty() &&
                      (contents->fingerprint_hash == none ||
                       (out.clone_suspected && options.clone_policy == ClonePolicy::allow));
  if (record) {
    if (Status s = write_identity(disk, out.identity, options); !s) return s;
  }
  return out;
}

}  // namespace meshd::crypto
