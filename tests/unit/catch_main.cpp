// The one translation unit that compiles Catch2's main (25-30 s; keep it alone).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
