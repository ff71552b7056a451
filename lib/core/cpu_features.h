// Which ISA build of a numeric core to run (cmake: nncert_isa_variants): the AVX2 + FMA build
// when this CPU has both, unless NNCERT_NO_AVX2 is set in the environment. Decided once per
// process, so results never change within a run.
#pragma once

namespace nncert {

bool use_avx2_fma();

}  // namespace nncert
