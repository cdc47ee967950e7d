// Catch2 main for meshd_tests (kept in its own translation unit so the
// heavy Catch2 implementation compiles once).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
