// Max and average pooling over 1, 2 or 3 spatial dimensions, NC<spatial> layout.
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace nncert::kernels {

struct PoolParams {
  std::vector<int64_t> kernel;
  std::vector<int64_t> stride;
  std::vector<int64_t> dilation;  // MaxPool only; all 1 for AveragePool
  std::vector<int64_t> pad_begin;
  std::vector<int64_t> pad_end;
  bool count_include_pad = false;  // AveragePool: divide by the full kernel size
};

// Output extent: floor or ceil((in + pb + pe - d*(k-1) - 1) / s) + 1; with ceil_mode the last
// window must start inside the input or the left padding (ONNX/PyTorch rule).
int64_t pool_out_extent(
    int64_t in, int64_t k, int64_t s, int64_t d, int64_t pb, int64_t pe, bool ceil_mode);

// y[n,c,o] = max over the window (padding cells are ignored, i.e. act as -inf).
// argmax (optional, may be nullptr): flat index into x of the winning element, -1 if the
// window holds only padding.
template <class T>
void max_pool(const PoolParams& p,
              const Shape& x_shape,
              const T* x,
              const Shape& y_shape,
              T* y,
              int64_t* argmax,
              int threads);

// y[n,c,o] = mean over the window; the divisor counts padding cells only when
// count_include_pad (cells beyond the explicit padding, from ceil_mode, never count).
template <class T>
void avg_pool(
    const PoolParams& p, const Shape& x_shape, const T* x, const Shape& y_shape, T* y, int threads);

}  // namespace nncert::kernels
