// Runs Noise test vectors in the cacophony JSON format against our
// HandshakeState (both directions, every message including transport
// messages after Split, and the final handshake hash).
//
// Input is the file's text, not a path: core/ does no I/O (the CLI command
// and the tests read the file). Malformed JSON or a vector file without a
// "vectors" array is reported as a single failure; a vector with an
// unsupported protocol counts as failed with its reason. Vectors with a
// "fail": true field expect the handshake to fail somewhere. Bounded by
// kNoiseVectorsMax vectors per file.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace meshd::crypto {

constexpr size_t kNoiseVectorsMax = 100000;

struct NoiseVectorReport {
  size_t passed = 0;
  size_t failed = 0;
  std::vector<std::string> failures;  // "<index> <protocol_name>: <reason>"
};

NoiseVectorReport run_noise_vectors_json(std::string_view json_text);

}  // namespace meshd::crypto
