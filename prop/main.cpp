// Catch2 main for meshd_props (rapidcheck properties run as Catch2 tests).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
