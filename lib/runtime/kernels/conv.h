// Convolution and transposed convolution over 1, 2 or 3 spatial dimensions, NC<spatial> layout,
// with stride, dilation, asymmetric zero padding and groups (im2col + GEMM on Eigen).
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace nncert::kernels {

struct ConvParams {
  std::vector<int64_t> kernel;     // spatial kernel extents
  std::vector<int64_t> stride;     // per spatial dim
  std::vector<int64_t> dilation;   // per spatial dim
  std::vector<int64_t> pad_begin;  // per spatial dim
  std::vector<int64_t> pad_end;    // per spatial dim
  int64_t groups = 1;
  std::vector<int64_t> output_padding;  // ConvTranspose only
};

// Output extent of a convolution along one dim: floor((in + pb + pe - d*(k-1) - 1) / s) + 1.
int64_t conv_out_extent(int64_t in, int64_t k, int64_t s, int64_t d, int64_t pb, int64_t pe);
// Output extent of a transposed convolution: s*(in-1) + op + d*(k-1) + 1 - pb - pe.
int64_t conv_transpose_out_extent(
    int64_t in, int64_t k, int64_t s, int64_t d, int64_t pb, int64_t pe, int64_t output_padding);

// y = conv(x, w) + bias. x: [N, C, *in], w: [M, C/groups, *kernel], bias: [M] or nullptr,
// y: [N, M, *out] (shape given, storage written entirely).
template <class T>
void conv_forward(const ConvParams& p,
                  const Shape& x_shape,
                  const T* x,
                  const Shape& w_shape,
                  const T* w,
                  const T* bias,
                  const Shape& y_shape,
                  T* y,
                  int threads);

// y = conv_transpose(x, w) + bias. x: [N, C, *in], w: [C, M/groups, *kernel],
// y: [N, M, *out].
template <class T>
void conv_transpose_forward(const ConvParams& p,
                            const Shape& x_shape,
                            const T* x,
                            const Shape& w_shape,
                            const T* w,
                            const T* bias,
                            const Shape& y_shape,
                            T* y,
                            int threads);

// Weight gradient of a convolution, gw = d <b, conv(a, w)> / dw:
//   gw[j, c, k] = sum_{n, o} b[n, j, o] * a[n, group(j)*C/groups + c, o*s - pb + k*d]
// (im2col of a, one GEMM per batch item and group). For Conv a = x, b = dL/dy; for ConvTranspose,
// as <gy, conv_transpose(x, w)> = <conv(gy, w), x>, a = dL/dy and b = x. a: [N, C, *in],
// b: [N, J, *out], gw: [J, C/groups, *kernel] (overwritten).
template <class T>
void conv_weight_grad(const ConvParams& p,
                      const Shape& a_shape,
                      const T* a,
                      const Shape& b_shape,
                      const T* b,
                      const Shape& w_shape,
                      T* gw,
                      int threads);

}  // namespace nncert::kernels
