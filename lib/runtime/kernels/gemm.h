// Dense matrix multiply on Eigen (the only Eigen include is in gemm.cpp).
#pragma once

#include <cstdint>

namespace nncert::kernels {

// C[M,N] = alpha * op(A) * op(B) + beta * C, all row-major and contiguous.
// op(A) is A[M,K] (or A[K,M] transposed when trans_a); op(B) is B[K,N] (or B[N,K] when trans_b).
// beta == 0 ignores the previous contents of C (NaNs included). Uses up to `threads` threads.
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
          int threads);

}  // namespace nncert::kernels
