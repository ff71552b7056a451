// Op conformance, in the style of ggml's test-backend-ops: one table entry (or more) per op type
// of the op table. Each entry builds a small ONNX model with OnnxBuilder (seeded random inputs,
// attributes and edge cases) and a naive reference computed here in double with plain loops over
// row-major indices. The harness loads every model through the ONNX frontend with and without
// constant folding and runs it in float64 (tolerance 1e-12) and float32 (1e-5 rel + 1e-6 abs).
// Linear ops get inputs that are multiples of 1/8, so that float32 sums are exact as well.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "ops/op_def.h"
#include "runtime/executor.h"
#include "tests/support/onnx_builder.h"

namespace nncert {
namespace {

using test::OnnxBuilder;
using Rng = std::mt19937;
using Idx = std::vector<int64_t>;
using I = std::vector<int64_t>;
using Fn1 = double (*)(double);

// ---- index helpers (row-major) ----

Idx unravel(int64_t flat, const Shape& s) {
  Idx idx(s.size());
  for (size_t d = s.size(); d-- > 0;) {
    idx[d] = flat % s[d];
    flat /= s[d];
  }
  return idx;
}

int64_t ravel(const Idx& idx, const Shape& s) {
  int64_t f = 0;
  for (size_t d = 0; d < s.size(); ++d) f = f * s[d] + idx[d];
  return f;
}

// Flat index into a tensor of shape `s` numpy-broadcast to the output index `out`.
int64_t bcast(const Idx& out, const Shape& s) {
  int64_t f = 0;
  const size_t off = out.size() - s.size();
  for (size_t d = 0; d < s.size(); ++d) f = f * s[d] + (s[d] == 1 ? 0 : out[off + d]);
  return f;
}

Shape bcast_shape(const std::vector<Tensor>& xs) {
  size_t r = 0;
  for (const auto& x : xs) r = std::max(r, x.shape().size());
  Shape s(r, 1);
  for (const auto& x : xs)
    for (size_t d = 0; d < x.shape().size(); ++d) {
      int64_t& o = s[r - x.shape().size() + d];
      o = std::max(o, x.shape()[d]);
    }
  return s;
}

double at(const Tensor& t, const Idx& idx) { return t.get(ravel(idx, t.shape())); }
int64_t norm_index(int64_t i, int64_t n) { return i < 0 ? i + n : i; }
double fa(double v) { return static_cast<double>(static_cast<float>(v)); }  // a float attribute

// A tensor of shape s with element f(index).
template <class F>
Tensor make(const Shape& s, F f, DType dt = DType::kF64) {
  Tensor t(dt, s);
  for (int64_t i = 0; i < t.numel(); ++i) t.set(i, f(unravel(i, s)));
  return t;
}

// ---- inputs ----

// Uniform in [lo, hi], rounded to float so that a float32 run sees exactly the same inputs.
Tensor rnd(Rng& r, const Shape& s, double lo = -2, double hi = 2) {
  std::uniform_real_distribution<double> u(lo, hi);
  return make(s, [&](const Idx&) { return fa(u(r)); });
}
// Multiples of 1/8 in [-2, 2]: products and their short sums are exact in float32.
Tensor dyadic(Rng& r, const Shape& s) {
  std::uniform_int_distribution<int> u(-16, 16);
  return make(s, [&](const Idx&) { return u(r) / 8.0; });
}
Tensor rnd_int(Rng& r, const Shape& s, int64_t lo, int64_t hi) {
  std::uniform_int_distribution<int64_t> u(lo, hi);
  return make(s, [&](const Idx&) { return static_cast<double>(u(r)); }, DType::kI64);
}
Tensor ints(const std::vector<int64_t>& v) {
  return Tensor::from_vector<int64_t>({static_cast<int64_t>(v.size())}, v);
}
Tensor vals(const Shape& s, const std::vector<double>& v) {
  return Tensor::from_vector<double>(s, v);
}
Tensor scalar(double v) { return Tensor::scalar(DType::kF64, v); }

// ---- references ----

// y = f(x_1, ..., x_n) elementwise with numpy broadcasting.
Tensor ref_map(const std::vector<Tensor>& xs,
               const std::function<double(const std::vector<double>&)>& f,
               DType dt = DType::kF64) {
  return make(
      bcast_shape(xs),
      [&](const Idx& o) {
        std::vector<double> v;
        for (const auto& x : xs) v.push_back(x.get(bcast(o, x.shape())));
        return f(v);
      },
      dt);
}
Tensor ref_unary(const Tensor& x, Fn1 f) {
  return ref_map({x}, [f](const std::vector<double>& v) { return f(v[0]); });
}

// y[i_0, ..., i_r] = x[sel_0[i_0], ..., sel_r[i_r]] for per-axis index lists.
Tensor take(const Tensor& x, const std::vector<Idx>& sel) {
  Shape s;
  for (const auto& l : sel) s.push_back(static_cast<int64_t>(l.size()));
  return make(s, [&](const Idx& o) {
    Idx i(o.size());
    for (size_t d = 0; d < o.size(); ++d) i[d] = sel[d][static_cast<size_t>(o[d])];
    return at(x, i);
  });
}
Idx all(int64_t n) {
  Idx v;
  for (int64_t i = 0; i < n; ++i) v.push_back(i);
  return v;
}

// Same values, new shape (Reshape, Flatten, Squeeze, Unsqueeze, Identity).
Tensor same(const Tensor& x, const Shape& s) { return x.to(DType::kF64).clone().reshaped(s); }

Tensor ref_reduce(const Tensor& x, const std::vector<bool>& red, bool keep, bool mean) {
  Shape os;
  for (size_t d = 0; d < red.size(); ++d)
    if (!red[d]) os.push_back(x.shape()[d]);
    else if (keep) os.push_back(1);
  Tensor y(DType::kF64, os);
  for (int64_t i = 0; i < x.numel(); ++i) {
    Idx idx = unravel(i, x.shape()), o;
    for (size_t d = 0; d < red.size(); ++d)
      if (!red[d]) o.push_back(idx[d]);
      else if (keep) o.push_back(0);
    const int64_t k = ravel(o, os);
    y.set(k, y.get(k) + x.get(i));
  }
  if (mean)
    for (int64_t k = 0; k < y.numel(); ++k)
      y.set(k, y.get(k) * static_cast<double>(y.numel()) / static_cast<double>(x.numel()));
  return y;
}

// Pad source coordinate of output coordinate o along one axis (-1: the constant value).
int64_t pad_src(int64_t o, int64_t before, int64_t n, const std::string& mode) {
  int64_t i = o - before;
  if (mode == "edge") return std::clamp<int64_t>(i, 0, n - 1);
  if (mode == "reflect") {
    while (i < 0 || i >= n) i = i < 0 ? -i : 2 * (n - 1) - i;
    return i;
  }
  return i < 0 || i >= n ? -1 : i;
}
Tensor ref_pad(const Tensor& x, const Idx& pads, const std::string& mode, double cval) {
  const size_t r = x.shape().size();
  Shape s(r);
  for (size_t d = 0; d < r; ++d) s[d] = x.shape()[d] + pads[d] + pads[r + d];
  return make(s, [&](const Idx& o) {
    Idx i(r);
    for (size_t d = 0; d < r; ++d) {
      i[d] = pad_src(o[d], pads[d], x.shape()[d], mode);
      if (i[d] < 0) return cval;
    }
    return at(x, i);
  });
}

// Softmax over `axis`; legacy: over all axes from `axis` on (opset < 13 2-D coercion).
Tensor ref_softmax(const Tensor& x, size_t axis, bool legacy) {
  const Shape& s = x.shape();
  int64_t tail = 1;
  for (size_t d = axis; d < s.size(); ++d) tail *= s[d];
  return make(s, [&](const Idx& o) {
    std::vector<double> row;
    if (legacy) {
      const int64_t base = ravel(o, s) / tail * tail;
      for (int64_t j = 0; j < tail; ++j) row.push_back(x.get(base + j));
    } else {
      Idx k = o;
      for (k[axis] = 0; k[axis] < s[axis]; ++k[axis]) row.push_back(at(x, k));
    }
    const double m = *std::max_element(row.begin(), row.end());
    double sum = 0;
    for (double v : row) sum += std::exp(v - m);
    return std::exp(at(x, o) - m) / sum;
  });
}

// ---- a conformance case: the model, its inputs, and the expected outputs ----

struct Case {
  explicit Case(int64_t opset = 13) : b(std::make_unique<OnnxBuilder>(opset)) {}
  std::unique_ptr<OnnxBuilder> b;
  std::vector<Tensor> inputs;
  std::vector<Tensor> want;  // int64 where the output must be int64, else float64

  // A graph input (declared float32 for float data, as exported models do).
  Tensor input(const std::string& name, const Tensor& t) {
    b->input(name, is_float(t.dtype()) ? DType::kF32 : t.dtype(), t.shape());
    inputs.push_back(t);
    return t;
  }
  // An initializer (float data stored as float32).
  Tensor init(const std::string& name, const Tensor& t) {
    b->initializer(name, is_float(t.dtype()) ? t.to(DType::kF32) : t);
    return t;
  }
  OnnxBuilder& node(const std::string& op, const std::vector<std::string>& in,
                    const std::vector<std::string>& out, const std::string& name = "") {
    return b->node(op, in, out, name);
  }
  void output(const std::string& name, const Tensor& ref) {
    b->output(name);
    want.push_back(ref);
  }
};

Case unary(Rng& r, const char* op, double lo, double hi, Fn1 f,
           const std::vector<double>& special = {}) {
  Case c;
  Tensor x = rnd(r, {3, 4}, lo, hi);
  for (size_t i = 0; i < special.size(); ++i) x.set(static_cast<int64_t>(i), special[i]);
  c.input("x", x);
  c.node(op, {"x"}, {"y"});
  c.output("y", ref_unary(x, f));
  return c;
}

Case binary(Rng& r, const char* op, const Shape& sa, const Shape& sb,
            double (*f)(double, double)) {
  Case c;
  Tensor a = c.input("a", rnd(r, sa)), b = c.input("b", rnd(r, sb, 0.5, 2));
  c.node(op, {"a", "b"}, {"y"});
  c.output("y", ref_map({a, b}, [f](const std::vector<double>& v) { return f(v[0], v[1]); }));
  return c;
}

// Max / Min of three broadcast inputs.
Case variadic(Rng& r, const char* op, bool is_max) {
  Case c;
  Tensor a = c.input("a", rnd(r, {2, 3})), b = c.input("b", rnd(r, {3}));
  Tensor d = c.input("d", rnd(r, {2, 1}));
  c.node(op, {"a", "b", "d"}, {"y"});
  c.output("y", ref_map({a, b, d}, [is_max](const std::vector<double>& v) {
             return is_max ? std::max({v[0], v[1], v[2]}) : std::min({v[0], v[1], v[2]});
           }));
  return c;
}

// 2-D pooling reference over a [N, C, H, W] input: kernel k, stride s, symmetric padding p;
// `avg_include_pad`: -1 max, 0 mean over real cells, 1 mean over the whole window.
Tensor ref_pool(const Tensor& x, int64_t k, int64_t s, int64_t p, int avg_include_pad) {
  const Shape& xs = x.shape();
  const int64_t oh = (xs[2] + 2 * p - k) / s + 1, ow = (xs[3] + 2 * p - k) / s + 1;
  return make({xs[0], xs[1], oh, ow}, [&](const Idx& o) {
    double acc = avg_include_pad < 0 ? -std::numeric_limits<double>::infinity() : 0.0;
    int64_t count = 0;
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < k; ++j) {
        const int64_t h = o[2] * s - p + i, w = o[3] * s - p + j;
        if (h < 0 || h >= xs[2] || w < 0 || w >= xs[3]) continue;
        const double v = at(x, {o[0], o[1], h, w});
        acc = avg_include_pad < 0 ? std::max(acc, v) : acc + v;
        ++count;
      }
    if (avg_include_pad < 0) return acc;
    return acc / static_cast<double>(avg_include_pad ? k * k : count);
  });
}

struct Entry {
  const char* op;    // op type covered
  const char* what;  // the case
  Case (*make)(Rng&);
};

const std::vector<Entry>& entries() {
  static const std::vector<Entry> table = {
      // ---- elementwise unary ----
      {"Abs", "mixed signs", [](Rng& r) { return unary(r, "Abs", -3, 3, std::fabs); }},
      {"Erf", "including |x| >= 4", [](Rng& r) {
         return unary(r, "Erf", -3, 3, std::erf, {0.0, 4.0, -5.0, 10.0});
       }},
      {"Exp", "[-5, 5]", [](Rng& r) { return unary(r, "Exp", -5, 5, std::exp); }},
      {"Log", "(0.1, 5)", [](Rng& r) { return unary(r, "Log", 0.1, 5, std::log); }},
      {"Neg", "mixed signs",
       [](Rng& r) { return unary(r, "Neg", -3, 3, [](double v) { return -v; }); }},
      {"Reciprocal", "away from 0", [](Rng& r) {
         return unary(r, "Reciprocal", 0.5, 3, [](double v) { return 1 / v; }, {-0.5, -2.0});
       }},
      {"Relu", "including 0", [](Rng& r) {
         return unary(r, "Relu", -3, 3, [](double v) { return std::max(v, 0.0); }, {0.0});
       }},
      {"Sigmoid", "large |x| gives no NaN", [](Rng& r) {
         return unary(r, "Sigmoid", -6, 6, [](double v) { return 1 / (1 + std::exp(-v)); },
                      {1000.0, -1000.0, 100.0, -100.0, 50.0, -50.0, 0.0});
       }},
      {"Sign", "including 0", [](Rng& r) {
         return unary(r, "Sign", -3, 3, [](double v) { return v > 0 ? 1.0 : v < 0 ? -1.0 : 0.0; },
                      {0.0, -0.0});
       }},
      {"Softplus", "large |x|", [](Rng& r) {
         return unary(
             r, "Softplus", -5, 5,
             [](double v) { return v > 30 ? v + std::log1p(std::exp(-v)) : std::log1p(std::exp(v)); },
             {1000.0, -1000.0, 100.0, -100.0, 40.0, -40.0});
       }},
      {"Sqrt", "(0, 9)", [](Rng& r) { return unary(r, "Sqrt", 0, 9, std::sqrt, {0.0}); }},
      {"Tanh", "[-4, 4]", [](Rng& r) { return unary(r, "Tanh", -4, 4, std::tanh, {30.0}); }},
      {"LeakyRelu", "alpha 0.1", [](Rng& r) {
         Case c;
         Tensor x = c.input("x", rnd(r, {3, 4}, -3, 3));
         c.node("LeakyRelu", {"x"}, {"y"}).attr("alpha", 0.1);
         c.node("LeakyRelu", {"x"}, {"y2"});  // default alpha 0.01
         c.output("y", ref_unary(x, [](double v) { return v >= 0 ? v : fa(0.1) * v; }));
         c.output("y2", ref_unary(x, [](double v) { return v >= 0 ? v : 0.01 * v; }));
         return c;
       }},
      // ---- elementwise binary / variadic ----
      {"Add", "broadcast [2,1,4] + [3,1], int64 + scalar", [](Rng& r) {
         Case c;
         Tensor a = c.input("a", rnd(r, {2, 1, 4})), b = c.input("b", rnd(r, {3, 1}));
         Tensor ai = c.input("ai", rnd_int(r, {2, 2}, -9, 9)), bi = c.init("bi", ints({5}));
         c.node("Add", {"a", "b"}, {"y"});
         c.node("Add", {"ai", "bi"}, {"yi"});
         c.output("y", ref_map({a, b}, [](const std::vector<double>& v) { return v[0] + v[1]; }));
         c.output("yi", ref_map({ai, bi}, [](const std::vector<double>& v) { return v[0] + v[1]; },
                                DType::kI64));
         return c;
       }},
      {"Sub", "broadcast [3] - [2,3]", [](Rng& r) {
         return binary(r, "Sub", {3}, {2, 3}, [](double a, double b) { return a - b; });
       }},
      {"Mul", "broadcast [2,3,1] * [1,1,4]", [](Rng& r) {
         return binary(r, "Mul", {2, 3, 1}, {1, 1, 4},
                       [](double a, double b) { return a * b; });
       }},
      {"Div", "float broadcast and int64 truncation", [](Rng& r) {
         Case c = binary(r, "Div", {2, 3}, {3}, [](double a, double b) { return a / b; });
         Tensor ai = c.input("ai", ints({-7, 7, -8, 9, 0, -1}));
         Tensor bi = c.input("bi", ints({2, -2, 3, -4, 5, 3}));
         c.node("Div", {"ai", "bi"}, {"yi"});
         c.output("yi", ints({-3, -3, -2, -2, 0, 0}));
         return c;
       }},
      {"Pow", "exponents 2, 0.5, int64 3, broadcast tensor", [](Rng& r) {
         Case c;
         Tensor x = c.input("x", rnd(r, {2, 3})), xp = c.input("xp", rnd(r, {2, 3}, 0.1, 4));
         c.init("two", scalar(2));
         c.init("half", scalar(0.5));
         c.init("three", Tensor::scalar(DType::kI64, 3));
         Tensor e = c.init("e", rnd(r, {3}, -1, 2));
         c.node("Pow", {"x", "two"}, {"y2"});
         c.node("Pow", {"xp", "half"}, {"y05"});
         c.node("Pow", {"x", "three"}, {"y3"});
         c.node("Pow", {"xp", "e"}, {"ye"});
         c.output("y2", ref_unary(x, [](double v) { return v * v; }));
         c.output("y05", ref_unary(xp, std::sqrt));
         c.output("y3", ref_unary(x, [](double v) { return v * v * v; }));
         c.output("ye", ref_map({xp, e}, [](const std::vector<double>& v) {
                    return std::pow(v[0], v[1]);
                  }));
         return c;
       }},
      {"Max", "3 broadcast inputs", [](Rng& r) { return variadic(r, "Max", true); }},
      {"Min", "3 broadcast inputs", [](Rng& r) { return variadic(r, "Min", false); }},
      {"Clip", "only min, only max, both (opset 13)", [](Rng& r) {
         Case c;
         Tensor x = c.input("x", rnd(r, {3, 4}));
         c.init("lo", scalar(-0.5));
         c.init("hi", scalar(0.75));
         c.node("Clip", {"x", "lo"}, {"y1"});
         c.node("Clip", {"x", "", "hi"}, {"y2"});
         c.node("Clip", {"x", "lo", "hi"}, {"y3"});
         c.output("y1", ref_unary(x, [](double v) { return std::max(v, -0.5); }));
         c.output("y2", ref_unary(x, [](double v) { return std::min(v, 0.75); }));
         c.output("y3", ref_unary(x, [](double v) { return std::clamp(v, -0.5, 0.75); }));
         return c;
       }},
      {"Clip", "attribute form with only min (opset 6)", [](Rng& r) {
         Case c(6);
         Tensor x = c.input("x", rnd(r, {3, 4}));
         c.node("Clip", {"x"}, {"y"}).attr("min", -0.25);
         c.output("y", ref_unary(x, [](double v) { return std::max(v, -0.25); }));
         return c;
       }},
      {"Cast", "float -> int64 (truncation), bool, int64 -> float/double", [](Rng& r) {
         Case c;
         Tensor x = rnd(r, {2, 3}, -5, 5);
         x.set(0, 0.0);
         x.set(1, -2.75);
         x.set(2, 2.5);
         c.input("x", x);
         Tensor xi = c.input("xi", ints({-3, 0, 5, 7}));
         c.node("Cast", {"x"}, {"yi"}).attr("to", 7);
         c.node("Cast", {"x"}, {"yb"}).attr("to", 9);
         c.node("Cast", {"xi"}, {"yf"}).attr("to", 1);
         c.node("Cast", {"xi"}, {"yd"}).attr("to", 11);
         c.output("yi", ref_map({x}, [](const std::vector<double>& v) { return std::trunc(v[0]); },
                                DType::kI64));
         c.output("yb", ref_map({x}, [](const std::vector<double>& v) { return v[0] != 0 ? 1.0 : 0.0; },
                                DType::kI64));
         c.output("yf", same(xi, {4}));
         c.output("yd", same(xi, {4}));
         return c;
       }},
      // ---- shape and data movement ----
      {"Identity", "copy", [](Rng& r) {
         Case c;
         Tensor x = c.input("x", rnd(r, {2, 3}));
         c.node("Identity", {"x"}, {"y"});
         c.output("y", same(x, {2, 3}));
         return c;
       }},
      {"Dropout", "inference with a ratio input (opset 13)", [](Rng& r) {
         Case c;
         Tensor x = c.input("x", rnd(r, {2, 3}));
         c.init("ratio", scalar(0.25));
         c.node("Dropout", {"x", "ratio"}, {"y"});
         c.output("y", same(x, {2, 3}));
         return c;
       }},
      {"Dropout", "unused mask output (opset 11)", [](Rng& r) {
         Case c(11);
         Tensor x = c.input("x", rnd(r, {2, 3}));
         c.node("Dropout", {"x"}, {"y", "mask"}).attr("ratio", 0.5);
         c.output("y", same(x, {2, 3}));
         return c;
       }},
      {"Constant", "value, value_float, value_ints", [](Rng& r) {
         Case c;
         Tensor x = c.input("x", rnd(r, {2, 3}));
         Tensor k = dyadic(r, {2, 3});
         c.node("Constant", {}, {"k"}).attr("value", k.to(DType::kF32));
         c.node("Constant", {}, {"s"}).attr("value_float", 1.5);
         c.node("Constant", {}, {"shp"}).attr("value_ints", I{3, 2});
         c.node("Mul", {"x", "k"}, {"m"});
         c.node("Add", {"m", "s"}, {"a"});
         c.node("Reshape", {"a", "shp"}, {"y"});
         c.output("y", same(ref_map({x, k}, [](const std::vector<double>& v) {
                              return v[0] * v[1] + 1.5;
                            }), {3, 2}));
         c.output("k", k);
         return c;
       }},
      {"ConstantOfShape", "from Shape, int64 value, default zeros", [](Rng& r) {
         Case c;
         Tensor x = c.input("x", rnd(r, {2, 3}));
         c.init("dims", ints({3}));
         c.init("dims2", ints({2, 2}));
         c.node("Shape", {"x"}, {"s"});
         c.node("ConstantOfShape", {"s"}, {"f"}).attr("value", vals({1}, {2.5}).to(DType::kF32));
         c.node("Add", {"x", "f"}, {"y"});
         c.node("ConstantOfShape", {"dims"}, {"yi"})
             .attr("value", Tensor::from_vector<int64_t>({1}, {7}));
         c.node("ConstantOfShape", {"dims2"}, {"z"});
         c.output("y", ref_unary(x, [](double v) { return v + 2.5; }));
         c.output("yi", ints({7, 7, 7}));
         c.output("z", vals({2, 2}, {0, 0, 0, 0}));
         return c;
       }},
      {"Shape", "full, start/end, negative start (opset 15)", [](Rng& r) {
         Case c(15);
         c.input("x", rnd(r, {2, 3, 4, 5}));
         c.node("Shape", {"x"}, {"s"});
         c.node("Shape", {"x"}, {"s1"}).attr("start", 1).attr("end", -1);
         c.node("Shape", {"x"}, {"s2"}).attr("start", -2);
         c.output("s", ints({2, 3, 4, 5}));
         c.output("s1", ints({3, 4}));
         c.output("s2", ints({4, 5}));
         return c;
       }},
      {"Reshape", "with 0 and -1", [](Rng& r) {
         Case c;
         Tensor x = c.input("x", rnd(r, {2, 3, 4}));
         c.init("t1", ints({0, -1}));
         c.init("t2", ints({-1, 2, 0}));
         c.node("Reshape", {"x", "t1"}, {"y1"});
         c.node("Reshape", {"x", "t2"}, {"y2"});
         c.output("y1", same(x, {2, 12}));
         c.output("y2", same(x, {3, 2, 4}));
         return c;
       }},
      {"Flatten", "default, negative and zero axis", [](Rng& r) {
         Case c;
         Tensor x = c.input("x", rnd(r, {2, 3, 4, 5}));
         c.node("Flatten", {"x"}, {"y1"});
         c.node("Flatten", {"x"}, {"y2"}).attr("axis", -2);
         c.node("Flatten", {"x"}, {"y3"}).attr("axis", 0);
         c.output("y1", same(x, {2, 60}));
         c.output("y2", same(x, {6, 20}));
         c.output("y3", same(x, {1, 120}));
         return c;
       }},
      {"Squeeze", "attribute axes (opset 11)", [](Rng& r) {
         Case c(11);
         Tensor x = c.input("x", rnd(r, {2, 1, 3, 1}));
         c.node("Squeeze", {"x"}, {"y"}).attr("axes", I{1, -1});
         c.output("y", same(x, {2, 3}));
         return c;
       }},
      {"Squeeze", "input axes, negative, and no axes (opset 13)", [](Rng& r) {
         Case c;
         Tensor x = c.input("x", rnd(r, {2, 1, 3, 1}));
         c.init("ax", ints({-3}));
         c.node("Squeeze", {"x", "ax"}, {"y1"});
         c.node("Squeeze", {"x"}, {"y2"});
         c.output("y1", same(x, {2, 3, 1}));
         c.output("y2", same(x, {2, 3}));
         return c;
       }},
      {"Unsqueeze", "attribute axes (opset 11)", [](Rng& r) {
         Case c(11);
         Tensor x = c.input("x", rnd(r, {2, 3}));
         c.node("Unsqueeze", {"x"}, {"y"}).attr("axes", I{0, -1});
         c.output("y", same(x, {1, 2, 3, 1}));
         return c;
       }},
      {"Unsqueeze", "input axes, negative (opset 13)", [](Rng& r) {
         Case c;
         Tensor x = c.input("x", rnd(r, {2, 3}));
         c.init("ax", ints({1, -1}));
         c.node("Unsqueeze", {"x", "ax"}, {"y"});
         c.output("y", same(x, {2, 1, 3, 1}));
         return c;
       }},
      {"Transpose", "default and explicit perm", [](Rng& r) {
         Case c;
         Tensor x = c.input("x", rnd(r, {2, 3, 4}));
         c.node("Transpose", {"x"}, {"y1"});
         c.node("Transpose", {"x"}, {"y2"}).attr("perm", I{1, 0, 2});
         c.output("y1", make({4, 3, 2}, [&](const Idx& o) { return at(x, {o[2], o[1], o[0]}); }));
         c.output("y2", make({3, 2, 4}, [&](const Idx& o) { return at(x, {o[1], o[0], o[2]}); }));
         return c;
       }},
      {"Concat", "3 inputs on a negative axis", [](Rng& r) {
         Case c;
         Tensor a = c.input("a", rnd(r, {2, 1, 3})), b = c.input("b", rnd(r, {2, 2, 3}));
         Tensor d = c.init("d", rnd(r, {2, 3, 3}));
         c.node("Concat", {"a", "b", "d"}, {"y"}).attr("axis", -2);
         c.output("y", make({2, 6, 3}, [&](const Idx& o) {
                    if (o[1] < 1) return at(a, o);
                    if (o[1] < 3) return at(b, {o[0], o[1] - 1, o[2]});
                    return at(d, {o[0], o[1] - 3, o[2]});
                  }));
         return c;
       }},
      {"Split", "with sizes and into equal parts (opset 13)", [](Rng& r) {
         Case c;
         Tensor x = c.input("x", rnd(r, {2, 7})), z = c.input("z", rnd(r, {6, 2}));
         c.init("sizes", ints({2, 5}));
         c.node("Split", {"x", "sizes"}, {"a", "b"}).attr("axis", -1);
         c.node("Split", {"z"}, {"p", "q", "s"});
         c.output("a", take(x, {all(2), {0, 1}}));
         c.output("b", take(x, {all(2), {2, 3, 4, 5, 6}}));
         c.output("p", take(z, {{0, 1}, all(2)}));
         c.output("q", take(z, {{2, 3}, all(2)}));
         c.output("s", take(z, {{4, 5}, all(2)}));
         return c;
       }},
      {"Split", "num_outputs with a smaller last part (opset 18)", [](Rng& r) {
         Case c(18);
         Tensor x = c.input("x", rnd(r, {2, 7}));
         c.node("Split", {"x"}, {"a", "b", "d"}).attr("axis", 1).attr("num_outputs", 3);
         c.output("a", take(x, {all(2), {0, 1, 2}}));
         c.output("b", take(x, {all(2), {3, 4, 5}}));
         c.output("d", take(x, {all(2), {6}}));
         return c;
       }},
      {"Split", "attribute sizes (opset 11)", [](Rng& r) {
         Case c(11);
         Tensor x = c.input("x", rnd(r, {3, 2}));
         c.node("Split", {"x"}, {"a", "b"}).attr("split", I{1, 2});
         c.output("a", take(x, {{0}, all(2)}));
         c.output("b", take(x, {{1, 2}, all(2)}));
         return c;
       }},
      {"Slice", "negative steps, clamped ends, empty result (opset 13)", [](Rng& r) {
         Case c;
         Tensor x = c.input("x", rnd(r, {5, 6}));
         const int64_t lo = std::numeric_limits<int64_t>::min();
         c.init("st1", ints({4, -1}));
         c.init("en1", ints({-100, lo}));
         c.init("ax1", ints({0, 1}));
         c.init("sp1", ints({-2, -3}));
         c.init("st2", ints({1}));
         c.init("en2", ints({1000}));
         c.init("ax2", ints({-1}));
         c.init("st3", ints({-3}));
         c.init("en3", ints({-1}));
         c.init("st4", ints({3}));
         c.init("en4", ints({1}));
         c.node("Slice", {"x", "st1", "en1", "ax1", "sp1"}, {"y1"});
         c.node("Slice", {"x", "st2", "en2", "ax2"}, {"y2"});
         c.node("Slice", {"x", "st3", "en3"}, {"y3"});
         c.node("Slice", {"x", "st4", "en4", "ax2"}, {"y4"});
         c.output("y1", take(x, {{4, 2, 0}, {5, 2}}));
         c.output("y2", take(x, {all(5), {1, 2, 3, 4, 5}}));
         c.output("y3", take(x, {{2, 3}, all(6)}));
         c.output("y4", take(x, {all(5), {}}));
         return c;
       }},
      {"Slice", "attribute form (opset 9)", [](Rng& r) {
         Case c(9);
         Tensor x = c.input("x", rnd(r, {4, 5}));
         c.node("Slice", {"x"}, {"y"}).attr("starts", I{1, -4}).attr("ends", I{3, 100});
         c.node("Slice", {"x"}, {"y2"})
             .attr("starts", I{2})
             .attr("ends", I{-1})
             .attr("axes", I{-1});
         c.output("y", take(x, {{1, 2}, {1, 2, 3, 4}}));
         c.output("y2", take(x, {all(4), {2, 3}}));
         return c;
       }},
      {"Pad", "constant, reflect, edge (opset 13)", [](Rng& r) {
         Case c;
         Tensor x = c.input("x", rnd(r, {2, 3, 4}));
         c.init("p1", ints({0, 1, 2, 1, 0, 1}));
         c.init("p2", ints({0, 2, 1, 0, 1, 3}));
         c.init("p3", ints({1, 0, 2, 0, 2, 1}));
         c.init("cv", scalar(1.5));
         c.node("Pad", {"x", "p1", "cv"}, {"y1"});
         c.node("Pad", {"x", "p2"}, {"y2"}).attr("mode", "reflect");
         c.node("Pad", {"x", "p3"}, {"y3"}).attr("mode", "edge");
         c.output("y1", ref_pad(x, {0, 1, 2, 1, 0, 1}, "constant", 1.5));
         c.output("y2", ref_pad(x, {0, 2, 1, 0, 1, 3}, "reflect", 0));
         c.output("y3", ref_pad(x, {1, 0, 2, 0, 2, 1}, "edge", 0));
         return c;
       }},
      {"Pad", "axes input and a negative (cropping) pad (opset 18)", [](Rng& r) {
         Case c(18);
         Tensor x = c.input("x", rnd(r, {2, 3, 4}));
         c.init("p", ints({-1, 2}));
         c.init("ax", ints({-1}));
         c.node("Pad", {"x", "p", "", "ax"}, {"y"});
         c.output("y", ref_pad(x, {0, 0, -1, 0, 0, 2}, "constant", 0));
         return c;
       }},
      {"Gather", "2-D negative indices and runtime indices", [](Rng& r) {
         Case c;
         Tensor x = c.input("x", rnd(r, {4, 3, 2}));
         Tensor idx = c.init("idx", Tensor::from_vector<int64_t>({2, 2}, {0, -1, 2, -3}));
         Tensor idx2 = c.input("idx2", ints({-1, 0, 1}));
         c.node("Gather", {"x", "idx"}, {"y1"}).attr("axis", 1);
         c.node("Gather", {"x", "idx2"}, {"y2"}).attr("axis", -1);
         c.node("Gather", {"x", "idx2"}, {"y3"});
         c.output("y1", make({4, 2, 2, 2}, [&](const Idx& o) {
                    const int64_t k = idx.get_int(ravel({o[1], o[2]}, idx.shape()));
                    return at(x, {o[0], norm_index(k, 3), o[3]});
                  }));
         c.output("y2", make({4, 3, 3}, [&](const Idx& o) {
                    return at(x, {o[0], o[1], norm_index(idx2.get_int(o[2]), 2)});
                  }));
         c.output("y3", make({3, 3, 2}, [&](const Idx& o) {
                    return at(x, {norm_index(idx2.get_int(o[0]), 4), o[1], o[2]});
                  }));
         return c;
       }},
      // ---- reductions and normalisations ----
      {"ReduceMean", "attribute axes, keepdims=0 (opset 13)", [](Rng& r) {
         Case c;
         Tensor x = c.input("x", rnd(r, {2, 3, 4}));
         c.node("ReduceMean", {"x"}, {"y"}).attr("axes", I{0, -1}).attr("keepdims", 0);
         c.node("ReduceMean", {"x"}, {"y2"});
         c.output("y", ref_reduce(x, {true, false, true}, false, true));
         c.output("y2", ref_reduce(x, {true, true, true}, true, true));
         return c;
       }},
      {"ReduceMean", "input axes (opset 18)", [](Rng& r) {
         Case c(18);
         Tensor x = c.input("x", rnd(r, {2, 3, 4}));
         c.init("ax", ints({1}));
         c.node("ReduceMean", {"x", "ax"}, {"y"});
         c.output("y", ref_reduce(x, {false, true, false}, true, true));
         return c;
       }},
      {"ReduceSum", "input axes, all axes keepdims=0, noop_with_empty_axes (opset 13)",
       [](Rng& r) {
         Case c;
         Tensor x = c.input("x", rnd(r, {2, 3, 4}));
         c.init("ax", ints({-1, 0}));
         c.node("ReduceSum", {"x", "ax"}, {"y1"});
         c.node("ReduceSum", {"x"}, {"y2"}).attr("keepdims", 0);
         c.node("ReduceSum", {"x"}, {"y3"}).attr("noop_with_empty_axes", 1);
         c.output("y1", ref_reduce(x, {true, false, true}, true, false));
         c.output("y2", ref_reduce(x, {true, true, true}, false, false));
         c.output("y3", same(x, {2, 3, 4}));
         return c;
       }},
      {"ReduceSum", "attribute axes (opset 11)", [](Rng& r) {
         Case c(11);
         Tensor x = c.input("x", rnd(r, {2, 3, 4}));
         c.node("ReduceSum", {"x"}, {"y"}).attr("axes", I{1}).attr("keepdims", 0);
         c.output("y", ref_reduce(x, {false, true, false}, false, false));
         return c;
       }},
      {"Softmax", "middle axis, large values (opset 13)", [](Rng& r) {
         Case c;
         Tensor x = rnd(r, {2, 4, 3}, -3, 3);
         x.set(0, 100.0);
         x.set(4, -100.0);
         c.input("x", x);
         c.node("Softmax", {"x"}, {"y"}).attr("axis", 1);
         c.node("Softmax", {"x"}, {"y2"});
         c.output("y", ref_softmax(x, 1, false));
         c.output("y2", ref_softmax(x, 2, false));
         return c;
       }},
      {"Softmax", "legacy 2-D coercion (opset 11)", [](Rng& r) {
         Case c(11);
         Tensor x = c.input("x", rnd(r, {2, 3, 4}, -3, 3));
         c.node("Softmax", {"x"}, {"y"});
         c.node("Softmax", {"x"}, {"y2"}).attr("axis", -1);
         c.output("y", ref_softmax(x, 1, true));
         c.output("y2", ref_softmax(x, 2, true));
         return c;
       }},
      {"LayerNormalization", "over the last 2 axes (opset 17)", [](Rng& r) {
         Case c(17);
         Tensor x = c.input("x", rnd(r, {2, 3, 4}));
         Tensor g = c.init("g", rnd(r, {3, 4})), b = c.init("b", rnd(r, {3, 4}));
         c.node("LayerNormalization", {"x", "g", "b"}, {"y"}).attr("axis", -2).attr("epsilon", 1e-3);
         c.output("y", make({2, 3, 4}, [&](const Idx& o) {
                    double mean = 0, var = 0;
                    for (int64_t i = 0; i < 12; ++i) mean += x.get(o[0] * 12 + i) / 12;
                    for (int64_t i = 0; i < 12; ++i)
                      var += (x.get(o[0] * 12 + i) - mean) * (x.get(o[0] * 12 + i) - mean) / 12;
                    return (at(x, o) - mean) / std::sqrt(var + fa(1e-3)) * at(g, {o[1], o[2]}) +
                           at(b, {o[1], o[2]});
                  }));
         return c;
       }},
      {"BatchNormalization", "inference", [](Rng& r) {
         Case c(15);
         Tensor x = c.input("x", rnd(r, {2, 3, 2, 2}));
         Tensor s = c.init("s", rnd(r, {3})), b = c.init("b", rnd(r, {3}));
         Tensor m = c.init("m", rnd(r, {3})), v = c.init("v", rnd(r, {3}, 0.5, 2));
         c.node("BatchNormalization", {"x", "s", "b", "m", "v"}, {"y"}).attr("epsilon", 1e-3);
         c.output("y", make({2, 3, 2, 2}, [&](const Idx& o) {
                    const Idx k{o[1]};
                    return (at(x, o) - at(m, k)) / std::sqrt(at(v, k) + fa(1e-3)) * at(s, k) +
                           at(b, k);
                  }));
         return c;
       }},
      // ---- compute-heavy ops (their corner cases live in test_kernels.cpp) ----
      {"Gemm", "transB with C broadcast, transA with C column", [](Rng& r) {
         Case c;
         Tensor a = c.input("a", dyadic(r, {3, 4})), a2 = c.input("a2", dyadic(r, {4, 3}));
         Tensor b = c.init("b", dyadic(r, {5, 4})), b2 = c.init("b2", dyadic(r, {4, 5}));
         Tensor cc = c.init("c", dyadic(r, {5})), c2 = c.init("c2", dyadic(r, {3, 1}));
         c.node("Gemm", {"a", "b", "c"}, {"y"}).attr("transB", 1).attr("alpha", 0.5).attr("beta", 2.0);
         c.node("Gemm", {"a2", "b2", "c2"}, {"y2"}).attr("transA", 1);
         c.output("y", make({3, 5}, [&](const Idx& o) {
                    double acc = 0;
                    for (int64_t k = 0; k < 4; ++k) acc += at(a, {o[0], k}) * at(b, {o[1], k});
                    return 0.5 * acc + 2 * at(cc, {o[1]});
                  }));
         c.output("y2", make({3, 5}, [&](const Idx& o) {
                    double acc = 0;
                    for (int64_t k = 0; k < 4; ++k) acc += at(a2, {k, o[0]}) * at(b2, {k, o[1]});
                    return acc + at(c2, {o[0], 0});
                  }));
         return c;
       }},
      {"MatMul", "batched with broadcast, 1-D left operand", [](Rng& r) {
         Case c;
         Tensor a = c.input("a", dyadic(r, {2, 1, 3, 4})), v = c.input("v", dyadic(r, {4}));
         Tensor b = c.init("b", dyadic(r, {3, 4, 5}));
         c.node("MatMul", {"a", "b"}, {"y"});
         c.node("MatMul", {"v", "b"}, {"y2"});
         c.output("y", make({2, 3, 3, 5}, [&](const Idx& o) {
                    double acc = 0;
                    for (int64_t k = 0; k < 4; ++k)
                      acc += at(a, {o[0], 0, o[2], k}) * at(b, {o[1], k, o[3]});
                    return acc;
                  }));
         c.output("y2", make({3, 5}, [&](const Idx& o) {
                    double acc = 0;
                    for (int64_t k = 0; k < 4; ++k) acc += v.get(k) * at(b, {o[0], k, o[1]});
                    return acc;
                  }));
         return c;
       }},
      {"Conv", "padding, stride 2, 2 groups, bias", [](Rng& r) {
         Case c;
         Tensor x = c.input("x", dyadic(r, {1, 4, 5, 5}));
         Tensor w = c.init("w", dyadic(r, {4, 2, 3, 3})), b = c.init("b", dyadic(r, {4}));
         c.node("Conv", {"x", "w", "b"}, {"y"})
             .attr("kernel_shape", I{3, 3})
             .attr("pads", I{1, 1, 1, 1})
             .attr("strides", I{2, 2})
             .attr("group", 2);
         c.output("y", make({1, 4, 3, 3}, [&](const Idx& o) {
                    double acc = b.get(o[1]);
                    for (int64_t ic = 0; ic < 2; ++ic)
                      for (int64_t i = 0; i < 3; ++i)
                        for (int64_t j = 0; j < 3; ++j) {
                          const int64_t h = o[2] * 2 - 1 + i, wc = o[3] * 2 - 1 + j;
                          if (h < 0 || h >= 5 || wc < 0 || wc >= 5) continue;
                          acc += at(x, {0, o[1] / 2 * 2 + ic, h, wc}) * at(w, {o[1], ic, i, j});
                        }
                    return acc;
                  }));
         return c;
       }},
      {"ConvTranspose", "stride 2, pads, output_padding, bias", [](Rng& r) {
         Case c;
         Tensor x = c.input("x", dyadic(r, {1, 2, 3, 3}));
         Tensor w = c.init("w", dyadic(r, {2, 3, 3, 3})), b = c.init("b", dyadic(r, {3}));
         c.node("ConvTranspose", {"x", "w", "b"}, {"y"})
             .attr("strides", I{2, 2})
             .attr("pads", I{1, 1, 1, 1})
             .attr("output_padding", I{1, 1});
         // Scatter form: y[oc, ih*2 - 1 + i, iw*2 - 1 + j] += x[ic, ih, iw] * w[ic, oc, i, j].
         Tensor y = make({1, 3, 6, 6}, [&](const Idx& o) { return b.get(o[1]); });
         for (int64_t ic = 0; ic < 2; ++ic)
           for (int64_t ih = 0; ih < 3; ++ih)
             for (int64_t iw = 0; iw < 3; ++iw)
               for (int64_t oc = 0; oc < 3; ++oc)
                 for (int64_t i = 0; i < 3; ++i)
                   for (int64_t j = 0; j < 3; ++j) {
                     const int64_t h = ih * 2 - 1 + i, wc = iw * 2 - 1 + j;
                     if (h < 0 || h >= 6 || wc < 0 || wc >= 6) continue;
                     const int64_t k = ravel({0, oc, h, wc}, y.shape());
                     y.set(k, y.get(k) + at(x, {0, ic, ih, iw}) * at(w, {ic, oc, i, j}));
                   }
         c.output("y", y);
         return c;
       }},
      {"MaxPool", "2x2 stride 2 with padding", [](Rng& r) {
         Case c;
         Tensor x = c.input("x", rnd(r, {1, 2, 5, 5}, -3, -1));  // all negative: pads never win
         c.node("MaxPool", {"x"}, {"y"})
             .attr("kernel_shape", I{2, 2})
             .attr("strides", I{2, 2})
             .attr("pads", I{1, 1, 1, 1});
         c.output("y", ref_pool(x, 2, 2, 1, -1));
         return c;
       }},
      {"AveragePool", "2x2 stride 2 with padding, count_include_pad 0 and 1", [](Rng& r) {
         Case c;
         Tensor x = c.input("x", rnd(r, {1, 2, 5, 5}));
         c.node("AveragePool", {"x"}, {"y"})
             .attr("kernel_shape", I{2, 2})
             .attr("strides", I{2, 2})
             .attr("pads", I{1, 1, 1, 1});
         c.node("AveragePool", {"x"}, {"y2"})
             .attr("kernel_shape", I{2, 2})
             .attr("strides", I{2, 2})
             .attr("pads", I{1, 1, 1, 1})
             .attr("count_include_pad", 1);
         c.output("y", ref_pool(x, 2, 2, 1, 0));
         c.output("y2", ref_pool(x, 2, 2, 1, 1));
         return c;
       }},
      {"GlobalAveragePool", "[2,3,4,5]", [](Rng& r) {
         Case c;
         Tensor x = c.input("x", rnd(r, {2, 3, 4, 5}));
         c.node("GlobalAveragePool", {"x"}, {"y"});
         c.output("y", ref_reduce(x, {false, false, true, true}, true, true));
         return c;
       }},
  };
  return table;
}

// ---- the harness ----

uint32_t seed_of(const Entry& e) {
  uint32_t h = 2166136261u;  // FNV-1a over "op/what"
  for (const char* s : {e.op, "/", e.what})
    for (; *s; ++s) h = (h ^ static_cast<uint8_t>(*s)) * 16777619u;
  return h;
}

// Counts elements outside |got - want| <= atol + rtol |want| (NaN never passes) and describes
// the first one.
void compare(const Tensor& got, const Tensor& want, DType run, const std::string& where) {
  INFO(where << ": got shape " << shape_to_string(got.shape()) << " "
             << dtype_name(got.dtype()) << ", want " << shape_to_string(want.shape()) << " "
             << dtype_name(want.dtype()));
  REQUIRE(got.shape() == want.shape());
  CHECK((want.dtype() == DType::kI64 ? got.dtype() == DType::kI64 : is_float(got.dtype())));
  const double rtol = run == DType::kF64 ? 1e-12 : 1e-5, atol = run == DType::kF64 ? 1e-12 : 1e-6;
  int64_t bad = 0;
  std::ostringstream first;
  first.precision(17);
  for (int64_t i = 0; i < want.numel(); ++i) {
    const double g = got.get(i), w = want.get(i);
    if (std::abs(g - w) <= atol + rtol * std::abs(w)) continue;
    if (bad++ == 0) first << "first mismatch at flat index " << i << ": got " << g << ", want " << w;
  }
  INFO(bad << " mismatching element(s); " << first.str());
  CHECK(bad == 0);
}

bool has_node(const Graph& g, const std::string& op) {
  return std::any_of(g.nodes().begin(), g.nodes().end(),
                     [&](const Node& n) { return n.op == op; });
}

void run_entry(const Entry& e) {
  Rng rng(seed_of(e));
  const Case c = e.make(rng);
  const OpDef* def = find_op(e.op);
  for (bool fold : {true, false}) {
    OnnxLoadOptions options;
    options.prepare_options.fold_constants = fold;
    auto model = c.b->load(options);
    const std::string where = std::string(e.op) + " (" + e.what + (fold ? ", folded" : "") + ")";
    if (!model && model.status().code() == ErrorCode::kUnsupported && def && !def->forward) {
      WARN(where << ": skipped, the op is still a placeholder: " << model.status().to_string());
      return;
    }
    INFO(where << ": " << model.status().to_string());
    REQUIRE(model.has_value());
    if (!fold) CHECK(has_node(model->graph, e.op));  // the op's own rules run in the executor
    for (DType run : {DType::kF64, DType::kF32}) {
      const std::string at_run = where + ", " + dtype_name(run);
      std::vector<Tensor> got;
      try {
        got = test::run_graph(model->graph, c.inputs, run);
      } catch (const std::exception& ex) {
        FAIL_CHECK(at_run << ": " << ex.what());
        continue;
      }
      REQUIRE(got.size() == c.want.size());
      for (size_t k = 0; k < got.size(); ++k)
        compare(got[k], c.want[k], run, at_run + ", output " + std::to_string(k));
    }
  }
}

TEST_CASE("every op in the op table has a conformance entry", "[ops]") {
  std::set<std::string> covered, table;
  for (const Entry& e : entries()) covered.insert(e.op);
  std::string missing, unknown;
  for (const OpDef* def : all_ops()) {
    table.insert(std::string(def->name));
    if (!covered.count(std::string(def->name))) missing += " " + std::string(def->name);
  }
  for (const std::string& op : covered)
    if (!table.count(op)) unknown += " " + op;
  INFO("ops without a conformance entry:" << missing);
  CHECK(missing.empty());
  INFO("entries for ops not in the table:" << unknown);
  CHECK(unknown.empty());
}

TEST_CASE("op conformance against naive references", "[ops]") {
  for (const Entry& e : entries()) {
    INFO("entry " << e.op << ": " << e.what);
    run_entry(e);
  }
}

// ---- shape-inference errors through the loader ----

void expect_load_error(const OnnxBuilder& b, ErrorCode code, const std::string& node,
                       const std::string& text) {
  auto m = b.load();
  REQUIRE_FALSE(m.has_value());
  const std::string msg = m.status().message();
  INFO(m.status().to_string());
  CHECK(m.status().code() == code);
  CHECK(msg.find("'" + node + "'") != std::string::npos);
  CHECK(msg.find(text) != std::string::npos);
}

TEST_CASE("shape-inference errors name the node", "[ops]") {
  SECTION("Add of [2,3] and [4]") {
    OnnxBuilder b(13);
    b.input("a", DType::kF32, {2, 3}).input("b", DType::kF32, {4});
    b.node("Add", {"a", "b"}, {"y"}, "bad_add").output("y");
    expect_load_error(b, ErrorCode::kShapeMismatch, "bad_add", "cannot be broadcast");
  }
  SECTION("Concat with mismatched extents") {
    OnnxBuilder b(13);
    b.input("a", DType::kF32, {2, 3}).input("b", DType::kF32, {3, 3});
    b.node("Concat", {"a", "b"}, {"y"}, "bad_concat").attr("axis", 1).output("y");
    expect_load_error(b, ErrorCode::kShapeMismatch, "bad_concat", "differ outside axis 1");
  }
  SECTION("Reshape to an impossible size") {
    OnnxBuilder b(13);
    b.input("x", DType::kF32, {2, 3}).initializer("t", ints({4, -1}));
    b.node("Reshape", {"x", "t"}, {"y"}, "bad_reshape").output("y");
    expect_load_error(b, ErrorCode::kShapeMismatch, "bad_reshape", "cannot reshape");
    OnnxBuilder b2(13);
    b2.input("x", DType::kF32, {2, 3}).initializer("t", ints({7}));
    b2.node("Reshape", {"x", "t"}, {"y"}, "bad_reshape2").output("y");
    expect_load_error(b2, ErrorCode::kShapeMismatch, "bad_reshape2", "cannot reshape");
  }
  SECTION("Gather index out of range") {
    for (int64_t bad : {3, -4}) {
      OnnxBuilder b(13);
      b.input("x", DType::kF32, {3, 2}).initializer("i", ints({0, bad}));
      b.node("Gather", {"x", "i"}, {"y"}, "bad_gather").output("y");
      expect_load_error(b, ErrorCode::kShapeMismatch, "bad_gather", "out of range");
    }
  }
  SECTION("Squeeze of an axis whose extent is not 1") {
    OnnxBuilder b(13);
    b.input("x", DType::kF32, {2, 1, 3}).initializer("ax", ints({-1}));
    b.node("Squeeze", {"x", "ax"}, {"y"}, "bad_squeeze").output("y");
    expect_load_error(b, ErrorCode::kShapeMismatch, "bad_squeeze", "not 1");
  }
  SECTION("Split sizes that do not sum to the axis") {
    OnnxBuilder b(13);
    b.input("x", DType::kF32, {5}).initializer("s", ints({2, 2}));
    b.node("Split", {"x", "s"}, {"p", "q"}, "bad_split").output("p").output("q");
    expect_load_error(b, ErrorCode::kShapeMismatch, "bad_split", "sum to 4");
  }
  SECTION("Softmax axis out of range") {
    OnnxBuilder b(13);
    b.input("x", DType::kF32, {2, 3});
    b.node("Softmax", {"x"}, {"y"}, "bad_softmax").attr("axis", 2).output("y");
    expect_load_error(b, ErrorCode::kShapeMismatch, "bad_softmax", "out of range");
  }
  SECTION("MatMul inner extents differ") {
    OnnxBuilder b(13);
    b.input("a", DType::kF32, {2, 3}).input("b", DType::kF32, {4, 5});
    b.node("MatMul", {"a", "b"}, {"y"}, "bad_matmul").output("y");
    expect_load_error(b, ErrorCode::kShapeMismatch, "bad_matmul", "");
  }
  SECTION("bad attributes: Transpose perm, Slice step 0") {
    OnnxBuilder b(13);
    b.input("x", DType::kF32, {2, 3});
    b.node("Transpose", {"x"}, {"y"}, "bad_perm").attr("perm", I{0, 0}).output("y");
    expect_load_error(b, ErrorCode::kInvalidGraph, "bad_perm", "not a permutation");
    OnnxBuilder b2(13);
    b2.input("x", DType::kF32, {4}).initializer("s", ints({0})).initializer("e", ints({4}));
    b2.initializer("a", ints({0})).initializer("st", ints({0}));
    b2.node("Slice", {"x", "s", "e", "a", "st"}, {"y"}, "bad_step").output("y");
    expect_load_error(b2, ErrorCode::kInvalidGraph, "bad_step", "step 0");
  }
}

TEST_CASE("a runtime Gather index out of range fails naming the node", "[ops]") {
  OnnxBuilder b(13);
  b.input("x", DType::kF32, {3, 2}).input("i", DType::kI64, {2});
  b.node("Gather", {"x", "i"}, {"y"}, "rt_gather").output("y");
  auto m = b.load();
  REQUIRE(m.has_value());
  auto ex = Executor::create(m->graph);
  REQUIRE(ex.has_value());
  auto out = ex->run({vals({3, 2}, {1, 2, 3, 4, 5, 6}), ints({1, 3})});
  REQUIRE_FALSE(out.has_value());
  INFO(out.status().to_string());
  CHECK(out.status().code() == ErrorCode::kShapeMismatch);
  CHECK(out.status().message().find("'rt_gather'") != std::string::npos);
}

}  // namespace
}  // namespace nncert
