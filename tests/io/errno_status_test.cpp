#include "io/errno_status.h"

#include <cerrno>

#include <catch2/catch.hpp>

#include "io/entropy.h"

using meshd::Errc;
using meshd::io::errc_from_errno;

TEST_CASE("errno maps to the Errc promised by core/env/disk.h", "[io]") {
  CHECK(errc_from_errno(EIO) == Errc::io_error);
  CHECK(errc_from_errno(ENOSPC) == Errc::no_space);
  CHECK(errc_from_errno(EDQUOT) == Errc::no_space);
  CHECK(errc_from_errno(ENOENT) == Errc::not_found);
  CHECK(errc_from_errno(EEXIST) == Errc::exists);
  CHECK(errc_from_errno(EACCES) == Errc::permission);
  CHECK(errc_from_errno(EPERM) == Errc::permission);
  CHECK(errc_from_errno(EAGAIN) == Errc::unavailable);
  CHECK(errc_from_errno(EMSGSIZE) == Errc::too_large);
  CHECK(errc_from_errno(EROFS) == Errc::io_error);  // anything else
  const meshd::Status s = meshd::io::status_from_errno(ENOSPC, "pwrite log.0");
  CHECK(s.code() == Errc::no_space);
  CHECK(s.message().find("pwrite log.0: ") == 0);
}

TEST_CASE("entropy_key: 32 fresh bytes per call", "[io]") {
  const meshd::Key32 a = meshd::io::entropy_key();
  const meshd::Key32 b = meshd::io::entropy_key();
  // Equal keys (or an all-zero key) have probability 2^-256.
  CHECK(a != b);
  CHECK(a != meshd::Key32{});
  std::array<uint8_t, 1000> big{};
  REQUIRE(meshd::io::read_entropy(big));
  size_t zeros = 0;
  for (uint8_t byte : big) zeros += byte == 0;
  CHECK(zeros < 30);  // expected ~4; a short read would leave hundreds
}
