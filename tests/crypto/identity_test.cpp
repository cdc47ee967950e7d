// Identity, key file store (permissions, corruption, clone detection,
// ephemeral mode) and the rotation archive.
#include <catch2/catch.hpp>

#include "core/crypto/key_archive.h"
#include "core/crypto/key_store.h"
#include "tests/crypto/mem_disk.h"

using namespace meshd;
using namespace meshd::crypto;
using meshd::test::MemDisk;
using meshd::test::RecordingLog;

namespace {
RandomStream stream(uint8_t v) {
  Key32 k{};
  k.fill(v);
  return RandomStream(k);
}
}  // namespace

TEST_CASE("identity: deterministic from the random stream; NodeId and X25519 derive", "[crypto][identity]") {
  auto r1 = stream(1), r2 = stream(1), r3 = stream(2);
  const Identity a = Identity::generate(r1);
  const Identity b = Identity::generate(r2);
  const Identity c = Identity::generate(r3);
  CHECK(a.public_key() == b.public_key());
  CHECK(a.node_id() == b.node_id());
  CHECK(a.node_id() != c.node_id());
  CHECK(a.node_id() == node_id_from_public_key(a.public_key()));
  // The X25519 key a peer derives from our Ed25519 key matches ours.
  const auto peer_view = dh_public_from_signing_public(a.public_key());
  REQUIRE(peer_view);
  CHECK(*peer_view == a.dh_public());
  CHECK(a.dh_public() == dh_public_from_private(a.dh_private()));
  const std::vector<uint8_t> msg{1, 2, 3};
  const Signature sig = a.sign(msg);
  CHECK(verify_signature(a.public_key(), msg, sig));
  CHECK_FALSE(verify_signature(c.public_key(), msg, sig));
}

TEST_CASE("key store: create, reload, same identity", "[crypto][identity]") {
  MemDisk disk;
  RecordingLog log;
  auto rng = stream(3);
  KeyStoreOptions opt;
  opt.host_fingerprint = "host-a";
  auto first = load_or_create_identity(disk, rng, opt, log);
  REQUIRE(first);
  CHECK(first->created);
  REQUIRE(disk.files.count("node.key"));
  CHECK(disk.files["node.key"].size() == kKeyFileBytes);
  CHECK(first->identity.node_id() == node_id_from_public_key(first->identity.public_key()));
  CHECK(disk.files.count("node.key.tmp") == 0);  // written via temp + rename
  auto again = load_or_create_identity(disk, rng, opt, log);
  REQUIRE(again);
  CHECK_FALSE(again->created);
  CHECK(again->identity.node_id() == first->identity.node_id());
}

TEST_CASE("key store: world-readable key file is refused with a clear message", "[crypto][identity]") {
  MemDisk disk;
  RecordingLog log;
  auto rng = stream(3);
  KeyStoreOptions opt;
  REQUIRE(load_or_create_identity(disk, rng, opt, log));
  disk.exposed.insert("node.key");
  auto r = load_or_create_identity(disk, rng, opt, log);
  REQUIRE_FALSE(r);
  CHECK(r.code() == Errc::permission);
  CHECK(r.status().message().find("readable by group or others") != std::string::npos);
  CHECK(log.saw("security_key_file_exposed"));
}

TEST_CASE("key store: corrupt key file is an error, never silently replaced", "[crypto][identity]") {
  MemDisk disk;
  RecordingLog log;
  auto rng = stream(3);
  KeyStoreOptions opt;
  REQUIRE(load_or_create_identity(disk, rng, opt, log));
  for (size_t i : {size_t{0}, size_t{8}, size_t{20}, size_t{50}, size_t{80}, size_t{100}, size_t{140}}) {
    MemDisk copy = disk;
    copy.files["node.key"][i] ^= 0x04;
    auto r = load_or_create_identity(copy, rng, opt, log);
    CAPTURE(i);
    REQUIRE_FALSE(r);
    CHECK(r.code() == Errc::corrupt);
  }
  MemDisk shorter = disk;
  shorter.files["node.key"].pop_back();
  CHECK(load_or_create_identity(shorter, rng, opt, log).code() == Errc::corrupt);
  MemDisk longer = disk;
  longer.files["node.key"].push_back(0);
  CHECK(load_or_create_identity(longer, rng, opt, log).code() == Errc::corrupt);
}

TEST_CASE("key store: ephemeral mode never touches the disk", "[crypto][identity]") {
  MemDisk disk;
  RecordingLog log;
  auto rng = stream(4);
  KeyStoreOptions opt;
  opt.ephemeral = true;
  auto r = load_or_create_identity(disk, rng, opt, log);
  REQUIRE(r);
  CHECK(disk.files.empty());
}

TEST_CASE("key store: clone detection policies", "[crypto][identity]") {
  MemDisk disk;
  RecordingLog log;
  auto rng = stream(5);
  KeyStoreOptions opt;
  opt.host_fingerprint = "machine-1";
  auto original = load_or_create_identity(disk, rng, opt, log);
  REQUIRE(original);
  opt.host_fingerprint = "machine-2";  // the data directory was copied

  SECTION("refuse") {
    opt.clone_policy = ClonePolicy::refuse;
    auto r = load_or_create_identity(disk, rng, opt, log);
    REQUIRE_FALSE(r);
    CHECK(r.code() == Errc::permission);
    CHECK(r.status().message().find("another host") != std::string::npos);
    CHECK(log.saw("security_clone_suspected"));
  }
  SECTION("warn keeps warning on every start") {
    opt.clone_policy = ClonePolicy::warn;
    auto r = load_or_create_identity(disk, rng, opt, log);
    REQUIRE(r);
    CHECK(r->clone_suspected);
    CHECK(r->identity.node_id() == original->identity.node_id());
    CHECK(log.saw("security_clone_suspected"));
    auto again = load_or_create_identity(disk, rng, opt, log);
    REQUIRE(again);
    CHECK(again->clone_suspected);
  }
  SECTION("allow adopts the new host") {
    opt.clone_policy = ClonePolicy::allow;
    auto r = load_or_create_identity(disk, rng, opt, log);
    REQUIRE(r);
    CHECK(r->clone_suspected);
    auto again = load_or_create_identity(disk, rng, opt, log);
    REQUIRE(again);
    CHECK_FALSE(again->clone_suspected);
  }
  CHECK(parse_clone_policy("warn").value() == ClonePolicy::warn);
  CHECK_FALSE(parse_clone_policy("maybe"));
}

TEST_CASE("key archive: rotation keeps old keys for the grace, at most 8", "[crypto][identity]") {
  MemDisk disk;
  RecordingLog log;
  auto rng = stream(6);
  KeyStoreOptions opt;
  auto loaded = load_or_create_identity(disk, rng, opt, log);
  REQUIRE(loaded);
  const int64_t grace = 1000;
  KeyArchive archive(grace);
  Identity current = loaded->identity;
  const Identity first = current;
  std::vector<Identity> retired;
  for (int i = 0; i < 10; ++i) {
    auto next = rotate_identity(disk, rng, current, archive, /*now_wall_us=*/i, opt);
    REQUIRE(next);
    retired.push_back(current);
    current = *next;
  }
  CHECK(archive.entries().size() == kArchiveEntriesMax);
  CHECK(archive.find_by_dh_public(first.dh_public(), 10) == nullptr);  // evicted (9th and 10th retire)
  REQUIRE(archive.find_by_dh_public(retired.back().dh_public(), 10) != nullptr);
  CHECK(archive.find_by_dh_public(retired.back().dh_public(), 9 + grace) == nullptr);  // grace over

  // Key file now holds the newest identity; the archive round-trips via disk.
  auto reloaded = load_or_create_identity(disk, rng, opt, log);
  REQUIRE(reloaded);
  CHECK(reloaded->identity.public_key() == current.public_key());
  CHECK(reloaded->identity.node_id() == first.node_id());  // NodeId survives rotation
  CHECK(current.node_id() == first.node_id());
  auto from_disk = KeyArchive::load(disk, kArchiveFileDefault, grace);
  REQUIRE(from_disk);
  REQUIRE(from_disk->entries().size() == kArchiveEntriesMax);
  CHECK(from_disk->entries().back().identity.public_key() == retired.back().public_key());
  CHECK(from_disk->entries().back().retired_wall_us == 9);

  disk.files[std::string(kArchiveFileDefault)][12] ^= 1;
  CHECK(KeyArchive::load(disk, kArchiveFileDefault, grace).code() == Errc::corrupt);
  archive.prune(9 + grace);
  CHECK(archive.entries().empty());
}

TEST_CASE("key archive: a failed write leaves the in-memory state unchanged", "[crypto][identity]") {
  MemDisk disk;
  auto rng = stream(7);
  KeyStoreOptions opt;
  const Identity current = Identity::generate(rng);
  KeyArchive archive;
  disk.fail_renames = true;
  auto r = rotate_identity(disk, rng, current, archive, 0, opt);
  CHECK(r.code() == Errc::io_error);
  CHECK(archive.entries().empty());
  CHECK(disk.files.count(std::string(kArchiveFileDefault)) == 0);
  CHECK(disk.files.count("node.key") == 0);
}
