// The one translation unit that compiles Catch2's main (25-30 s; keep it alone).
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <malloc.h>

int main(int argc, char** argv) {
#ifdef __GLIBC__
  // As verify-model does: keep freed memory in the process (bound propagation allocates and
  // frees large matrices per iteration; mmap/munmap page faults otherwise dominate).
  mallopt(M_MMAP_THRESHOLD, 512 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
  return Catch::Session().run(argc, argv);
}
