// `meshsim noise-vectors FILE`: runs a cacophony-format Noise vector file
// through meshd's HandshakeState. Prints one line per failed vector, then
// "N passed, M failed". Exit status: 0 all passed, 1 any failed, 2 usage or
// unreadable file. The lead's main.cpp dispatches here with argv[0] being
// the subcommand name ("noise-vectors").
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

#include "core/crypto/noise_vectors.h"

namespace {
constexpr size_t kVectorFileBytesMax = 64 * 1024 * 1024;
}  // namespace

int cmd_noise_vectors(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: meshsim noise-vectors FILE\n");
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "noise-vectors: cannot open %s\n", argv[1]);
    return 2;
  }
  std::string text;
  char buffer[65536];
  while (in.read(buffer, sizeof(buffer)) || in.gcount() > 0) {
    text.append(buffer, static_cast<size_t>(in.gcount()));
    if (text.size() > kVectorFileBytesMax) {
      std::fprintf(stderr, "noise-vectors: %s is larger than %zu bytes\n", argv[1], kVectorFileBytesMax);
      return 2;
    }
  }
  const auto report = meshd::crypto::run_noise_vectors_json(text);
  for (const auto& line : report.failures) std::printf("FAIL %s\n", line.c_str());
  std::printf("%zu passed, %zu failed\n", report.passed, report.failed);
  return report.failed == 0 && report.passed > 0 ? 0 : 1;
}
