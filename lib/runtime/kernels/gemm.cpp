// Dense GEMM on Eigen maps of row-major buffers. Large products are cut into row (or column)
// blocks of C whose layout depends only on the problem size, never on the thread count, so the
// result is bit-for-bit the same whatever `threads` is; threads only share out the blocks.
#include "runtime/kernels/gemm.h"

#include <algorithm>

#include <Eigen/Dense>

#include "core/parallel.h"

namespace nncert::kernels {

namespace {

template <class T>
using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Products below this many multiply-adds run as one Eigen call on the calling thread.
constexpr double kParallelWork = 1e6;
// Blocking: at least kMinBlock rows (columns) per block and at most kMaxBlocks blocks.
constexpr int64_t kMinBlock = 64;
constexpr int64_t kMaxBlocks = 32;

// C[r0:r1, c0:c1] = alpha * op(A)[r0:r1, :] * op(B)[:, c0:c1] + beta * C[r0:r1, c0:c1].
template <class T>
void gemm_block(bool trans_a,
                bool trans_b,
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
  using Index = Eigen::Index;
  Eigen::Map<const RowMat<T>> am(a, trans_a ? k : m, trans_a ? m : k);
  Eigen::Map<const RowMat<T>> bm(b, trans_b ? n : k, trans_b ? k : n);
  Eigen::Map<RowMat<T>> cm(c, m, n);
  const Index rows = static_cast<Index>(r1 - r0);
  const Index cols = static_cast<Index>(c1 - c0);
  auto cb = cm.block(r0, c0, rows, cols);
  auto run = [&](const auto& op_a, const auto& op_b) {
    if (beta == T(0)) {
      cb.noalias() = alpha * op_a * op_b;  // overwrite: old contents (NaNs too) ignored
    } else {
      cb *= beta;
      cb.noalias() += alpha * op_a * op_b;
    }
  };
  if (!trans_a && !trans_b) {
    run(am.middleRows(r0, rows), bm.middleCols(c0, cols));
  } else if (!trans_a && trans_b) {
    run(am.middleRows(r0, rows), bm.middleRows(c0, cols).transpose());
  } else if (trans_a && !trans_b) {
    run(am.middleCols(r0, rows).transpose(), bm.middleCols(c0, cols));
  } else {
    run(am.middleCols(r0, rows).transpose(), bm.middleRows(c0, cols).transpose());
  }
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
