// Dense GEMM on Eigen maps of row-major buffers (the Eigen code is in gemm_core.cpp, built for the
// baseline ISA and for AVX2 + FMA, chosen at run time). Large products are cut into row (or column)
// blocks of C whose layout depends only on the problem size, never on the thread count, so the
// result is bit-for-bit the same whatever `threads` is; threads only share out the blocks.
#include "runtime/kernels/gemm.h"

#include <algorithm>
#include <type_traits>

#include "core/cpu_features.h"
#include "core/parallel.h"

namespace nncert::kernels {

namespace gemm_detail {
#define NNCERT_GEMM_DECLARE(V)       \
  namespace V {                      \
  void gemm_block_f32(bool,          \
                      bool,          \
                      int64_t,       \
                      int64_t,       \
                      int64_t,       \
                      float,         \
                      const float*,  \
                      const float*,  \
                      float,         \
                      float*,        \
                      int64_t,       \
                      int64_t,       \
                      int64_t,       \
                      int64_t);      \
  void gemm_block_f64(bool,          \
                      bool,          \
                      int64_t,       \
                      int64_t,       \
                      int64_t,       \
                      double,        \
                      const double*, \
                      const double*, \
                      double,        \
                      double*,       \
                      int64_t,       \
                      int64_t,       \
                      int64_t,       \
                      int64_t);      \
  }
NNCERT_GEMM_DECLARE(generic)
#ifdef NNCERT_GEMM_HAVE_AVX2
NNCERT_GEMM_DECLARE(avx2)
#endif
#undef NNCERT_GEMM_DECLARE
}  // namespace gemm_detail

namespace {

// Products below this many multiply-adds run as one Eigen call on the calling thread.
constexpr double kParallelWork = 1e6;
// Blocking: at least kMinBlock rows (columns) per block and at most kMaxBlocks blocks.
constexpr int64_t kMinBlock = 64;
constexpr int64_t kMaxBlocks = 32;

// One block on this CPU's build of the Eigen core (core/cpu_features.h).
template <class T>
void gemm_block(bool ta,
                bool tb,
                int64_t m,
                int64_t n,
                int64_t k,
                T alpha,
                const T* a,
                const T* b,
                T beta,
                T* c,
                int64_t r0,
                int64_t r1,
                int64_t c0,
                int64_t c1) {
  namespace gd = gemm_detail;
#ifdef NNCERT_GEMM_HAVE_AVX2
  if (use_avx2_fma()) {
    if constexpr (std::is_same_v<T, float>)
      return gd::avx2::gemm_block_f32(ta, tb, m, n, k, alpha, a, b, beta, c, r0, r1, c0, c1);
    else
      return gd::avx2::gemm_block_f64(ta, tb, m, n, k, alpha, a, b, beta, c, r0, r1, c0, c1);
  }
#endif
  if constexpr (std::is_same_v<T, float>)
    gd::generic::gemm_block_f32(ta, tb, m, n, k, alpha, a, b, beta, c, r0, r1, c0, c1);
  else
    gd::generic::gemm_block_f64(ta, tb, m, n, k, alpha, a, b, beta, c, r0, r1, c0, c1);
}

}  // namespace

template <class T>
void gemm(bool trans_a,
          bool trans_b,
          int64_t m,
          int64_t n,
          int64_t k,
          T alpha,
          const T* a,
          const T* b,
          T beta,
          T* c,
          int threads) {
  if (m <= 0 || n <= 0)
    return;
  const double work = static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  const bool split_rows = m / kMinBlock >= 2;
  const bool split_cols = !split_rows && n / kMinBlock >= 2;
  if (work < kParallelWork || (!split_rows && !split_cols)) {
    gemm_block(trans_a, trans_b, m, n, k, alpha, a, b, beta, c, 0, m, 0, n);
    return;
  }
  const int64_t extent = split_rows ? m : n;
  const int64_t nblocks = std::min(kMaxBlocks, extent / kMinBlock);
  const int64_t per = (extent + nblocks - 1) / nblocks;
  const int64_t count = (extent + per - 1) / per;
  parallel_for(count, threads, 1, [&](int64_t first, int64_t last) {
    for (int64_t blk = first; blk < last; ++blk) {
      const int64_t lo = blk * per;
      const int64_t hi = std::min(extent, lo + per);
      if (split_rows) {
        gemm_block(trans_a, trans_b, m, n, k, alpha, a, b, beta, c, lo, hi, 0, n);
      } else {
        gemm_block(trans_a, trans_b, m, n, k, alpha, a, b, beta, c, 0, m, lo, hi);
      }
    }
  });
}

template void gemm<float>(
    bool, bool, int64_t, int64_t, int64_t, float, const float*, const float*, float, float*, int);
template void gemm<double>(bool,
                           bool,
                           int64_t,
                           int64_t,
                           int64_t,
                           double,
                           const double*,
                           const double*,
                           double,
                           double*,
                           int);

}  // namespace nncert::kernels
