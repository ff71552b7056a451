// Property tests of the GEMM / convolution / pooling kernels against direct-loop references,
// in float and double, plus op-level tests of the matching ONNX ops (infer + forward).
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <random>
#include <type_traits>
#include <vector>

#include <catch2/catch.hpp>

#include "ops/op_def.h"
#include "runtime/kernels/conv.h"
#include "runtime/kernels/gemm.h"
#include "runtime/kernels/pool.h"

using nncert::Shape;
namespace k = nncert::kernels;

namespace {

template <class T>
std::vector<T> random_vec(std::mt19937& rng, int64_t n) {
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  std::vector<T> v(static_cast<size_t>(n));
  for (T& x : v)
    x = static_cast<T>(dist(rng));
  return v;
}

int64_t numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t e : s)
    n *= e;
  return n;
}

// Calls f(idx) for every multi-index of `s` in row-major order.
void for_each_index(const Shape& s, const std::function<void(const Shape&)>& f) {
  if (numel(s) == 0)
    return;
  Shape idx(s.size(), 0);
  while (true) {
    f(idx);
    size_t d = s.size();
    while (d > 0) {
      if (++idx[d - 1] < s[d - 1])
        break;
      idx[--d] = 0;
    }
    if (d == 0)
      return;
  }
}

// Row-major flat index of (a, b, rest...) in a tensor of shape s.
int64_t flat(const Shape& s, int64_t a, int64_t b, const Shape& rest) {
  int64_t f = a * s[1] + b;
  for (size_t i = 0; i < rest.size(); ++i)
    f = f * s[i + 2] + rest[i];
  return f;
}

template <class T>
double tol() {
  return std::is_same_v<T, float> ? 1e-4 : 1e-10;
}

// Worst relative error max |got - ref| / max(1, |ref|) must stay within tol<T>().
template <class T>
void expect_close(const std::vector<T>& got, const std::vector<double>& ref) {
  REQUIRE(got.size() == ref.size());
  double worst = 0.0;
  size_t at = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double err =
        std::abs(static_cast<double>(got[i]) - ref[i]) / std::max(1.0, std::abs(ref[i]));
    if (!(err <= worst)) {  // NaN sticks
      worst = err;
      at = i;
    }
  }
  INFO("worst relative error " << worst << " at flat index " << at << " of " << got.size());
  CHECK(worst <= tol<T>());
}

Shape spatial(const Shape& s) {
  return Shape(s.begin() + 2, s.end());
}

// ---- references ---------------------------------------------------------------------------

template <class T>
std::vector<double> gemm_ref(bool ta,
                             bool tb,
                             int64_t m,
                             int64_t n,
                             int64_t kk,
                             double alpha,
                             const std::vector<T>& a,
                             const std::vector<T>& b,
                             double beta,
                             const std::vector<T>& c) {
  std::vector<double> y(static_cast<size_t>(m * n));
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double acc = 0.0;
      for (int64_t l = 0; l < kk; ++l)
        acc += static_cast<double>(a[static_cast<size_t>(ta ? l * m + i : i * kk + l)]) *
               static_cast<double>(b[static_cast<size_t>(tb ? j * kk + l : l * n + j)]);
      const size_t o = static_cast<size_t>(i * n + j);
      y[o] = alpha * acc + (beta == 0.0 ? 0.0 : beta * static_cast<double>(c[o]));
    }
  return y;
}

// y[n,m,o] = b[m] + sum_{c in group(m), kk} x[n,c,o*s - pb + kk*d] * w[m,c',kk]
template <class T>
std::vector<double> conv_ref(const k::ConvParams& p,
                             const Shape& xs,
                             const std::vector<T>& x,
                             const Shape& ws,
                             const std::vector<T>& w,
                             const T* bias,
                             const Shape& ys) {
  std::vector<double> y(static_cast<size_t>(numel(ys)));
  const int64_t cg = ws[1];
  const int64_t mg = ys[1] / p.groups;
  for (int64_t n = 0; n < ys[0]; ++n)
    for (int64_t m = 0; m < ys[1]; ++m)
      for_each_index(spatial(ys), [&](const Shape& o) {
        double acc = bias ? static_cast<double>(bias[m]) : 0.0;
        for (int64_t cl = 0; cl < cg; ++cl)
          for_each_index(spatial(ws), [&](const Shape& kk) {
            Shape i(o.size());
            for (size_t j = 0; j < o.size(); ++j) {
              i[j] = o[j] * p.stride[j] - p.pad_begin[j] + kk[j] * p.dilation[j];
              if (i[j] < 0 || i[j] >= xs[j + 2])
                return;
            }
            acc += static_cast<double>(x[static_cast<size_t>(flat(xs, n, m / mg * cg + cl, i))]) *
                   static_cast<double>(w[static_cast<size_t>(flat(ws, m, cl, kk))]);
          });
        y[static_cast<size_t>(flat(ys, n, m, o))] = acc;
      });
  return y;
}

// y[n,m,i*s - pb + kk*d] += x[n,c,i] * w[c,m',kk] over the group of c; then + b[m]
template <class T>
std::vector<double> conv_transpose_ref(const k::ConvParams& p,
                                       const Shape& xs,
                                       const std::vector<T>& x,
                                       const Shape& ws,
                                       const std::vector<T>& w,
                                       const T* bias,
                                       const Shape& ys) {
  std::vector<double> y(static_cast<size_t>(numel(ys)), 0.0);
  const int64_t cg = xs[1] / p.groups;
  const int64_t mg = ws[1];
  for (int64_t n = 0; n < xs[0]; ++n)
    for (int64_t c = 0; c < xs[1]; ++c)
      for_each_index(spatial(xs), [&](const Shape& i) {
        const double xv = static_cast<double>(x[static_cast<size_t>(flat(xs, n, c, i))]);
        for (int64_t ml = 0; ml < mg; ++ml)
          for_each_index(spatial(ws), [&](const Shape& kk) {
            Shape o(i.size());
            for (size_t j = 0; j < i.size(); ++j) {
              o[j] = i[j] * p.stride[j] - p.pad_begin[j] + kk[j] * p.dilation[j];
              if (o[j] < 0 || o[j] >= ys[j + 2])
                return;
            }
            y[static_cast<size_t>(flat(ys, n, c / cg * mg + ml, o))] +=
                xv * static_cast<double>(w[static_cast<size_t>(flat(ws, c, ml, kk))]);
          });
      });
  if (bias)
    for (int64_t n = 0; n < ys[0]; ++n)
      for (int64_t m = 0; m < ys[1]; ++m)
        for_each_index(spatial(ys), [&](const Shape& o) {
          y[static_cast<size_t>(flat(ys, n, m, o))] += static_cast<double>(bias[m]);
        });
  return y;
}

// Max pool: first maximum over the in-bounds taps; argmax = flat index into x.
template <class T>
std::vector<double> max_pool_ref(const k::PoolParams& p,
                                 const Shape& xs,
                                 const std::vector<T>& x,
                                 const Shape& ys,
                                 std::vector<int64_t>& argmax) {
  std::vector<double> y(static_cast<size_t>(numel(ys)));
  argmax.assign(y.size(), -1);
  for (int64_t n = 0; n < ys[0]; ++n)
    for (int64_t c = 0; c < ys[1]; ++c)
      for_each_index(spatial(ys), [&](const Shape& o) {
        double best = -std::numeric_limits<double>::infinity();
        int64_t best_at = -1;
        for_each_index(p.kernel, [&](const Shape& kk) {
          Shape i(o.size());
          for (size_t j = 0; j < o.size(); ++j) {
            i[j] = o[j] * p.stride[j] - p.pad_begin[j] + kk[j] * p.dilation[j];
            if (i[j] < 0 || i[j] >= xs[j + 2])
              return;
          }
          const int64_t at = flat(xs, n, c, i);
          if (best_at < 0 || static_cast<double>(x[static_cast<size_t>(at)]) > best) {
            best = static_cast<double>(x[static_cast<size_t>(at)]);
            best_at = at;
          }
        });
        const size_t out = static_cast<size_t>(flat(ys, n, c, o));
        y[out] = best;
        argmax[out] = best_at;
      });
  return y;
}

// Average pool, PyTorch's formulation: window [start, min(start + k, in + pe)) sets the
// count_include_pad divisor; clipped to [0, in) it gives the real cells.
template <class T>
std::vector<double> avg_pool_ref(const k::PoolParams& p,
                                 const Shape& xs,
                                 const std::vector<T>& x,
                                 const Shape& ys) {
  std::vector<double> y(static_cast<size_t>(numel(ys)));
  const size_t r = xs.size() - 2;
  for (int64_t n = 0; n < ys[0]; ++n)
    for (int64_t c = 0; c < ys[1]; ++c)
      for_each_index(spatial(ys), [&](const Shape& o) {
        Shape lo(r), hi(r);
        int64_t pool_size = 1;
        for (size_t j = 0; j < r; ++j) {
          const int64_t start = o[j] * p.stride[j] - p.pad_begin[j];
          const int64_t end = std::min(start + p.kernel[j], xs[j + 2] + p.pad_end[j]);
          pool_size *= end - start;
          lo[j] = std::max<int64_t>(start, 0);
          hi[j] = std::min(end, xs[j + 2]);
        }
        double sum = 0.0;
        int64_t cells = 0;
        Shape ext(r);
        for (size_t j = 0; j < r; ++j)
          ext[j] = std::max<int64_t>(hi[j] - lo[j], 0);
        for_each_index(ext, [&](const Shape& q) {
          Shape i(r);
          for (size_t j = 0; j < r; ++j)
            i[j] = lo[j] + q[j];
          sum += static_cast<double>(x[static_cast<size_t>(flat(xs, n, c, i))]);
          ++cells;
        });
        const int64_t div = p.count_include_pad ? pool_size : cells;
        y[static_cast<size_t>(flat(ys, n, c, o))] = sum / static_cast<double>(div);
      });
  return y;
}

// ---- kernel runners -------------------------------------------------------------------------

struct ConvCase {
  Shape x;
  int64_t m;  // output channels
  Shape kernel, stride, dilation, pad_begin, pad_end;
  int64_t groups;
  bool bias;
  Shape output_padding{};  // ConvTranspose only
};

k::ConvParams params_of(const ConvCase& cc) {
  k::ConvParams p;
  p.kernel = cc.kernel;
  p.stride = cc.stride;
  p.dilation = cc.dilation;
  p.pad_begin = cc.pad_begin;
  p.pad_end = cc.pad_end;
  p.groups = cc.groups;
  p.output_padding = cc.output_padding.empty() ? Shape(cc.kernel.size(), 0) : cc.output_padding;
  return p;
}

template <class T>
void check_conv(const ConvCase& cc, bool transpose, std::mt19937& rng) {
  const k::ConvParams p = params_of(cc);
  Shape ws = transpose ? Shape{cc.x[1], cc.m / cc.groups} : Shape{cc.m, cc.x[1] / cc.groups};
  Shape ys = {cc.x[0], cc.m};
  for (size_t i = 0; i < cc.kernel.size(); ++i) {
    ws.push_back(cc.kernel[i]);
    ys.push_back(transpose ? k::conv_transpose_out_extent(cc.x[i + 2],
                                                          cc.kernel[i],
                                                          cc.stride[i],
                                                          cc.dilation[i],
                                                          cc.pad_begin[i],
                                                          cc.pad_end[i],
                                                          p.output_padding[i])
                           : k::conv_out_extent(cc.x[i + 2],
                                                cc.kernel[i],
                                                cc.stride[i],
                                                cc.dilation[i],
                                                cc.pad_begin[i],
                                                cc.pad_end[i]));
  }
  INFO("x " << nncert::shape_to_string(cc.x) << " w " << nncert::shape_to_string(ws) << " y "
            << nncert::shape_to_string(ys) << (transpose ? " transposed" : ""));
  const auto x = random_vec<T>(rng, numel(cc.x));
  const auto w = random_vec<T>(rng, numel(ws));
  const auto b = random_vec<T>(rng, cc.m);
  const T* bias = cc.bias ? b.data() : nullptr;
  const auto ref = transpose ? conv_transpose_ref(p, cc.x, x, ws, w, bias, ys)
                             : conv_ref(p, cc.x, x, ws, w, bias, ys);
  std::vector<T> y1(static_cast<size_t>(numel(ys)), T(7));
  std::vector<T> y2(y1.size(), T(-3));
  auto run = [&](std::vector<T>& y, int threads) {
    if (transpose) {
      k::conv_transpose_forward<T>(p, cc.x, x.data(), ws, w.data(), bias, ys, y.data(), threads);
    } else {
      k::conv_forward<T>(p, cc.x, x.data(), ws, w.data(), bias, ys, y.data(), threads);
    }
  };
  run(y1, 1);
  run(y2, 2);
  expect_close(y1, ref);
  CHECK(y1 == y2);  // bit-identical whatever the thread count
}

}  // namespace

// ---- GEMM -------------------------------------------------------------------------------------

TEMPLATE_TEST_CASE("gemm matches the naive product", "[kernels][gemm]", float, double) {
  using T = TestType;
  std::mt19937 rng(1234);
  const std::vector<std::array<int64_t, 3>> sizes = {
      {1, 1, 1},
      {7, 5, 3},
      {33, 17, 9},
      {1, 40, 7},
      {40, 1, 5},
      {64, 65, 1},
      {3, 4, 0},
      {200, 90, 70},  // row-split path
      {20, 300, 200}  // column-split path
  };
  for (const auto& [m, n, kk] : sizes)
    for (int t = 0; t < 4; ++t)
      for (double beta : {0.0, 1.3}) {
        const bool ta = (t & 1) != 0;
        const bool tb = (t & 2) != 0;
        INFO("m " << m << " n " << n << " k " << kk << " transA " << ta << " transB " << tb
                  << " beta " << beta);
        const auto a = random_vec<T>(rng, m * kk);
        const auto b = random_vec<T>(rng, kk * n);
        auto c = random_vec<T>(rng, m * n);
        if (beta == 0.0)
          std::fill(c.begin(), c.end(), std::numeric_limits<T>::quiet_NaN());
        const auto ref = gemm_ref(ta, tb, m, n, kk, 0.7, a, b, beta, c);
        auto y1 = c;
        auto y2 = c;
        k::gemm<T>(ta, tb, m, n, kk, T(0.7), a.data(), b.data(), T(beta), y1.data(), 1);
        k::gemm<T>(ta, tb, m, n, kk, T(0.7), a.data(), b.data(), T(beta), y2.data(), 2);
        expect_close(y1, ref);
        if (beta != 0.0)
          CHECK(y1 == y2);  // (NaN-free only; NaN != NaN)
      }
}

// ---- convolution ------------------------------------------------------------------------------

TEST_CASE("output extent formulas", "[kernels]") {
  CHECK(k::conv_out_extent(7, 3, 2, 1, 1, 1) == 4);
  CHECK(k::conv_out_extent(10, 3, 1, 2, 0, 0) == 6);
  CHECK(k::conv_out_extent(2, 5, 1, 1, 0, 0) == 0);
  CHECK(k::conv_transpose_out_extent(5, 3, 2, 1, 1, 0, 1) == 11);
  CHECK(k::pool_out_extent(5, 2, 2, 1, 0, 0, false) == 2);
  CHECK(k::pool_out_extent(5, 2, 2, 1, 0, 0, true) == 3);
  CHECK(k::pool_out_extent(6, 3, 2, 1, 1, 1, true) == 4);
  CHECK(k::pool_out_extent(5, 2, 2, 1, 1, 1, true) == 3);  // last window would start in padding
  CHECK(k::pool_out_extent(12, 3, 1, 2, 0, 0, false) == 8);
}

TEMPLATE_TEST_CASE("conv_forward matches direct loops", "[kernels][conv]", float, double) {
  using T = TestType;
  std::mt19937 rng(42);
  const std::vector<ConvCase> cases = {
      {{2, 3, 11}, 4, {3}, {1}, {1}, {1}, {1}, 1, true},
      {{1, 2, 17}, 3, {2}, {3}, {2}, {0}, {2}, 1, false},
      {{2, 4, 9, 7}, 6, {3, 2}, {2, 1}, {1, 2}, {1, 0}, {2, 1}, 2, true},
      {{2, 5, 8, 8}, 5, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 5, true},  // depthwise
      {{1, 3, 6, 7}, 6, {2, 3}, {3, 2}, {1, 1}, {0, 1}, {1, 0}, 3, false},
      {{3, 2, 10, 12}, 4, {2, 2}, {3, 4}, {1, 1}, {0, 2}, {1, 0}, 1, true},  // stride > kernel
      {{2, 8, 5, 6}, 4, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 2, true},    // pointwise path
      {{1, 4, 7, 6}, 2, {1, 1}, {2, 2}, {1, 1}, {0, 1}, {1, 0}, 1, false},
      {{1, 4, 5, 6, 4}, 4, {2, 3, 2}, {1, 2, 1}, {1, 1, 2}, {1, 0, 1}, {0, 1, 1}, 2, true},
      {{1, 16, 92, 92}, 8, {3, 3}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1, true},  // tiled im2col
  };
  for (const ConvCase& cc : cases)
    check_conv<T>(cc, false, rng);
}

TEMPLATE_TEST_CASE("conv_transpose_forward matches direct loops",
                   "[kernels][conv]",
                   float,
                   double) {
  using T = TestType;
  std::mt19937 rng(7);
  const std::vector<ConvCase> cases = {
      {{2, 3, 5}, 4, {3}, {2}, {1}, {1}, {0}, 1, true, {1}},
      {{1, 4, 4, 5}, 6, {3, 2}, {2, 3}, {1, 2}, {1, 0}, {0, 2}, 2, true, {1, 2}},
      {{2, 3, 5, 5}, 3, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 3, false, {1, 1}},  // depthwise
      {{1, 2, 3, 3, 2},
       4,
       {2, 3, 2},
       {2, 1, 2},
       {1, 1, 1},
       {0, 1, 1},
       {1, 0, 0},
       1,
       true,
       {1, 0, 1}},
      {{1, 4, 90, 90}, 16, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1, true, {0, 0}},  // tiled
  };
  for (const ConvCase& cc : cases)
    check_conv<T>(cc, true, rng);
}

// ---- pooling ----------------------------------------------------------------------------------

namespace {
struct PoolCase {
  Shape x, kernel, stride, dilation, pad_begin, pad_end;
  bool ceil_mode;
};

template <class T>
void check_pool(const PoolCase& pc, bool max, bool count_include_pad, std::mt19937& rng) {
  k::PoolParams p;
  p.kernel = pc.kernel;
  p.stride = pc.stride;
  p.dilation = pc.dilation;
  p.pad_begin = pc.pad_begin;
  p.pad_end = pc.pad_end;
  p.count_include_pad = count_include_pad;
  Shape ys = {pc.x[0], pc.x[1]};
  for (size_t i = 0; i < pc.kernel.size(); ++i)
    ys.push_back(k::pool_out_extent(pc.x[i + 2],
                                    pc.kernel[i],
                                    pc.stride[i],
                                    pc.dilation[i],
                                    pc.pad_begin[i],
                                    pc.pad_end[i],
                                    pc.ceil_mode));
  INFO("x " << nncert::shape_to_string(pc.x) << " y " << nncert::shape_to_string(ys)
            << (max ? " max" : " avg") << " count_include_pad " << count_include_pad);
  const auto x = random_vec<T>(rng, numel(pc.x));
  std::vector<T> y1(static_cast<size_t>(numel(ys))), y2(y1.size());
  if (max) {
    std::vector<int64_t> ref_arg, arg1(y1.size()), arg2(y1.size());
    const auto ref = max_pool_ref(p, pc.x, x, ys, ref_arg);
    k::max_pool<T>(p, pc.x, x.data(), ys, y1.data(), arg1.data(), 1);
    k::max_pool<T>(p, pc.x, x.data(), ys, y2.data(), arg2.data(), 2);
    expect_close(y1, ref);
    CHECK(arg1 == ref_arg);
    CHECK(arg2 == ref_arg);
  } else {
    const auto ref = avg_pool_ref(p, pc.x, x, ys);
    k::avg_pool<T>(p, pc.x, x.data(), ys, y1.data(), 1);
    k::avg_pool<T>(p, pc.x, x.data(), ys, y2.data(), 2);
    expect_close(y1, ref);
  }
  CHECK(y1 == y2);
}
}  // namespace

TEMPLATE_TEST_CASE("pooling matches direct loops", "[kernels][pool]", float, double) {
  using T = TestType;
  std::mt19937 rng(99);
  const std::vector<PoolCase> cases = {
      {{2, 3, 10}, {3}, {2}, {1}, {1}, {1}, false},
      {{1, 2, 10}, {3}, {2}, {1}, {1}, {1}, true},
      {{2, 3, 9, 8}, {3, 2}, {2, 3}, {1, 1}, {1, 0}, {0, 1}, true},
      {{1, 2, 11, 13}, {2, 2}, {3, 4}, {1, 1}, {0, 0}, {0, 0}, true},  // stride > kernel
      {{1, 2, 11, 13}, {2, 2}, {3, 4}, {1, 1}, {0, 0}, {0, 0}, false},
      {{1, 2, 5, 6, 7}, {2, 3, 2}, {2, 2, 3}, {1, 1, 1}, {1, 1, 0}, {0, 1, 1}, true},
      {{64, 8, 16, 16}, {2, 2}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, false},  // several chunks
  };
  for (const PoolCase& pc : cases) {
    check_pool<T>(pc, true, false, rng);
    check_pool<T>(pc, false, false, rng);
    check_pool<T>(pc, false, true, rng);
  }
  // Dilated max pooling.
  check_pool<T>({{2, 2, 12, 11}, {3, 2}, {1, 2}, {2, 3}, {2, 1}, {1, 2}, true}, true, false, rng);
  check_pool<T>({{1, 3, 15}, {3}, {2}, {3}, {1}, {0}, false}, true, false, rng);
}

TEMPLATE_TEST_CASE("avg_pool ceil_mode divisors follow PyTorch", "[kernels][pool]", float, double) {
  using T = TestType;
  // x = 1..6, kernel 3, stride 2, pads 1/1, ceil_mode: 4 windows starting at -1, 1, 3, 5; the
  // last covers x[5], one explicit padding cell and one cell beyond the padding.
  const std::vector<T> x = {1, 2, 3, 4, 5, 6};
  k::PoolParams p{{3}, {2}, {1}, {1}, {1}, false};
  std::vector<T> y(4);
  k::avg_pool<T>(p, {1, 1, 6}, x.data(), {1, 1, 4}, y.data(), 1);
  CHECK(y == std::vector<T>{T(1.5), T(3), T(5), T(6)});
  p.count_include_pad = true;
  k::avg_pool<T>(p, {1, 1, 6}, x.data(), {1, 1, 4}, y.data(), 1);
  CHECK(y == std::vector<T>{T(1), T(3), T(5), T(3)});
}

// ---- ops --------------------------------------------------------------------------------------

namespace {
using nncert::DType;
using nncert::ErrorCode;
using nncert::Node;
using nncert::Tensor;
using nncert::TypeInfo;

nncert::TypeInfo info_of(const Tensor& t) {
  TypeInfo ti;
  ti.dtype = t.dtype();
  ti.shape = t.shape();
  ti.shape_known = t.is_valid();
  return ti;
}

Node make_node(const std::string& op, int outputs = 1) {
  Node node;
  node.name = "n";
  node.op = op;
  for (int i = 0; i < outputs; ++i)
    node.outputs.push_back(i);
  return node;
}

// Runs infer then forward; returns the status of the first failure.
nncert::Status run_op(const Node& node,
                      const std::vector<Tensor>& in,
                      std::vector<TypeInfo>& types,
                      std::vector<Tensor>& out,
                      int threads = 1) {
  const nncert::OpDef* def = nncert::find_op(node.op);
  REQUIRE(def != nullptr);
  REQUIRE(def->infer != nullptr);
  REQUIRE(def->forward != nullptr);
  std::vector<TypeInfo> in_types;
  for (const Tensor& t : in)
    in_types.push_back(info_of(t));
  types.clear();
  NNCERT_RETURN_IF_ERROR(def->infer(node, in_types, types));
  out.assign(types.size(), Tensor());
  return def->forward(node, in, types, out, nncert::ExecContext{threads});
}

template <class T>
Tensor random_tensor(std::mt19937& rng, Shape shape) {
  auto v = random_vec<T>(rng, numel(shape));
  return Tensor::from_vector<T>(std::move(shape), v);
}

template <class T>
std::vector<T> values(const Tensor& t) {
  return std::vector<T>(t.data<T>(), t.data<T>() + t.numel());
}

template <class T>
std::vector<double> values_d(const Tensor& t) {
  return std::vector<double>(t.data<T>(), t.data<T>() + t.numel());
}
}  // namespace

TEMPLATE_TEST_CASE("Conv op: auto_pad, unknown extents, mismatches", "[ops]", float, double) {
  using T = TestType;
  std::mt19937 rng(5);
  const Tensor x = random_tensor<T>(rng, {1, 2, 7, 6});
  const Tensor w = random_tensor<T>(rng, {4, 2, 4, 3});
  const Tensor b = random_tensor<T>(rng, {4});
  for (const char* mode : {"SAME_UPPER", "SAME_LOWER"}) {
    Node node = make_node("Conv");
    node.attrs.set("auto_pad", std::string(mode));
    node.attrs.set("strides", std::vector<int64_t>{2, 2});
    std::vector<TypeInfo> types;
    std::vector<Tensor> out;
    REQUIRE(run_op(node, {x, w, b}, types, out).is_ok());
    CHECK(out[0].shape() == Shape{1, 4, 4, 3});  // ceil(7/2), ceil(6/2)
    // Total padding 3 along H and 1 along W; the odd cell goes to the end for SAME_UPPER.
    const bool upper = std::string(mode) == "SAME_UPPER";
    k::ConvParams p{{4, 3},
                    {2, 2},
                    {1, 1},
                    {upper ? 1 : 2, upper ? 0 : 1},
                    {upper ? 2 : 1, upper ? 1 : 0},
                    1,
                    {}};
    expect_close(
        values<T>(out[0]),
        conv_ref(p, x.shape(), values<T>(x), w.shape(), values<T>(w), b.data<T>(), out[0].shape()));
    // Unknown batch and height stay unknown.
    TypeInfo xi = info_of(x);
    xi.shape = {-1, 2, -1, 6};
    std::vector<TypeInfo> in_types = {xi, info_of(w)};
    REQUIRE(nncert::find_op("Conv")->infer(node, in_types, types).is_ok());
    CHECK(types[0].shape == Shape{-1, 4, -1, 3});
  }
  Node node = make_node("Conv");
  node.attrs.set("pads", std::vector<int64_t>{1, 0, 2, 1});
  node.attrs.set("dilations", std::vector<int64_t>{1, 2});
  std::vector<TypeInfo> types;
  std::vector<Tensor> out;
  REQUIRE(run_op(node, {x, w}, types, out).is_ok());
  CHECK(out[0].shape() == Shape{1, 4, 7, 3});
  const Tensor bad_w = random_tensor<T>(rng, {4, 3, 3, 3});
  CHECK(run_op(node, {x, bad_w}, types, out).code() == ErrorCode::kShapeMismatch);
  CHECK(run_op(node, {x, w, random_tensor<T>(rng, {5})}, types, out).code() ==
        ErrorCode::kShapeMismatch);
  const nncert::OpDef* def = nncert::find_op("Conv");
  CHECK(def->min_inputs == 2);
  CHECK(def->max_inputs == 3);
  const std::vector<Shape> shapes_in = {{1, 2, 7, 6}, {4, 2, 4, 3}};
  const std::vector<Shape> shapes_out = {{1, 4, 7, 3}};
  const double flops = def->flops(node, shapes_in, shapes_out);
  CHECK(flops == 2.0 * 4 * 7 * 3 * 2 * 4 * 3);
}

TEMPLATE_TEST_CASE("ConvTranspose op: output_shape and output_padding", "[ops]", float, double) {
  using T = TestType;
  std::mt19937 rng(6);
  const Tensor x = random_tensor<T>(rng, {2, 4, 3, 4});
  const Tensor w = random_tensor<T>(rng, {4, 3, 3, 3});  // group 2 -> 6 output channels
  Node node = make_node("ConvTranspose");
  node.attrs.set("group", int64_t{2});
  node.attrs.set("strides", std::vector<int64_t>{2, 2});
  node.attrs.set("output_shape", std::vector<int64_t>{6, 9});
  std::vector<TypeInfo> types;
  std::vector<Tensor> out;
  REQUIRE(run_op(node, {x, w}, types, out).is_ok());
  CHECK(out[0].shape() == Shape{2, 6, 6, 9});
  // total padding: H 2*2 + 3 - 6 = 1 -> begin 1, end 0; W 2*3 + 3 - 9 = 0.
  k::ConvParams p{{3, 3}, {2, 2}, {1, 1}, {1, 0}, {0, 0}, 2, {0, 0}};
  expect_close(values<T>(out[0]),
               conv_transpose_ref(p,
                                  x.shape(),
                                  values<T>(x),
                                  w.shape(),
                                  values<T>(w),
                                  static_cast<const T*>(nullptr),
                                  out[0].shape()));
  Node node2 = make_node("ConvTranspose");
  node2.attrs.set("group", int64_t{2});
  node2.attrs.set("strides", std::vector<int64_t>{2, 2});
  node2.attrs.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  node2.attrs.set("output_padding", std::vector<int64_t>{1, 0});
  REQUIRE(run_op(node2, {x, w}, types, out).is_ok());
  CHECK(out[0].shape() == Shape{2, 6, 6, 7});
  CHECK(run_op(node2, {x, random_tensor<T>(rng, {3, 3, 3, 3})}, types, out).code() ==
        ErrorCode::kShapeMismatch);
}

TEMPLATE_TEST_CASE("MatMul op: numpy broadcasting and 1-D operands", "[ops]", float, double) {
  using T = TestType;
  std::mt19937 rng(8);
  const Tensor a = random_tensor<T>(rng, {2, 1, 3, 4});
  const Tensor b = random_tensor<T>(rng, {5, 4, 2});
  std::vector<TypeInfo> types;
  std::vector<Tensor> out;
  REQUIRE(run_op(make_node("MatMul"), {a, b}, types, out, 2).is_ok());
  REQUIRE(out[0].shape() == Shape{2, 5, 3, 2});
  std::vector<double> ref(60);
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 5; ++j)
      for (int64_t r = 0; r < 3; ++r)
        for (int64_t c = 0; c < 2; ++c) {
          double acc = 0.0;
          for (int64_t l = 0; l < 4; ++l)
            acc += a.get((i * 3 + r) * 4 + l) * b.get((j * 4 + l) * 2 + c);
          ref[static_cast<size_t>(((i * 5 + j) * 3 + r) * 2 + c)] = acc;
        }
  expect_close(values<T>(out[0]), ref);
  // Shared right operand (one big GEMM) and 1-D promotion.
  REQUIRE(run_op(make_node("MatMul"), {a, random_tensor<T>(rng, {4, 6})}, types, out).is_ok());
  CHECK(out[0].shape() == Shape{2, 1, 3, 6});
  const Tensor v = random_tensor<T>(rng, {4});
  REQUIRE(run_op(make_node("MatMul"), {v, b}, types, out).is_ok());
  CHECK(out[0].shape() == Shape{5, 2});
  CHECK(std::abs(out[0].get(3) - (v.get(0) * b.get(9) + v.get(1) * b.get(11) +
                                  v.get(2) * b.get(13) + v.get(3) * b.get(15))) < 1e-5);
  REQUIRE(run_op(make_node("MatMul"), {a, v}, types, out).is_ok());
  CHECK(out[0].shape() == Shape{2, 1, 3});
  REQUIRE(run_op(make_node("MatMul"), {v, v}, types, out).is_ok());
  CHECK(out[0].shape() == Shape{});
  CHECK(run_op(make_node("MatMul"), {a, random_tensor<T>(rng, {5, 3, 2})}, types, out).code() ==
        ErrorCode::kShapeMismatch);
  // Unknown extents propagate.
  TypeInfo ai = info_of(a);
  ai.shape = {-1, 1, 3, 4};
  std::vector<TypeInfo> in_types = {ai, info_of(b)};
  REQUIRE(nncert::find_op("MatMul")->infer(make_node("MatMul"), in_types, types).is_ok());
  CHECK(types[0].shape == Shape{-1, 5, 3, 2});
}

TEMPLATE_TEST_CASE("Gemm op: transA, transB, alpha, beta, C broadcast", "[ops]", float, double) {
  using T = TestType;
  std::mt19937 rng(9);
  const int64_t m = 5, n = 7, kk = 3;
  for (int t = 0; t < 4; ++t) {
    const bool ta = (t & 1) != 0, tb = (t & 2) != 0;
    const Tensor a = random_tensor<T>(rng, ta ? Shape{kk, m} : Shape{m, kk});
    const Tensor b = random_tensor<T>(rng, tb ? Shape{n, kk} : Shape{kk, n});
    const Tensor c = random_tensor<T>(rng, t == 3 ? Shape{m, 1} : Shape{n});
    Node node = make_node("Gemm");
    node.attrs.set("transA", int64_t{ta});
    node.attrs.set("transB", int64_t{tb});
    node.attrs.set("alpha", 0.5);
    node.attrs.set("beta", -2.0);
    std::vector<TypeInfo> types;
    std::vector<Tensor> out;
    REQUIRE(run_op(node, {a, b, c}, types, out).is_ok());
    REQUIRE(out[0].shape() == Shape{m, n});
    std::vector<T> cfull(static_cast<size_t>(m * n));
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j)
        cfull[static_cast<size_t>(i * n + j)] = c.data<T>()[t == 3 ? i : j];
    expect_close(values<T>(out[0]),
                 gemm_ref(ta, tb, m, n, kk, 0.5, values<T>(a), values<T>(b), -2.0, cfull));
    // Without C.
    REQUIRE(run_op(node, {a, b}, types, out).is_ok());
    expect_close(values<T>(out[0]),
                 gemm_ref(ta, tb, m, n, kk, 0.5, values<T>(a), values<T>(b), 0.0, cfull));
    CHECK(run_op(node, {a, random_tensor<T>(rng, {n, n})}, types, out).code() ==
          ErrorCode::kShapeMismatch);
    CHECK(run_op(node, {a, b, random_tensor<T>(rng, {2, n})}, types, out).code() ==
          ErrorCode::kShapeMismatch);
  }
}

TEMPLATE_TEST_CASE("BatchNormalization and GlobalAveragePool ops", "[ops]", float, double) {
  using T = TestType;
  std::mt19937 rng(10);
  const Tensor x = random_tensor<T>(rng, {2, 3, 4, 5});
  const Tensor scale = random_tensor<T>(rng, {3});
  const Tensor bias = random_tensor<T>(rng, {3});
  const Tensor mean = random_tensor<T>(rng, {3});
  Tensor var = random_tensor<T>(rng, {3});
  for (int64_t c = 0; c < 3; ++c)
    var.set(c, std::abs(var.get(c)) + 0.1);
  Node bn = make_node("BatchNormalization");
  bn.attrs.set("epsilon", 1e-3);
  std::vector<TypeInfo> types;
  std::vector<Tensor> out;
  REQUIRE(run_op(bn, {x, scale, bias, mean, var}, types, out).is_ok());
  std::vector<double> ref(static_cast<size_t>(x.numel()));
  for (int64_t i = 0; i < x.numel(); ++i) {
    const int64_t c = (i / 20) % 3;
    ref[static_cast<size_t>(i)] =
        scale.get(c) * (x.get(i) - mean.get(c)) / std::sqrt(var.get(c) + 1e-3) + bias.get(c);
  }
  expect_close(values<T>(out[0]), ref);
  CHECK(run_op(bn, {x, scale, random_tensor<T>(rng, {4}), mean, var}, types, out).code() ==
        ErrorCode::kShapeMismatch);
  bn.attrs.set("training_mode", int64_t{1});
  CHECK(run_op(bn, {x, scale, bias, mean, var}, types, out).code() == ErrorCode::kUnsupported);

  REQUIRE(run_op(make_node("GlobalAveragePool"), {x}, types, out).is_ok());
  REQUIRE(out[0].shape() == Shape{2, 3, 1, 1});
  for (int64_t pl = 0; pl < 6; ++pl) {
    double s = 0.0;
    for (int64_t i = 0; i < 20; ++i)
      s += x.get(pl * 20 + i);
    CHECK(std::abs(out[0].get(pl) - s / 20.0) < tol<T>());
  }
}

TEMPLATE_TEST_CASE("Pool ops: shapes, ceil_mode and Indices", "[ops]", float, double) {
  using T = TestType;
  std::mt19937 rng(11);
  const Tensor x = random_tensor<T>(rng, {1, 2, 5, 6});
  Node avg = make_node("AveragePool");
  avg.attrs.set("kernel_shape", std::vector<int64_t>{2, 2});
  avg.attrs.set("strides", std::vector<int64_t>{2, 2});
  avg.attrs.set("ceil_mode", int64_t{1});
  std::vector<TypeInfo> types;
  std::vector<Tensor> out;
  REQUIRE(run_op(avg, {x}, types, out).is_ok());
  CHECK(out[0].shape() == Shape{1, 2, 3, 3});
  CHECK(std::abs(out[0].get(6) - (x.get(24) + x.get(25)) / 2) < tol<T>());  // partial window
  avg.attrs.set("auto_pad", std::string("SAME_UPPER"));
  avg.attrs.set("strides", std::vector<int64_t>{1, 1});
  REQUIRE(run_op(avg, {x}, types, out).is_ok());
  CHECK(out[0].shape() == Shape{1, 2, 5, 6});

  Node mp = make_node("MaxPool", 2);
  mp.attrs.set("kernel_shape", std::vector<int64_t>{3, 3});
  mp.attrs.set("strides", std::vector<int64_t>{2, 2});
  mp.attrs.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  REQUIRE(run_op(mp, {x}, types, out).is_ok());
  REQUIRE(out.size() == 2);
  CHECK(out[0].shape() == Shape{1, 2, 3, 3});
  CHECK(out[1].dtype() == DType::kI64);
  for (int64_t i = 0; i < out[0].numel(); ++i)
    CHECK(x.get(out[1].get_int(i)) == out[0].get(i));
  mp.attrs.set("storage_order", int64_t{1});
  const std::vector<int64_t> row_major = out[1].to_int_vector();
  REQUIRE(run_op(mp, {x}, types, out).is_ok());
  for (int64_t i = 0; i < out[1].numel(); ++i) {
    const int64_t idx = row_major[static_cast<size_t>(i)];
    const int64_t plane = idx / 30, h = idx % 30 / 6, w = idx % 6;
    CHECK(out[1].get_int(i) == plane * 30 + w * 5 + h);
  }
  Node bad = make_node("MaxPool");
  bad.attrs.set("kernel_shape", std::vector<int64_t>{3});
  CHECK(run_op(bad, {x}, types, out).code() == ErrorCode::kInvalidGraph);
}
