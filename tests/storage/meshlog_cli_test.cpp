// meshlog, the real binary, on a real temporary directory: dump, verify,
// repair (with and without the confirmation flag) and bench, including a
// segment corrupted on disk.
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/storage/append_log.h"
#include "io/posix_disk.h"
#include "tests/meshsim/meshsim_exec.h"
#include "tests/storage/storage_test_util.h"

using namespace meshd;
using namespace meshd::storage;

namespace {

using meshd::test::Exec;

// meshlog with stderr folded into the captured output.
Exec meshlog(const std::string& args) {
  return meshd::test::run_command(std::string(MESHD_BINARY_DIR) + "/tools/meshlog " + args + " 2>&1");
}

struct TempDir {
  std::string path;
  TempDir() {
    path = std::filesystem::temp_directory_path() / ("meshlog-test-" + std::to_string(::getpid()));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

// Three segments of 40 records of 100 bytes, synced in batches of 10.
void make_log(const std::string& dir) {
  auto disk = io::PosixDisk::open(dir);
  REQUIRE(disk);
  LogOptions o;
  o.segment_bytes = 4096;
  auto log = AppendLog::open(**disk, nullptr, nullptr, o);
  REQUIRE(log);
  for (uint64_t i = 1; i <= 100; ++i) {
    REQUIRE((*log)->append(meshd::storage::test::payload_for(i, 100)));
    if (i % 10 == 0) REQUIRE((*log)->sync());
  }
}

void flip(const std::string& file, uint64_t offset) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  REQUIRE(f);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x10);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(&c, 1);
}

}  // namespace

TEST_CASE("meshlog: dump, verify, corrupt, verify, repair, reopen", "[storage][meshlog]") {
  TempDir dir;
  make_log(dir.path);
  Exec v = meshlog("verify " + dir.path);
  INFO(v.out);
  CHECK(v.code == 0);
  CHECK(v.has("CLEAN"));
  CHECK(v.has("records [1, 101)"));

  Exec d = meshlog("dump " + dir.path + " --from 98 --json");
  CHECK(d.code == 0);
  CHECK(d.has("{\"seq\":98,\"bytes\":100,"));
  CHECK(d.has("{\"seq\":100,"));
  CHECK_FALSE(d.has("\"seq\":97,"));

  // Corrupt a payload byte of the second segment's third record.
  const std::string seg = dir.path + "/" + segment_name("log", 33);
  REQUIRE(std::filesystem::exists(seg));
  flip(seg, 32 + 2 * 124 + 50);
  v = meshlog("verify " + dir.path);
  INFO(v.out);
  CHECK(v.code == 1);
  CHECK(v.has("PROBLEM segment=log-00000000000000000033.seg offset=280 seq=35"));
  CHECK(v.has("CORRUPT"));
  CHECK(v.has("repair"));
  d = meshlog("dump " + dir.path);
  CHECK(d.code == 1);
  CHECK(d.has("seq=34 "));
  CHECK_FALSE(d.has("seq=35 "));  // never served

  Exec r = meshlog("repair " + dir.path);
  CHECK(r.code == 2);  // needs the confirmation flag
  CHECK(meshlog("verify " + dir.path).code == 1);  // nothing changed
  r = meshlog("repair " + dir.path + " --truncate-after-corruption");
  INFO(r.out);
  CHECK(r.code == 0);
  CHECK(r.has("truncated log-00000000000000000033.seg at offset 280"));
  CHECK(r.has("deleted log-00000000000000000065.seg"));
  v = meshlog("verify " + dir.path);
  CHECK(v.code == 0);
  CHECK(v.has("records [1, 35)"));
  auto disk = io::PosixDisk::open(dir.path);
  REQUIRE(disk);
  auto log = AppendLog::open(**disk, nullptr, nullptr, LogOptions{});
  REQUIRE(log);
  CHECK((*log)->next_seq() == 35);
  CHECK(!(*log)->corruption());
}

TEST_CASE("meshlog: usage errors and bench", "[storage][meshlog]") {
  TempDir dir;
  CHECK(meshlog("").code == 2);
  CHECK(meshlog("frobnicate " + dir.path).code == 2);
  CHECK(meshlog("verify /nonexistent/meshlog-dir").code == 1);
  CHECK(meshlog("bench " + dir.path + " --sync sometimes").code == 2);
  Exec b = meshlog("bench " + dir.path + "/b --records 2000 --size 64 --sync group");
  INFO(b.out);
  CHECK(b.code == 0);
  CHECK(b.has("appends/s"));
  CHECK(meshlog("verify " + dir.path + "/b").has("records [1, 2001)"));
}
