#include "io/build_info.h"

#ifndef MESHD_VERSION
#define MESHD_VERSION "0.0.0"
#endif
#ifndef MESHD_GIT_REVISION
#define MESHD_GIT_REVISION "unknown"
#endif
#ifndef MESHD_BUILD_TYPE
#define MESHD_BUILD_TYPE "unknown"
#endif

namespace meshd::io {

std::string_view build_version() { return MESHD_VERSION; }
std::string_view build_git_revision() { return MESHD_GIT_REVISION; }
std::string_view build_type() { return MESHD_BUILD_TYPE; }

std::string version_line(std::string_view tool) {
  return std::string(tool) + " " + std::string(build_version()) + " (git " + std::string(build_git_revision()) +
         ", " + std::string(build_type()) + ")";
}

bool argv_has(int argc, char** argv, std::string_view long_flag, std::string_view short_flag) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == long_flag || arg == short_flag) return true;
  }
  return false;
}

}  // namespace meshd::io
