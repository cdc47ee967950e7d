// Runs every cacophony vector (tests/data/noise) through HandshakeState.
#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>
#include <string>

#include "core/crypto/noise_vectors.h"

namespace {
std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}
}  // namespace

TEST_CASE("noise: all 59 cacophony 25519_ChaChaPoly_BLAKE2b vectors pass", "[crypto][noise]") {
  const std::string text =
      read_text(std::string(MESHD_SOURCE_DIR) + "/tests/data/noise/cacophony_25519_ChaChaPoly_BLAKE2b.json");
  const auto report = meshd::crypto::run_noise_vectors_json(text);
  for (const auto& f : report.failures) UNSCOPED_INFO(f);
  CHECK(report.failed == 0);
  CHECK(report.passed == 59);
}

TEST_CASE("noise: a corrupted vector is reported as a failure", "[crypto][noise]") {
  std::string text =
      read_text(std::string(MESHD_SOURCE_DIR) + "/tests/data/noise/cacophony_25519_ChaChaPoly_BLAKE2b.json");
  // Flip one hex digit of the first handshake_hash: exactly one vector must fail.
  const size_t at = text.find("\"handshake_hash\"");
  REQUIRE(at != std::string::npos);
  const size_t digit = text.find('"', text.find(':', at)) + 1;
  text[digit] = text[digit] == '0' ? '1' : '0';
  const auto report = meshd::crypto::run_noise_vectors_json(text);
  CHECK(report.failed == 1);
  CHECK(report.passed == 58);
}

TEST_CASE("noise: malformed vector files fail cleanly", "[crypto][noise]") {
  CHECK(meshd::crypto::run_noise_vectors_json("not json").failed == 1);
  CHECK(meshd::crypto::run_noise_vectors_json("{\"vectors\": 3}").failed == 1);
  const auto r = meshd::crypto::run_noise_vectors_json(
      R"({"vectors":[{"protocol_name":"Noise_ZZ_25519_AESGCM_SHA256","messages":[]}]})");
  CHECK(r.failed == 1);
  CHECK(r.passed == 0);
}
