#include "core/cpu_features.h"

#include <cstdlib>

namespace nncert {

bool use_avx2_fma() {
#if defined(__x86_64__) || defined(_M_X64)
  static const bool yes = [] {
    __builtin_cpu_init();
    return std::getenv("NNCERT_NO_AVX2") == nullptr && __builtin_cpu_supports("avx2") &&
           __builtin_cpu_supports("fma");
  }();
  return yes;
#else
  return false;
#endif
}

}  // namespace nncert
