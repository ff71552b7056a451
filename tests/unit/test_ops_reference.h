// Naive references for the op conformance test (tests/unit/test_ops.cpp): row-major index
// helpers, seeded inputs, and plain-loop reference implementations computed in double. Only
// test_ops.cpp includes this header.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace nncert::test::opref {

using Rng = std::mt19937;
using Idx = std::vector<int64_t>;
using V = const std::vector<double>&;
using Fn1 = double (*)(double);

// ---- index helpers (row-major) ----

inline Idx unravel(int64_t flat, const Shape& s) {
  Idx idx(s.size());
  for (size_t d = s.size(); d-- > 0;) {
    idx[d] = flat % s[d];
    flat /= s[d];
  }
  return idx;
}

inline int64_t ravel(const Idx& idx, const Shape& s) {
  int64_t f = 0;
  for (size_t d = 0; d < s.size(); ++d)
    f = f * s[d] + idx[d];
  return f;
}

// Flat index into a tensor of shape `s` numpy-broadcast to the output index `out`.
inline int64_t bcast(const Idx& out, const Shape& s) {
  int64_t f = 0;
  const size_t off = out.size() - s.size();
  for (size_t d = 0; d < s.size(); ++d)
    f = f * s[d] + (s[d] == 1 ? 0 : out[off + d]);
  return f;
}

inline Shape bcast_shape(const std::vector<Tensor>& xs) {
  size_t r = 0;
  for (const auto& x : xs)
    r = std::max(r, x.shape().size());
  Shape s(r, 1);
  for (const auto& x : xs)
    for (size_t d = 0; d < x.shape().size(); ++d) {
      int64_t& o = s[r - x.shape().size() + d];
      o = std::max(o, x.shape()[d]);
    }
  return s;
}

inline double at(const Tensor& t, const Idx& idx) {
  return t.get(ravel(idx, t.shape()));
}
// A possibly negative index into an axis of extent n.
inline int64_t wrap(int64_t i, int64_t n) {
  return i < 0 ? i + n : i;
}
// The value a float attribute holds after the round trip through float32.
inline double fa(double v) {
  return static_cast<double>(static_cast<float>(v));
}

// A tensor of shape s with element f(index).
template <class F>
Tensor make(const Shape& s, F f, DType dt = DType::kF64) {
  Tensor t(dt, s);
  for (int64_t i = 0; i < t.numel(); ++i)
    t.set(i, f(unravel(i, s)));
  return t;
}

// sum_{k < n} f(k)
template <class F>
double sum(int64_t n, F f) {
  double acc = 0;
  for (int64_t k = 0; k < n; ++k)
    acc += f(k);
  return acc;
}

// ---- inputs ----

// Uniform in [lo, hi], rounded to float so that a float32 run sees exactly the same inputs.
inline Tensor rnd(Rng& r, const Shape& s, double lo = -2, double hi = 2) {
  std::uniform_real_distribution<double> u(lo, hi);
  return make(s, [&](const Idx&) { return fa(u(r)); });
}
// Multiples of 1/8 in [-2, 2]: products and their short sums are exact in float32.
inline Tensor dyadic(Rng& r, const Shape& s) {
  std::uniform_int_distribution<int> u(-16, 16);
  return make(s, [&](const Idx&) { return u(r) / 8.0; });
}
inline Tensor rnd_int(Rng& r, const Shape& s, int64_t lo, int64_t hi) {
  std::uniform_int_distribution<int64_t> u(lo, hi);
  return make(
      s, [&](const Idx&) { return static_cast<double>(u(r)); }, DType::kI64);
}
// x with its first elements replaced by `first` (edge values among random ones).
inline Tensor prefixed(Tensor x, const std::vector<double>& first) {
  for (size_t i = 0; i < first.size(); ++i)
    x.set(static_cast<int64_t>(i), first[i]);
  return x;
}
inline Tensor ints(const Idx& v) {
  return Tensor::from_vector<int64_t>({static_cast<int64_t>(v.size())}, v);
}
inline Tensor vals(const Shape& s, const std::vector<double>& v) {
  return Tensor::from_vector<double>(s, v);
}
inline Tensor scalar(double v) {
  return Tensor::scalar(DType::kF64, v);
}

// ---- references ----

// y = f(x_1, ..., x_n) elementwise with numpy broadcasting.
inline Tensor ref_map(const std::vector<Tensor>& xs,
                      const std::function<double(V)>& f,
                      DType dt = DType::kF64) {
  auto elem = [&](const Idx& o) {
    std::vector<double> v;
    for (const auto& x : xs)
      v.push_back(x.get(bcast(o, x.shape())));
    return f(v);
  };
  return make(bcast_shape(xs), elem, dt);
}
// The same with an int64 result (for ops on int64 data).
inline Tensor ref_map_i64(const std::vector<Tensor>& xs, const std::function<double(V)>& f) {
  return ref_map(xs, f, DType::kI64);
}
inline Tensor ref_unary(const Tensor& x, Fn1 f) {
  return ref_map({x}, [f](V v) { return f(v[0]); });
}

// Scalar references of the unary ops.
struct Ref {
  static double neg(double v) { return -v; }
  static double recip(double v) { return 1 / v; }
  static double relu(double v) { return v > 0 ? v : 0.0; }
  static double sigmoid(double v) { return 1 / (1 + std::exp(-v)); }
  static double sign(double v) { return v > 0 ? 1.0 : v < 0 ? -1.0 : 0.0; }
  static double softplus(double v) { return v > 30 ? v + std::exp(-v) : std::log1p(std::exp(v)); }
};

// y[i_0, ..., i_r] = x[sel_0[i_0], ..., sel_r[i_r]] for per-axis index lists.
inline Tensor take(const Tensor& x, const std::vector<Idx>& sel) {
  Shape s;
  for (const auto& l : sel)
    s.push_back(static_cast<int64_t>(l.size()));
  return make(s, [&](const Idx& o) {
    Idx i(o.size());
    for (size_t d = 0; d < o.size(); ++d)
      i[d] = sel[d][static_cast<size_t>(o[d])];
    return at(x, i);
  });
}
inline Idx all(int64_t n) {
  Idx v;
  for (int64_t i = 0; i < n; ++i)
    v.push_back(i);
  return v;
}

// Same values, new shape (Reshape, Flatten, Squeeze, Unsqueeze, Identity, ...).
inline Tensor same(const Tensor& x, const Shape& s) {
  return x.to(DType::kF64).clone().reshaped(s);
}

inline Tensor ref_reduce(const Tensor& x, const std::vector<bool>& red, bool keep, bool mean) {
  Shape os;
  for (size_t d = 0; d < red.size(); ++d)
    if (!red[d] || keep)
      os.push_back(red[d] ? 1 : x.shape()[d]);
  Tensor y(DType::kF64, os);
  for (int64_t i = 0; i < x.numel(); ++i) {
    Idx idx = unravel(i, x.shape()), o;
    for (size_t d = 0; d < red.size(); ++d)
      if (!red[d] || keep)
        o.push_back(red[d] ? 0 : idx[d]);
    const int64_t k = ravel(o, os);
    y.set(k, y.get(k) + x.get(i));
  }
  const double scale = mean ? static_cast<double>(y.numel()) / static_cast<double>(x.numel()) : 1;
  for (int64_t k = 0; k < y.numel(); ++k)
    y.set(k, y.get(k) * scale);
  return y;
}

// Pad source coordinate of output coordinate o along one axis (-1: the constant value).
inline int64_t pad_src(int64_t o, int64_t before, int64_t n, const std::string& mode) {
  int64_t i = o - before;
  if (mode == "edge")
    return std::clamp<int64_t>(i, 0, n - 1);
  if (mode == "reflect") {
    while (i < 0 || i >= n)
      i = i < 0 ? -i : 2 * (n - 1) - i;
    return i;
  }
  return i < 0 || i >= n ? -1 : i;
}
inline Tensor ref_pad(const Tensor& x, const Idx& pads, const std::string& mode, double cval = 0) {
  const size_t r = x.shape().size();
  Shape s(r);
  for (size_t d = 0; d < r; ++d)
    s[d] = x.shape()[d] + pads[d] + pads[r + d];
  return make(s, [&](const Idx& o) {
    Idx i(r);
    for (size_t d = 0; d < r; ++d) {
      i[d] = pad_src(o[d], pads[d], x.shape()[d], mode);
      if (i[d] < 0)
        return cval;
    }
    return at(x, i);
  });
}

// Softmax over `axis`; legacy: over all axes from `axis` on (opset < 13 2-D coercion).
inline Tensor ref_softmax(const Tensor& x, size_t axis, bool legacy) {
  const Shape& s = x.shape();
  int64_t tail = 1;
  for (size_t d = axis; d < s.size(); ++d)
    tail *= s[d];
  return make(s, [&](const Idx& o) {
    std::vector<double> row;
    Idx k = o;
    if (legacy)
      for (int64_t j = 0; j < tail; ++j)
        row.push_back(x.get(ravel(o, s) / tail * tail + j));
    else
      for (k[axis] = 0; k[axis] < s[axis]; ++k[axis])
        row.push_back(at(x, k));
    const double m = *std::max_element(row.begin(), row.end());
    double sum = 0;
    for (double v : row)
      sum += std::exp(v - m);
    return std::exp(at(x, o) - m) / sum;
  });
}

// 2-D pooling over [N, C, H, W]: kernel k, stride s, symmetric padding p; `mode`: -1 max,
// 0 mean over the real cells, 1 mean over the whole window (count_include_pad).
inline Tensor ref_pool(const Tensor& x, int64_t k, int64_t s, int64_t p, int mode) {
  const Shape& xs = x.shape();
  const int64_t oh = (xs[2] + 2 * p - k) / s + 1, ow = (xs[3] + 2 * p - k) / s + 1;
  return make({xs[0], xs[1], oh, ow}, [&](const Idx& o) {
    double acc = mode < 0 ? -std::numeric_limits<double>::infinity() : 0.0;
    int64_t count = 0;
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < k; ++j) {
        const int64_t h = o[2] * s - p + i, w = o[3] * s - p + j;
        if (h < 0 || h >= xs[2] || w < 0 || w >= xs[3])
          continue;
        const double v = at(x, {o[0], o[1], h, w});
        acc = mode < 0 ? std::max(acc, v) : acc + v;
        ++count;
      }
    return mode < 0 ? acc : acc / static_cast<double>(mode ? k * k : count);
  });
}

// Layer normalisation of x over groups of `n` consecutive elements, times g[i % n] (+ b).
inline Tensor ref_layer_norm(
    const Tensor& x, int64_t n, double eps, const Tensor& g, const Tensor* b) {
  return make(x.shape(), [&](const Idx& o) {
    const int64_t i = ravel(o, x.shape()), base = i / n * n;
    double mean = 0, var = 0;
    for (int64_t j = 0; j < n; ++j)
      mean += x.get(base + j) / static_cast<double>(n);
    for (int64_t j = 0; j < n; ++j)
      var += (x.get(base + j) - mean) * (x.get(base + j) - mean) / static_cast<double>(n);
    const double y = (x.get(i) - mean) / std::sqrt(var + eps) * g.get(i % n);
    return b ? y + b->get(i % n) : y;
  });
}

}  // namespace nncert::test::opref
