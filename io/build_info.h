// Build identity for `--version` and the meshd_build_info metric: the
// project version (CMake's project(VERSION)), the git revision the build
// was configured from ("unknown" outside a git checkout; "-dirty" when the
// tree had local changes) and the CMake build type. Fixed at configure
// time (CMakeLists.txt sets them on io/build_info.cpp only, so a new
// revision recompiles one file).
#pragma once

#include <string>
#include <string_view>

namespace meshd::io {

std::string_view build_version();
std::string_view build_git_revision();
std::string_view build_type();
// "<tool> <version> (git <revision>, <build type>)" — every binary's --version line.
std::string version_line(std::string_view tool);
// The CLI convention every binary follows (meshd, meshctl, meshsim,
// meshlog): --version/-V anywhere prints version_line() on stdout, exit 0;
// --help/-h anywhere (also after a verb) prints usage on stdout, exit 0.
// True if argv[1..] holds `long_flag` or `short_flag`.
bool argv_has(int argc, char** argv, std::string_view long_flag, std::string_view short_flag);

}  // namespace meshd::io
