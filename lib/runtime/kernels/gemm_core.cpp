// The single-threaded GEMM block of kernels/gemm.cpp on Eigen, compiled twice: for the baseline
// x86-64 ISA and with AVX2 + FMA (NNCERT_GEMM_VARIANT = avx2, Eigen's namespace renamed so the
// linker cannot mix the two builds of its templates). gemm.cpp picks one at run time.
#include <cstdint>

#include <Eigen/Dense>

#ifndef NNCERT_GEMM_VARIANT
#error "NNCERT_GEMM_VARIANT must name the build variant"
#endif

namespace nncert::kernels::gemm_detail::NNCERT_GEMM_VARIANT {

namespace {

template <class T>
using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

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

void gemm_block_f32(bool ta,
                    bool tb,
                    int64_t m,
                    int64_t n,
                    int64_t k,
                    float alpha,
                    const float* a,
                    const float* b,
                    float beta,
                    float* c,
                    int64_t r0,
                    int64_t r1,
                    int64_t c0,
                    int64_t c1) {
  gemm_block<float>(ta, tb, m, n, k, alpha, a, b, beta, c, r0, r1, c0, c1);
}

void gemm_block_f64(bool ta,
                    bool tb,
                    int64_t m,
                    int64_t n,
                    int64_t k,
                    double alpha,
                    const double* a,
                    const double* b,
                    double beta,
                    double* c,
                    int64_t r0,
                    int64_t r1,
                    int64_t c0,
                    int64_t c1) {
  gemm_block<double>(ta, tb, m, n, k, alpha, a, b, beta, c, r0, r1, c0, c1);
}

}  // namespace nncert::kernels::gemm_detail::NNCERT_GEMM_VARIANT
