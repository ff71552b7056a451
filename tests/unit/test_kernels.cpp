// Property tests of the GEMM / convolution / pooling kernels against direct-loop references,
// in float and double, plus op-level tests of the matching ONNX ops (infer + forward).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include <catch2/catch.hpp>

#include "ops/op_def.h"
#include "runtime/kernels/conv.h"
#include "runtime/kernels/gemm.h"
#include "runtime/kernels/pool.h"

using nncert::DType;
using nncert::ErrorCode;
using nncert::Node;
using nncert::Shape;
using nncert::Tensor;
using nncert::TypeInfo;
namespace k = nncert::kernels;

namespace {

template <class T>
Tensor random_tensor(std::mt19937& rng, Shape shape) {
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  Tensor t(nncert::DTypeOf<T>::value, std::move(shape));
  for (int64_t i = 0; i < t.numel(); ++i)
    t.data<T>()[i] = static_cast<T>(dist(rng));
  return t;
}

// Calls f(idx) for every multi-index of `s` in row-major order.
void for_each_index(const Shape& s, const std::function<void(const Shape&)>& f) {
  if (nncert::shape_numel(s) == 0)
    return;
  Shape idx(s.size(), 0);
  while (true) {
    f(idx);
    size_t d = s.size();
    while (d > 0 && ++idx[d - 1] == s[d - 1])
      idx[--d] = 0;
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

Shape spatial(const Shape& s) {
  return Shape(s.begin() + 2, s.end());
}

double tol(DType dtype) {
  return dtype == DType::kF32 ? 1e-4 : 1e-10;
}
template <class T>
double tol() {
  return tol(nncert::DTypeOf<T>::value);
}

// Worst relative error max |got - ref| / max(1, |ref|) must stay within the dtype's tolerance.
void expect_close(const Tensor& got, const std::vector<double>& ref) {
  REQUIRE(got.numel() == static_cast<int64_t>(ref.size()));
  double worst = 0.0;
  size_t at = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double g = got.get(static_cast<int64_t>(i));
    const double err = std::abs(g - ref[i]) / std::max(1.0, std::abs(ref[i]));
    if (!(err <= worst)) {  // NaN sticks
      worst = err;
      at = i;
    }
  }
  INFO("worst relative error " << worst << " at flat index " << at << " of " << ref.size());
  CHECK(worst <= tol(got.dtype()));
}

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

// ---- references (double accumulation, direct loops) ----------------------------------------

// y = alpha * op(a) * op(b) + beta * c, c ignored when beta == 0
struct GemmSpec {
  bool ta, tb;
  int64_t m, n, k;
};
std::vector<double> gemm_ref(const GemmSpec& g,
                             double alpha,
                             const Tensor& a,
                             const Tensor& b,
                             double beta,
                             const Tensor& c) {
  const auto [ta, tb, m, n, kk] = g;
  std::vector<double> y(static_cast<size_t>(m * n));
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double acc = 0.0;
      for (int64_t l = 0; l < kk; ++l)
        acc += a.get(ta ? l * m + i : i * kk + l) * b.get(tb ? j * kk + l : l * n + j);
      y[static_cast<size_t>(i * n + j)] =
          alpha * acc + (beta == 0.0 ? 0.0 : beta * c.get(i * n + j));
    }
  return y;
}

// Input position i = o*s - pb + kk*d of output o and tap kk; false when outside `limit`.
bool tap(const k::ConvParams& p, const Shape& o, const Shape& kk, const Shape& limit, Shape& i) {
  i.resize(o.size());
  for (size_t j = 0; j < o.size(); ++j) {
    i[j] = o[j] * p.stride[j] - p.pad_begin[j] + kk[j] * p.dilation[j];
    if (i[j] < 0 || i[j] >= limit[j])
      return false;
  }
  return true;
}

// y[n,m,o] = b[m] + sum_{c in group(m), kk} x[n,c,o*s - pb + kk*d] * w[m,c',kk]
std::vector<double> conv_ref(
    const k::ConvParams& p, const Tensor& x, const Tensor& w, const Tensor& b, const Shape& ys) {
  std::vector<double> y(static_cast<size_t>(nncert::shape_numel(ys)));
  const Shape& xs = x.shape();
  const Shape& ws = w.shape();
  const int64_t mg = ys[1] / p.groups;
  Shape i;
  for (int64_t n = 0; n < ys[0]; ++n)
    for (int64_t m = 0; m < ys[1]; ++m)
      for_each_index(spatial(ys), [&](const Shape& o) {
        double acc = b.is_valid() ? b.get(m) : 0.0;
        for (int64_t cl = 0; cl < ws[1]; ++cl)
          for_each_index(spatial(ws), [&](const Shape& kk) {
            if (tap(p, o, kk, spatial(xs), i))
              acc += x.get(flat(xs, n, m / mg * ws[1] + cl, i)) * w.get(flat(ws, m, cl, kk));
          });
        y[static_cast<size_t>(flat(ys, n, m, o))] = acc;
      });
  return y;
}

// y[n,m,i*s - pb + kk*d] += x[n,c,i] * w[c,m',kk] over the group of c; then + b[m]
std::vector<double> conv_transpose_ref(
    const k::ConvParams& p, const Tensor& x, const Tensor& w, const Tensor& b, const Shape& ys) {
  std::vector<double> y(static_cast<size_t>(nncert::shape_numel(ys)), 0.0);
  const Shape& xs = x.shape();
  const Shape& ws = w.shape();
  const int64_t cg = xs[1] / p.groups;
  Shape o;
  for (int64_t n = 0; n < xs[0]; ++n)
    for (int64_t c = 0; c < xs[1]; ++c)
      for_each_index(spatial(xs), [&](const Shape& i) {
        const double xv = x.get(flat(xs, n, c, i));
        for (int64_t ml = 0; ml < ws[1]; ++ml)
          for_each_index(spatial(ws), [&](const Shape& kk) {
            if (tap(p, i, kk, spatial(ys), o))
              y[static_cast<size_t>(flat(ys, n, c / cg * ws[1] + ml, o))] +=
                  xv * w.get(flat(ws, c, ml, kk));
          });
      });
  const int64_t plane = nncert::shape_numel(spatial(ys));
  if (b.is_valid())
    for (size_t j = 0; j < y.size(); ++j)
      y[j] += b.get(static_cast<int64_t>(j) / plane % ys[1]);
  return y;
}

// Max pool: the first maximum over in-bounds taps (argmax: its flat index into x).
// Average pool, PyTorch's formulation: window [start, min(start + k, in + pe)) gives the
// count_include_pad divisor; clipped to [0, in) it gives the real cells.
std::vector<double> pool_ref(const k::PoolParams& p,
                             bool max,
                             const Tensor& x,
                             const Shape& ys,
                             std::vector<int64_t>& argmax) {
  std::vector<double> y(static_cast<size_t>(nncert::shape_numel(ys)));
  argmax.assign(y.size(), -1);
  const Shape& xs = x.shape();
  const size_t r = xs.size() - 2;
  const k::ConvParams cp{p.kernel, p.stride, p.dilation, p.pad_begin, p.pad_end, 1, {}};
  Shape i(r);
  for (int64_t n = 0; n < ys[0]; ++n)
    for (int64_t c = 0; c < ys[1]; ++c)
      for_each_index(spatial(ys), [&](const Shape& o) {
        const size_t out = static_cast<size_t>(flat(ys, n, c, o));
        if (max) {
          y[out] = -std::numeric_limits<double>::infinity();
          for_each_index(p.kernel, [&](const Shape& kk) {
            if (tap(cp, o, kk, spatial(xs), i) &&
                (argmax[out] < 0 || x.get(flat(xs, n, c, i)) > y[out])) {
              argmax[out] = flat(xs, n, c, i);
              y[out] = x.get(argmax[out]);
            }
          });
          return;
        }
        Shape lo(r), ext(r);
        int64_t pool_size = 1;
        int64_t cells = 1;
        for (size_t j = 0; j < r; ++j) {
          const int64_t start = o[j] * p.stride[j] - p.pad_begin[j];
          const int64_t end = std::min(start + p.kernel[j], xs[j + 2] + p.pad_end[j]);
          pool_size *= end - start;
          lo[j] = std::max<int64_t>(start, 0);
          ext[j] = std::max<int64_t>(std::min(end, xs[j + 2]) - lo[j], 0);
          cells *= ext[j];
        }
        double sum = 0.0;
        for_each_index(ext, [&](const Shape& q) {
          for (size_t j = 0; j < r; ++j)
            i[j] = lo[j] + q[j];
          sum += x.get(flat(xs, n, c, i));
        });
        y[out] = sum / static_cast<double>(p.count_include_pad ? pool_size : cells);
      });
  return y;
}

// ---- kernel checks --------------------------------------------------------------------------

struct ConvCase {
  Shape x;
  int64_t m;  // output channels
  Shape kernel, stride, dilation, pad_begin, pad_end;
  int64_t groups;
  bool bias;
  Shape output_padding{};  // ConvTranspose only
};

template <class T>
// sparse_input: all but every 9th spatial position of x set to zero (the scatter path that
// conv_transpose_forward takes for mostly-zero inputs such as CROWN's one-hot coefficient rows).
void check_conv(const ConvCase& cc, bool transpose, std::mt19937& rng, bool sparse_input = false) {
  const size_t r = cc.kernel.size();
  const k::ConvParams p{cc.kernel,
                        cc.stride,
                        cc.dilation,
                        cc.pad_begin,
                        cc.pad_end,
                        cc.groups,
                        cc.output_padding.empty() ? Shape(r, 0) : cc.output_padding};
  Shape ws = transpose ? Shape{cc.x[1], cc.m / cc.groups} : Shape{cc.m, cc.x[1] / cc.groups};
  Shape ys = {cc.x[0], cc.m};
  for (size_t i = 0; i < r; ++i) {
    ws.push_back(cc.kernel[i]);
    const int64_t in = cc.x[i + 2], kk = cc.kernel[i], s = cc.stride[i], d = cc.dilation[i];
    ys.push_back(transpose ? k::conv_transpose_out_extent(
                                 in, kk, s, d, cc.pad_begin[i], cc.pad_end[i], p.output_padding[i])
                           : k::conv_out_extent(in, kk, s, d, cc.pad_begin[i], cc.pad_end[i]));
  }
  INFO("x " << nncert::shape_to_string(cc.x) << " w " << nncert::shape_to_string(ws) << " y "
            << nncert::shape_to_string(ys) << (transpose ? " transposed" : ""));
  Tensor x = random_tensor<T>(rng, cc.x);
  if (sparse_input) {
    const int64_t positions = nncert::shape_numel(cc.x) / (cc.x[0] * cc.x[1]);
    for (int64_t j = 0; j < x.numel(); ++j)
      if ((j % positions) % 9 != 4)
        x.set(j, 0.0);
  }
  const Tensor w = random_tensor<T>(rng, ws);
  const Tensor b = cc.bias ? random_tensor<T>(rng, {cc.m}) : Tensor();
  auto run = [&](int threads) {
    Tensor y(x.dtype(), ys);
    for (int64_t j = 0; j < y.numel(); ++j)
      y.set(j, 7.0);  // the kernel must overwrite
    auto* fn = transpose ? &k::conv_transpose_forward<T> : &k::conv_forward<T>;
    fn(p,
       cc.x,
       x.data<T>(),
       ws,
       w.data<T>(),
       cc.bias ? b.data<T>() : nullptr,
       ys,
       y.data<T>(),
       threads);
    return y;
  };
  const Tensor y1 = run(1);
  expect_close(y1, transpose ? conv_transpose_ref(p, x, w, b, ys) : conv_ref(p, x, w, b, ys));
  CHECK(same_bits(y1, run(2)));  // bit-identical whatever the thread count
}

struct PoolCase {
  Shape x, kernel, stride, dilation, pad_begin, pad_end;
  bool ceil_mode;
};

template <class T>
void check_pool(const PoolCase& pc, bool max, bool count_include_pad, std::mt19937& rng) {
  const k::PoolParams p{
      pc.kernel, pc.stride, pc.dilation, pc.pad_begin, pc.pad_end, count_include_pad};
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
  const Tensor x = random_tensor<T>(rng, pc.x);
  std::vector<int64_t> ref_arg;
  const std::vector<double> ref = pool_ref(p, max, x, ys, ref_arg);
  Tensor y1(x.dtype(), ys), y2(x.dtype(), ys);
  if (max) {
    std::vector<int64_t> arg1(ref.size()), arg2(ref.size());
    k::max_pool<T>(p, pc.x, x.data<T>(), ys, y1.data<T>(), arg1.data(), 1);
    k::max_pool<T>(p, pc.x, x.data<T>(), ys, y2.data<T>(), arg2.data(), 2);
    CHECK(arg1 == ref_arg);
    CHECK(arg2 == ref_arg);
  } else {
    k::avg_pool<T>(p, pc.x, x.data<T>(), ys, y1.data<T>(), 1);
    k::avg_pool<T>(p, pc.x, x.data<T>(), ys, y2.data<T>(), 2);
  }
  expect_close(y1, ref);
  CHECK(same_bits(y1, y2));
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
      {200, 90, 70},   // row-split path
      {20, 300, 200},  // column-split path
  };
  for (const auto& [m, n, kk] : sizes)
    for (int t = 0; t < 4; ++t)
      for (double beta : {0.0, 1.3}) {
        const bool ta = (t & 1) != 0, tb = (t & 2) != 0;
        INFO("m " << m << " n " << n << " k " << kk << " transA " << ta << " transB " << tb
                  << " beta " << beta);
        const Tensor a = random_tensor<T>(rng, {m * kk});
        const Tensor b = random_tensor<T>(rng, {kk * n});
        Tensor c = random_tensor<T>(rng, {m, n});
        if (beta == 0.0)  // must be ignored, NaNs included
          for (int64_t i = 0; i < c.numel(); ++i)
            c.set(i, std::nan(""));
        const std::vector<double> ref = gemm_ref({ta, tb, m, n, kk}, 0.7, a, b, beta, c);
        Tensor y1 = c.clone(), y2 = c.clone();
        k::gemm<T>(ta, tb, m, n, kk, T(0.7), a.data<T>(), b.data<T>(), T(beta), y1.data<T>(), 1);
        k::gemm<T>(ta, tb, m, n, kk, T(0.7), a.data<T>(), b.data<T>(), T(beta), y2.data<T>(), 2);
        expect_close(y1, ref);
        CHECK(same_bits(y1, y2));
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
    check_conv<TestType>(cc, false, rng);
}

TEMPLATE_TEST_CASE("conv_transpose_forward matches direct loops",
                   "[kernels][conv]",
                   float,
                   double) {
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
  for (const ConvCase& cc : cases) {
    check_conv<TestType>(cc, true, rng);
    check_conv<TestType>(cc, true, rng, true);
  }
}

// ---- pooling ----------------------------------------------------------------------------------

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

TypeInfo info_of(const Tensor& t, Shape shape = {}) {
  TypeInfo ti;
  ti.dtype = t.dtype();
  ti.shape = shape.empty() ? t.shape() : std::move(shape);
  return ti;
}

using Attrs = std::vector<std::pair<std::string, nncert::AttrValue>>;
using Ints = std::vector<int64_t>;

Node make_node(const std::string& op, const Attrs& attrs = {}, int outputs = 1) {
  Node node;
  node.op = op;
  for (const auto& [name, value] : attrs)
    node.attrs.set(name, value);
  for (int i = 0; i < outputs; ++i)
    node.outputs.push_back(i);
  return node;
}

// Runs an op's infer then forward rule on concrete tensors, as the executor would.
struct OpRun {
  std::vector<TypeInfo> types;
  std::vector<Tensor> out;

  nncert::Status run(const Node& node, const std::vector<Tensor>& in, int threads = 1) {
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
  ErrorCode code(const Node& node, const std::vector<Tensor>& in) { return run(node, in).code(); }
  const Tensor& y() const { return out.at(0); }
};

// Output shape inferred from input infos (which may hold -1 extents).
Shape infer_shape(const Node& node, const std::vector<TypeInfo>& in) {
  std::vector<TypeInfo> out;
  const nncert::Status st = nncert::find_op(node.op)->infer(node, in, out);
  INFO(st.to_string());
  REQUIRE(st.is_ok());
  return out.at(0).shape;
}

}  // namespace

TEMPLATE_TEST_CASE("Conv op: auto_pad, unknown extents, mismatches", "[ops]", float, double) {
  using T = TestType;
  std::mt19937 rng(5);
  const Tensor x = random_tensor<T>(rng, {1, 2, 7, 6});
  const Tensor w = random_tensor<T>(rng, {4, 2, 4, 3});
  const Tensor b = random_tensor<T>(rng, {4});
  OpRun op;
  for (const std::string mode : {"SAME_UPPER", "SAME_LOWER"}) {
    const Node node = make_node("Conv", {{"auto_pad", mode}, {"strides", Ints{2, 2}}});
    REQUIRE(op.run(node, {x, w, b}).is_ok());
    CHECK(op.y().shape() == Shape{1, 4, 4, 3});  // ceil(7/2), ceil(6/2)
    // Total padding 3 along H and 1 along W; the odd cell goes to the end for SAME_UPPER.
    const bool up = mode == "SAME_UPPER";
    const k::ConvParams p{{4, 3}, {2, 2}, {1, 1}, {up ? 1 : 2, up ? 0 : 1}, {}, 1, {}};
    expect_close(op.y(), conv_ref(p, x, w, b, op.y().shape()));
    CHECK(infer_shape(node, {info_of(x, {-1, 2, -1, 6}), info_of(w)}) == Shape{-1, 4, -1, 3});
  }
  Node node = make_node("Conv", {{"pads", Ints{1, 0, 2, 1}}, {"dilations", Ints{1, 2}}});
  REQUIRE(op.run(node, {x, w}, 2).is_ok());
  CHECK(op.y().shape() == Shape{1, 4, 7, 3});
  const k::ConvParams p{{4, 3}, {1, 1}, {1, 2}, {1, 0}, {}, 1, {}};
  expect_close(op.y(), conv_ref(p, x, w, Tensor(), op.y().shape()));
  CHECK(infer_shape(node, {info_of(x, {3, 2, 7, -1}), info_of(w)}) == Shape{3, 4, 7, -1});
  CHECK(op.code(node, {x, random_tensor<T>(rng, {4, 3, 4, 3})}) == ErrorCode::kShapeMismatch);
  CHECK(op.code(node, {x, w, random_tensor<T>(rng, {5})}) == ErrorCode::kShapeMismatch);
  CHECK(op.code(node, {x, random_tensor<T>(rng, {4, 2, 11, 3})}) == ErrorCode::kShapeMismatch);
  CHECK(op.code(make_node("Conv", {{"strides", Ints{int64_t{1} << 40, 1}}}), {x, w}) ==
        ErrorCode::kInvalidGraph);      // would overflow the extent arithmetic
  node.attrs.set("group", int64_t{2});  // 2 channels / group 2 = 1 per group, weight has 2
  CHECK(op.code(node, {x, w}) == ErrorCode::kShapeMismatch);
  const nncert::OpDef* def = nncert::find_op("Conv");
  CHECK((def->min_inputs == 2 && def->max_inputs == 3));
  const std::vector<Shape> in_shapes = {{1, 2, 7, 6}, {4, 2, 4, 3}}, out_shapes = {{1, 4, 7, 3}};
  const double flops = def->flops(node, in_shapes, out_shapes);
  CHECK(flops == 2.0 * 4 * 7 * 3 * 2 * 4 * 3);
}

TEMPLATE_TEST_CASE("ConvTranspose op: output_shape and output_padding", "[ops]", float, double) {
  using T = TestType;
  std::mt19937 rng(6);
  const Tensor x = random_tensor<T>(rng, {2, 4, 3, 4});
  const Tensor w = random_tensor<T>(rng, {4, 3, 3, 3});  // group 2 -> 6 output channels
  OpRun op;
  Node node =
      make_node("ConvTranspose",
                {{"group", int64_t{2}}, {"strides", Ints{2, 2}}, {"output_shape", Ints{6, 9}}});
  REQUIRE(op.run(node, {x, w}).is_ok());
  CHECK(op.y().shape() == Shape{2, 6, 6, 9});
  // Total padding: H 2*2 + 3 - 6 = 1 -> begin 1, end 0; W 2*3 + 3 - 9 = 0.
  const k::ConvParams p{{3, 3}, {2, 2}, {1, 1}, {1, 0}, {0, 0}, 2, {0, 0}};
  expect_close(op.y(), conv_transpose_ref(p, x, w, Tensor(), op.y().shape()));
  node.attrs.erase("output_shape");
  node.attrs.set("pads", Ints{1, 1, 1, 1});
  node.attrs.set("output_padding", Ints{1, 0});
  REQUIRE(op.run(node, {x, w, random_tensor<T>(rng, {6})}).is_ok());
  CHECK(op.y().shape() == Shape{2, 6, 6, 7});
  CHECK(op.code(node, {x, random_tensor<T>(rng, {3, 3, 3, 3})}) == ErrorCode::kShapeMismatch);
  node.attrs.erase("pads");
  node.attrs.set("auto_pad", std::string("SAME_UPPER"));
  CHECK(infer_shape(node, {info_of(x, {-1, 4, 3, -1}), info_of(w)}) == Shape{-1, 6, 6, -1});
}

TEMPLATE_TEST_CASE("MatMul op: numpy broadcasting and 1-D operands", "[ops]", float, double) {
  using T = TestType;
  std::mt19937 rng(8);
  const Tensor a = random_tensor<T>(rng, {2, 1, 3, 4});
  const Tensor b = random_tensor<T>(rng, {5, 4, 2});
  const Node node = make_node("MatMul");
  OpRun op;
  REQUIRE(op.run(node, {a, b}, 2).is_ok());
  REQUIRE(op.y().shape() == Shape{2, 5, 3, 2});
  std::vector<double> ref(60);
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 5; ++j)
      for (int64_t r = 0; r < 3; ++r)
        for (int64_t c = 0; c < 2; ++c)
          for (int64_t l = 0; l < 4; ++l)
            ref[static_cast<size_t>(((i * 5 + j) * 3 + r) * 2 + c)] +=
                a.get((i * 3 + r) * 4 + l) * b.get((j * 4 + l) * 2 + c);
  expect_close(op.y(), ref);
  // A shared right operand (one big GEMM) and 1-D promotion on either side.
  const Tensor b2 = random_tensor<T>(rng, {4, 6});
  REQUIRE(op.run(node, {a, b2}).is_ok());
  REQUIRE(op.y().shape() == Shape{2, 1, 3, 6});
  const Tensor a2 = a.reshaped({6, 4});
  expect_close(op.y(), gemm_ref({false, false, 6, 6, 4}, 1.0, a2, b2, 0.0, Tensor()));
  const Tensor v = random_tensor<T>(rng, {4});
  REQUIRE(op.run(node, {v, b}).is_ok());
  REQUIRE(op.y().shape() == Shape{5, 2});
  CHECK(std::abs(op.y().get(3) - (v.get(0) * b.get(9) + v.get(1) * b.get(11) +
                                  v.get(2) * b.get(13) + v.get(3) * b.get(15))) < tol<T>());
  REQUIRE(op.run(node, {a, v}).is_ok());
  CHECK(op.y().shape() == Shape{2, 1, 3});
  REQUIRE(op.run(node, {v, v}).is_ok());
  CHECK(op.y().shape() == Shape{});
  CHECK(op.code(node, {a, random_tensor<T>(rng, {5, 3, 2})}) == ErrorCode::kShapeMismatch);
  CHECK(op.code(node, {a, random_tensor<T>(rng, {3, 1, 4, 2})}) == ErrorCode::kShapeMismatch);
  CHECK(infer_shape(node, {info_of(a, {-1, 1, 3, 4}), info_of(b)}) == Shape{-1, 5, 3, 2});
  CHECK(infer_shape(node, {info_of(a, {2, 1, -1, -1}), info_of(b)}) == Shape{2, 5, -1, 2});
}

TEMPLATE_TEST_CASE("Gemm op: transA, transB, alpha, beta, C broadcast", "[ops]", float, double) {
  using T = TestType;
  std::mt19937 rng(9);
  const int64_t m = 5, n = 7, kk = 3;
  OpRun op;
  for (int t = 0; t < 4; ++t) {
    const bool ta = (t & 1) != 0, tb = (t & 2) != 0;
    const Tensor a = random_tensor<T>(rng, ta ? Shape{kk, m} : Shape{m, kk});
    const Tensor b = random_tensor<T>(rng, tb ? Shape{n, kk} : Shape{kk, n});
    const Tensor c = random_tensor<T>(rng, t == 3 ? Shape{m, 1} : Shape{n});
    const Node node = make_node(
        "Gemm", {{"transA", int64_t{ta}}, {"transB", int64_t{tb}}, {"alpha", 0.5}, {"beta", -2.0}});
    REQUIRE(op.run(node, {a, b, c}).is_ok());
    REQUIRE(op.y().shape() == Shape{m, n});
    Tensor cfull(a.dtype(), {m, n});
    for (int64_t i = 0; i < m * n; ++i)
      cfull.set(i, c.get(t == 3 ? i / n : i % n));
    expect_close(op.y(), gemm_ref({ta, tb, m, n, kk}, 0.5, a, b, -2.0, cfull));
    REQUIRE(op.run(node, {a, b}).is_ok());  // without C
    expect_close(op.y(), gemm_ref({ta, tb, m, n, kk}, 0.5, a, b, 0.0, cfull));
    CHECK(op.code(node, {a, random_tensor<T>(rng, {n, n})}) == ErrorCode::kShapeMismatch);
    CHECK(op.code(node, {a, b, random_tensor<T>(rng, {2, n})}) == ErrorCode::kShapeMismatch);
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
  Node bn = make_node("BatchNormalization", {{"epsilon", 1e-3}});
  OpRun op;
  REQUIRE(op.run(bn, {x, scale, bias, mean, var}).is_ok());
  std::vector<double> ref(static_cast<size_t>(x.numel()));
  for (int64_t i = 0; i < x.numel(); ++i) {
    const int64_t c = (i / 20) % 3;
    ref[static_cast<size_t>(i)] =
        scale.get(c) * (x.get(i) - mean.get(c)) / std::sqrt(var.get(c) + 1e-3) + bias.get(c);
  }
  expect_close(op.y(), ref);
  CHECK(op.code(bn, {x, scale, random_tensor<T>(rng, {4}), mean, var}) ==
        ErrorCode::kShapeMismatch);
  bn.attrs.set("training_mode", int64_t{1});
  CHECK(op.code(bn, {x, scale, bias, mean, var}) == ErrorCode::kUnsupported);

  REQUIRE(op.run(make_node("GlobalAveragePool"), {x}).is_ok());
  REQUIRE(op.y().shape() == Shape{2, 3, 1, 1});
  std::vector<double> means(6, 0.0);
  for (int64_t i = 0; i < x.numel(); ++i)
    means[static_cast<size_t>(i / 20)] += x.get(i) / 20.0;
  expect_close(op.y(), means);
}

TEMPLATE_TEST_CASE("Pool ops: shapes, ceil_mode and Indices", "[ops]", float, double) {
  using T = TestType;
  std::mt19937 rng(11);
  const Tensor x = random_tensor<T>(rng, {1, 2, 5, 6});
  OpRun op;
  Node avg =
      make_node("AveragePool",
                {{"kernel_shape", Ints{2, 2}}, {"strides", Ints{2, 2}}, {"ceil_mode", int64_t{1}}});
  REQUIRE(op.run(avg, {x}).is_ok());
  CHECK(op.y().shape() == Shape{1, 2, 3, 3});
  CHECK(std::abs(op.y().get(6) - (x.get(24) + x.get(25)) / 2) < tol<T>());  // partial window
  avg.attrs.set("auto_pad", std::string("SAME_UPPER"));
  avg.attrs.set("strides", Ints{1, 1});
  REQUIRE(op.run(avg, {x}).is_ok());
  CHECK(op.y().shape() == Shape{1, 2, 5, 6});
  CHECK(infer_shape(avg, {info_of(x, {-1, 2, -1, 6})}) == Shape{-1, 2, -1, 6});

  Node mp =
      make_node("MaxPool",
                {{"kernel_shape", Ints{3, 3}}, {"strides", Ints{2, 2}}, {"pads", Ints{1, 1, 1, 1}}},
                2);
  REQUIRE(op.run(mp, {x}).is_ok());
  REQUIRE(op.out.size() == 2);
  CHECK(op.y().shape() == Shape{1, 2, 3, 3});
  CHECK(op.out[1].dtype() == DType::kI64);
  for (int64_t i = 0; i < op.y().numel(); ++i)
    CHECK(x.get(op.out[1].get_int(i)) == op.y().get(i));
  const std::vector<int64_t> row_major = op.out[1].to_int_vector();
  mp.attrs.set("storage_order", int64_t{1});
  REQUIRE(op.run(mp, {x}).is_ok());
  for (int64_t i = 0; i < op.out[1].numel(); ++i) {
    const int64_t idx = row_major[static_cast<size_t>(i)];
    const int64_t plane = idx / 30, h = idx % 30 / 6, w = idx % 6;
    CHECK(op.out[1].get_int(i) == plane * 30 + w * 5 + h);
  }
  CHECK(op.code(make_node("MaxPool", {{"kernel_shape", Ints{3}}}), {x}) ==
        ErrorCode::kInvalidGraph);
}
