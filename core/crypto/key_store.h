// Key store: the node's identity key file, clone detection and --ephemeral.
//
// File `options.key_file` (default "node.key") in the node's Disk, 153 bytes:
//    0   8  magic "meshdkey"
//    8   1  format version (1)
//    9  32  Ed25519 seed (the secret)
//   41  32  Ed25519 public key (must match the seed)
//   73  16  NodeId (from the genesis key; unchanged by rotation)
//   89  32  host fingerprint hash: BLAKE2b-256(fingerprint), zero = none
//  121  32  BLAKE2b-256 of bytes 0..121 (detects bit rot / torn writes)
// Written only with write_file_atomic (temp, fsync, rename, sync_dir);
// files the Disk creates are 0600.
//
// load_or_create_identity():
//  * ephemeral: a fresh in-memory identity from `rng`; the Disk is never
//    touched (not even read).
//  * no key file: generate, write atomically, return created = true.
//  * key file readable by group/others (stat().private_to_owner false):
//    Errc::permission with a message naming the file and the fix; the key
//    may already be compromised, so it is never used.
//  * corrupt file (magic, version, size, checksum, seed/public mismatch):
//    Errc::corrupt. Never silently replaced: that would change the NodeId.
//  * fingerprint differs from the stored one (the data directory was
//    copied to another host): a "security_clone_suspected" event at error
//    level, then policy refuse -> Errc::permission; warn -> continue (the
//    event repeats at every start until resolved); allow -> continue and
//    store the new fingerprint. An empty caller fingerprint disables the check.
#pragma once

#include <string>

#include "core/crypto/identity.h"
#include "core/env/disk.h"
#include "core/env/log.h"

namespace meshd::crypto {

constexpr size_t kKeyFileBytes = 153;
constexpr size_t kHostFingerprintBytesMax = 1024;

enum class ClonePolicy : uint8_t { refuse, warn, allow };
std::string_view clone_policy_name(ClonePolicy policy);
// "refuse" | "warn" | "allow"; Errc::invalid otherwise.
Result<ClonePolicy> parse_clone_policy(std::string_view text);

struct KeyStoreOptions {
  std::string key_file = "node.key";
  bool ephemeral = false;
  ClonePolicy clone_policy = ClonePolicy::refuse;
  std::string host_fingerprint;  // io: /etc/machine-id or MAC; sim: its own
};

struct LoadedIdentity {
  Identity identity;
  bool created = false;
  bool clone_suspected = false;
};

Result<LoadedIdentity> load_or_create_identity(Disk& disk, RandomStream& rng,
                                               const KeyStoreOptions& options, Log& log);
// Atomically (re)writes the key file for `identity`.
Status write_identity(Disk& disk, const Identity& identity, const KeyStoreOptions& options);

// Key file codec, exposed for tests and fuzzing.
std::array<uint8_t, kKeyFileBytes> encode_key_file(const Identity& identity,
                                                   std::string_view host_fingerprint);
struct KeyFileContents {
  SigningSeed seed{};
  NodeId node_id;
  std::array<uint8_t, 32> fingerprint_hash{};
};
Result<KeyFileContents> decode_key_file(std::span<const uint8_t> bytes);
std::array<uint8_t, 32> host_fingerprint_hash(std::string_view host_fingerprint);

}  // namespace meshd::crypto
