// Max and average pooling, direct loops over each (n, c) plane. Problems are lifted to three
// spatial dims (missing leading dims get extent 1, kernel 1, no padding); planes are shared out
// over threads, and each output element is computed the same way whatever the thread count.
#include "runtime/kernels/pool.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "core/parallel.h"

namespace nncert::kernels {

namespace {

using A3 = std::array<int64_t, 3>;

struct Geo {
  A3 in{1, 1, 1};
  A3 out{1, 1, 1};
  A3 k{1, 1, 1};
  A3 s{1, 1, 1};
  A3 d{1, 1, 1};
  A3 pb{0, 0, 0};
  A3 pe{0, 0, 0};
  int64_t in_size() const { return in[0] * in[1] * in[2]; }
  int64_t out_size() const { return out[0] * out[1] * out[2]; }
};

Geo make_geo(const PoolParams& p, const Shape& x_shape, const Shape& y_shape) {
  NNCERT_CHECK(x_shape.size() >= 3 && x_shape.size() <= 5 && y_shape.size() == x_shape.size(),
               "pooling needs [N, C, 1 to 3 spatial dims] input and output");
  const size_t r = x_shape.size() - 2;
  NNCERT_CHECK(p.kernel.size() == r && p.stride.size() == r && p.pad_begin.size() == r &&
                   p.pad_end.size() == r && (p.dilation.empty() || p.dilation.size() == r),
               "pooling parameters do not match the spatial rank");
  NNCERT_CHECK(x_shape[0] == y_shape[0] && x_shape[1] == y_shape[1],
               "pooling keeps the batch and channel extents");
  Geo g;
  for (size_t i = 0; i < r; ++i) {
    const size_t j = 3 - r + i;
    g.in[j] = x_shape[i + 2];
    g.out[j] = y_shape[i + 2];
    g.k[j] = p.kernel[i];
    g.s[j] = p.stride[i];
    g.d[j] = p.dilation.empty() ? 1 : p.dilation[i];
    g.pb[j] = p.pad_begin[i];
    g.pe[j] = p.pad_end[i];
  }
  return g;
}

// Runs fn(plane) over the N*C planes, a few planes per thread chunk.
template <class F>
void for_planes(const Geo& g, int64_t planes, int threads, F fn) {
  const int64_t window = g.k[0] * g.k[1] * g.k[2];
  const int64_t per_plane = std::max<int64_t>(1, g.out_size() * window);
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 16) / per_plane);
  parallel_for(planes, threads, grain, [&](int64_t first, int64_t last) {
    for (int64_t pl = first; pl < last; ++pl)
      fn(pl);
  });
}

// Calls fn(offset) for each tap of output (o0, o1, o2)'s window that lands inside the input, in
// row-major tap order; offset is the tap's flat index into the (n, c) plane.
template <class F>
void for_window_taps(const Geo& g, int64_t o0, int64_t o1, int64_t o2, F fn) {
  const int64_t base2 = o2 * g.s[2] - g.pb[2];
  for (int64_t k0 = 0; k0 < g.k[0]; ++k0) {
    const int64_t i0 = o0 * g.s[0] - g.pb[0] + k0 * g.d[0];
    if (i0 < 0 || i0 >= g.in[0])
      continue;
    for (int64_t k1 = 0; k1 < g.k[1]; ++k1) {
      const int64_t i1 = o1 * g.s[1] - g.pb[1] + k1 * g.d[1];
      if (i1 < 0 || i1 >= g.in[1])
        continue;
      const int64_t row = (i0 * g.in[1] + i1) * g.in[2];
      for (int64_t k2 = 0; k2 < g.k[2]; ++k2) {
        const int64_t i2 = base2 + k2 * g.d[2];
        if (i2 >= 0 && i2 < g.in[2])
          fn(row + i2);
      }
    }
  }
}

}  // namespace

int64_t pool_out_extent(
    int64_t in, int64_t k, int64_t s, int64_t d, int64_t pb, int64_t pe, bool ceil_mode) {
  const int64_t num = in + pb + pe - d * (k - 1) - 1;
  if (num < 0 || s <= 0)
    return 0;
  int64_t out = (ceil_mode ? (num + s - 1) / s : num / s) + 1;
  // The last window must start inside the input or the left padding.
  if (ceil_mode && (out - 1) * s >= in + pb)
    --out;
  return out;
}

template <class T>
void max_pool(const PoolParams& p,
              const Shape& x_shape,
              const T* x,
              const Shape& y_shape,
              T* y,
              int64_t* argmax,
              int threads) {
  const Geo g = make_geo(p, x_shape, y_shape);
  const int64_t planes = x_shape[0] * x_shape[1];
  const int64_t in_size = g.in_size();
  const int64_t out_size = g.out_size();
  for_planes(g, planes, threads, [&](int64_t pl) {
    const T* xp = x + pl * in_size;
    T* yp = y + pl * out_size;
    int64_t* ap = argmax ? argmax + pl * out_size : nullptr;
    int64_t o = 0;
    for (int64_t o0 = 0; o0 < g.out[0]; ++o0) {
      for (int64_t o1 = 0; o1 < g.out[1]; ++o1) {
        for (int64_t o2 = 0; o2 < g.out[2]; ++o2, ++o) {
          T best = std::numeric_limits<T>::lowest();
          int64_t best_idx = -1;
          for_window_taps(g, o0, o1, o2, [&](int64_t i) {
            const T v = xp[i];
            // NaN propagates (as in PyTorch); the first maximum wins ties.
            if (best_idx < 0 || v > best || (std::isnan(v) && !std::isnan(best))) {
              best = v;
              best_idx = i;
            }
          });
          yp[o] = best;
          if (ap)
            ap[o] = best_idx < 0 ? -1 : pl * in_size + best_idx;
        }
      }
    }
  });
}

template <class T>
void avg_pool(const PoolParams& p,
              const Shape& x_shape,
              const T* x,
              const Shape& y_shape,
              T* y,
              int threads) {
  const Geo g = make_geo(p, x_shape, y_shape);
  const int64_t planes = x_shape[0] * x_shape[1];
  const int64_t in_size = g.in_size();
  const int64_t out_size = g.out_size();
  // Number of window taps of output o along dim j that land in the input (real) or in the
  // input plus its explicit padding (padded).
  auto taps = [&](size_t j, int64_t o, int64_t& real, int64_t& padded) {
    real = 0;
    padded = 0;
    for (int64_t kj = 0; kj < g.k[j]; ++kj) {
      const int64_t i = o * g.s[j] - g.pb[j] + kj * g.d[j];
      if (i >= -g.pb[j] && i < g.in[j] + g.pe[j])
        ++padded;
      if (i >= 0 && i < g.in[j])
        ++real;
    }
  };
  for_planes(g, planes, threads, [&](int64_t pl) {
    const T* xp = x + pl * in_size;
    T* yp = y + pl * out_size;
    int64_t o = 0;
    for (int64_t o0 = 0; o0 < g.out[0]; ++o0) {
      int64_t r0 = 0;
      int64_t c0 = 0;
      taps(0, o0, r0, c0);
      for (int64_t o1 = 0; o1 < g.out[1]; ++o1) {
        int64_t r1 = 0;
        int64_t c1 = 0;
        taps(1, o1, r1, c1);
        for (int64_t o2 = 0; o2 < g.out[2]; ++o2, ++o) {
          int64_t r2 = 0;
          int64_t c2 = 0;
          taps(2, o2, r2, c2);
          T sum = T(0);
          for_window_taps(g, o0, o1, o2, [&](int64_t i) { sum += xp[i]; });
          const int64_t count = p.count_include_pad ? c0 * c1 * c2 : r0 * r1 * r2;
          // A window with no counted cell (only possible with pads >= kernel) yields 0.
          yp[o] = count > 0 ? sum / static_cast<T>(count) : T(0);
        }
      }
    }
  });
}

#define NNCERT_INSTANTIATE_POOL(T)                                                 \
  template void max_pool<T>(                                                       \
      const PoolParams&, const Shape&, const T*, const Shape&, T*, int64_t*, int); \
  template void avg_pool<T>(const PoolParams&, const Shape&, const T*, const Shape&, T*, int);
NNCERT_INSTANTIATE_POOL(float)
NNCERT_INSTANTIATE_POOL(double)
#undef NNCERT_INSTANTIATE_POOL

}  // namespace nncert::kernels
