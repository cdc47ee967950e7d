#include "io/posix_disk.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <string>
#include <vector>

#include "tests/io/io_test_util.h"

using meshd::Errc;
using meshd::OpenMode;
using meshd::io::PosixDisk;
using meshd::io::test::TempDir;

namespace {

std::vector<uint8_t> bytes_of(std::string_view s) { return {s.begin(), s.end()}; }

mode_t mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

}  // namespace

TEST_CASE("PosixDisk: creates its directory 0700", "[io][disk]") {
  TempDir tmp;
  const std::string dir = tmp.sub("data");
  auto disk = PosixDisk::open(dir);
  REQUIRE(disk);
  CHECK(mode_of(dir) == 0700);
  // Opening an existing directory works too.
  CHECK(PosixDisk::open(dir));
  // A missing parent is reported, not created.
  CHECK(PosixDisk::open(tmp.sub("no/such/dir")).code() == Errc::not_found);
}

TEST_CASE("PosixDisk: write, read, size, truncate, fsync", "[io][disk]") {
  TempDir tmp;
  auto disk = PosixDisk::open(tmp.path()).value();
  auto file = disk->open("log.0", OpenMode::create).value();
  const auto hello = bytes_of("hello, durable world");
  REQUIRE(file->pwrite(0, hello));
  REQUIRE(file->pwrite(100, bytes_of("tail")));  // extends with a hole
  CHECK(file->size().value() == 104);
  REQUIRE(file->fsync());

  std::vector<uint8_t> out(hello.size());
  CHECK(file->pread(0, out).value() == hello.size());
  CHECK(out == hello);
  // Reading past the end returns fewer bytes, not an error.
  std::vector<uint8_t> tail(10);
  CHECK(file->pread(100, tail).value() == 4);
  CHECK(std::string(tail.begin(), tail.begin() + 4) == "tail");
  std::vector<uint8_t> hole(3, 0xff);
  CHECK(file->pread(50, hole).value() == 3);
  CHECK(hole == std::vector<uint8_t>(3, 0));

  REQUIRE(file->truncate(5));
  CHECK(file->size().value() == 5);
  // The bytes are really in the file system, under the given name.
  std::ifstream in(tmp.sub("log.0"), std::ios::binary);
  std::string contents((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(contents == "hello");
}

TEST_CASE("PosixDisk: files are created 0600 and stat reports privacy", "[io][disk]") {
  TempDir tmp;
  auto disk = PosixDisk::open(tmp.path()).value();
  REQUIRE(disk->open("key", OpenMode::create_exclusive));
  CHECK(mode_of(tmp.sub("key")) == 0600);
  auto info = disk->stat("key").value();
  CHECK(info.private_to_owner);
  CHECK(info.size_bytes == 0);
  REQUIRE(::chmod(tmp.sub("key").c_str(), 0640) == 0);
  CHECK_FALSE(disk->stat("key").value().private_to_owner);
  CHECK(disk->stat("absent").code() == Errc::not_found);
}

TEST_CASE("PosixDisk: open modes", "[io][disk]") {
  TempDir tmp;
  auto disk = PosixDisk::open(tmp.path()).value();
  CHECK(disk->open("f", OpenMode::existing).code() == Errc::not_found);
  REQUIRE(disk->open("f", OpenMode::create_exclusive));
  CHECK(disk->open("f", OpenMode::create_exclusive).code() == Errc::exists);
  CHECK(disk->open("f", OpenMode::create));
  CHECK(disk->open("f", OpenMode::existing));
}

TEST_CASE("PosixDisk: rename, unlink, list, sync_dir", "[io][disk]") {
  TempDir tmp;
  auto disk = PosixDisk::open(tmp.path()).value();
  for (const char* name : {"b", "a", "C", "a.tmp", "_x"}) REQUIRE(disk->open(name, OpenMode::create));
  // Entries that are not Disk files are not listed.
  REQUIRE(::mkdir(tmp.sub("subdir").c_str(), 0700) == 0);
  REQUIRE(::symlink("a", tmp.sub("link").c_str()) == 0);
  REQUIRE(::mkfifo(tmp.sub("fifo").c_str(), 0600) == 0);
  { std::ofstream(tmp.sub("bad name")) << "x"; }
  CHECK(disk->list().value() == std::vector<std::string>{"C", "_x", "a", "a.tmp", "b"});

  REQUIRE(disk->rename("a.tmp", "a"));  // replaces the target
  REQUIRE(disk->unlink("b"));
  REQUIRE(disk->sync_dir());
  CHECK(disk->list().value() == std::vector<std::string>{"C", "_x", "a"});
  CHECK(disk->rename("missing", "z").code() == Errc::not_found);
  CHECK(disk->unlink("b").code() == Errc::not_found);
}

TEST_CASE("PosixDisk: write_file_atomic and read_file over the real backend", "[io][disk]") {
  TempDir tmp;
  auto disk = PosixDisk::open(tmp.path()).value();
  REQUIRE(meshd::write_file_atomic(*disk, "state", bytes_of("v1")));
  REQUIRE(meshd::write_file_atomic(*disk, "state", bytes_of("version 2")));
  CHECK(meshd::read_file(*disk, "state", 100).value() == bytes_of("version 2"));
  CHECK(meshd::read_file(*disk, "state", 3).code() == Errc::too_large);
  CHECK(disk->list().value() == std::vector<std::string>{"state"});
  CHECK(mode_of(tmp.sub("state")) == 0600);
}

TEST_CASE("PosixDisk: invalid names are rejected before touching the file system", "[io][disk]") {
  TempDir tmp;
  auto disk = PosixDisk::open(tmp.path()).value();
  for (const std::string& bad :
       {std::string(""), std::string("."), std::string(".."), std::string("../escape"),
        std::string("a/b"), std::string("sp ace"), std::string(meshd::kFileNameBytesMax + 1, 'x')}) {
    CHECK(disk->open(bad, OpenMode::create).code() == Errc::invalid);
    CHECK(disk->stat(bad).code() == Errc::invalid);
    CHECK(disk->unlink(bad).code() == Errc::invalid);
    CHECK(disk->rename(bad, "ok").code() == Errc::invalid);
    CHECK(disk->rename("ok", bad).code() == Errc::invalid);
  }
  CHECK(disk->list().value().empty());
}

TEST_CASE("PosixDisk: permission errors map to Errc::permission", "[io][disk]") {
  if (::geteuid() == 0) {
    SUCCEED("running as root: permission bits are not enforced");
    return;
  }
  TempDir tmp;
  auto disk = PosixDisk::open(tmp.path()).value();
  REQUIRE(disk->open("locked", OpenMode::create));
  REQUIRE(::chmod(tmp.sub("locked").c_str(), 0000) == 0);
  CHECK(disk->open("locked", OpenMode::existing).code() == Errc::permission);
}
