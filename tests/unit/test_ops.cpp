// Op conformance, in the style of ggml's test-backend-ops: one entry (or more) per op type of the
// op table. Each entry builds a small ONNX model with OnnxBuilder (seeded random inputs,
// attributes, edge cases) and a naive reference computed here in double with plain loops over
// row-major indices. The harness loads every model through the ONNX frontend with and without
// constant folding and runs it in float64 (1e-12 rel + abs) and float32 (1e-5 rel + 1e-6 abs).
// Linear ops get inputs that are multiples of 1/8, so that their float32 sums are exact too.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "ops/op_def.h"
#include "runtime/executor.h"
#include "tests/support/onnx_builder.h"
#include "tests/unit/test_ops_reference.h"

namespace nncert {
namespace {

using namespace test::opref;  // NOLINT(google-build-using-namespace): the reference helpers
using test::OnnxBuilder;
using I = std::vector<int64_t>;
using Names = std::vector<std::string>;

// ---- a conformance case: the model, its inputs, and the expected outputs ----

struct Case {
  explicit Case(int64_t opset = 13) : b(std::make_unique<OnnxBuilder>(opset)) {}
  std::unique_ptr<OnnxBuilder> b;
  std::vector<Tensor> inputs;
  std::vector<Tensor> want;  // int64 where the output must be int64, else float64
  std::vector<std::string> out_names;

  // A graph input, declared float32 for float data as exported models do; `declared` may hold
  // -1 for dynamic extents.
  Tensor input(const std::string& name, const Tensor& t, const Shape& declared = {}) {
    const DType dt = is_float(t.dtype()) ? DType::kF32 : t.dtype();
    b->input(name, dt, declared.empty() ? t.shape() : declared);
    inputs.push_back(t);
    return t;
  }
  // An initializer (float data stored as float32).
  Tensor init(const std::string& name, const Tensor& t) {
    b->initializer(name, is_float(t.dtype()) ? t.to(DType::kF32) : t);
    return t;
  }
  // A 1-D int64 initializer with a fresh name, for use in a node's input list.
  std::string k(const I& v) {
    std::string name = "k";
    name += std::to_string(++consts);
    init(name, ints(v));
    return name;
  }
  int consts = 0;
  OnnxBuilder& node(const std::string& op, const Names& in, const Names& out) {
    return b->node(op, in, out);
  }
  void output(const std::string& name, const Tensor& ref) {
    b->output(name);
    out_names.push_back(name);
    want.push_back(ref);
  }
};

struct Entry {
  std::string op;    // op type(s) covered, separated by spaces
  std::string what;  // the case
  std::function<Case(Rng&)> make;
};

std::vector<Entry>& registry() {
  static std::vector<Entry> entries;
  return entries;
}
struct Register {
  Register(const char* op, const char* what, Case (*make)(Rng&)) {
    registry().push_back({op, what, make});
  }
};
// Defines `Case case_<id>(Rng& r)` and registers it as a conformance entry for `op`.
#define OP_CASE(id, op, what)                    \
  Case case_##id(Rng& r);                        \
  const Register reg_##id(op, what, &case_##id); \
  Case case_##id(Rng& r)

// Unary ops: y = op(x) on float data in [lo, hi] whose first elements are `special`, and on
// int64 data too with `with_int`.
struct UnarySpec {
  const char* op;
  const char* what;
  double lo, hi;
  Fn1 f;
  std::vector<double> special;
  bool with_int = false;
};
const UnarySpec kUnary[] = {
    {"Abs", "float and int64", -3, 3, std::fabs, {}, true},
    {"Erf", "including |x| >= 4", -3, 3, std::erf, {0.0, 4.0, -5.0, 10.0}},
    {"Exp", "[-5, 5]", -5, 5, std::exp, {}},
    {"Log", "(0.1, 5)", 0.1, 5, std::log, {}},
    {"Neg", "float and int64", -3, 3, Ref::neg, {}, true},
    {"Reciprocal", "away from 0", 0.5, 3, Ref::recip, {-0.5, -2.0}},
    {"Relu", "including 0, int64", -3, 3, Ref::relu, {0.0}, true},
    {"Sigmoid", "large |x| gives no NaN", -6, 6, Ref::sigmoid, {1e3, -1e3, 100, -100, 50, -50}},
    {"Sign", "including +-0, int64", -3, 3, Ref::sign, {0.0, -0.0}, true},
    {"Softplus", "large |x|", -5, 5, Ref::softplus, {1e3, -1e3, 100, -100, 40, -40}},
    {"Sqrt", "[0, 9)", 0, 9, std::sqrt, {0.0}},
    {"Tanh", "[-4, 4] and 30", -4, 4, std::tanh, {30.0}},
};
Case unary(Rng& r, const UnarySpec& u) {
  Case c;
  Tensor x = c.input("x", prefixed(rnd(r, {3, 4}, u.lo, u.hi), u.special));
  c.node(u.op, {"x"}, {"y"});
  c.output("y", ref_unary(x, u.f));
  if (u.with_int) {
    Tensor xi = c.input("xi", rnd_int(r, {5}, -4, 4));
    c.node(u.op, {"xi"}, {"yi"});
    c.output("yi", ref_map_i64({xi}, [f = u.f](V v) { return f(v[0]); }));
  }
  return c;
}
const bool unary_registered = [] {
  for (const UnarySpec& u : kUnary)
    registry().push_back({u.op, u.what, [&u](Rng& r) {
                            return unary(r, u);
                          }});
  return true;
}();

OP_CASE(leaky_relu, "LeakyRelu", "alpha 0.1 and the default") {
  Case c;
  Tensor x = c.input("x", rnd(r, {3, 4}, -3, 3));
  c.node("LeakyRelu", {"x"}, {"y"}).attr("alpha", 0.1);
  c.node("LeakyRelu", {"x"}, {"y2"});
  c.output("y", ref_map({x}, [](V v) { return v[0] >= 0 ? v[0] : fa(0.1) * v[0]; }));
  c.output("y2", ref_map({x}, [](V v) { return v[0] >= 0 ? v[0] : 0.01 * v[0]; }));
  return c;
}

// ---- elementwise binary / variadic ----

Case binary(Rng& r, const char* op, const Shape& sa, const Shape& sb, double (*f)(double, double)) {
  Case c;
  Tensor a = c.input("a", rnd(r, sa)), b = c.input("b", rnd(r, sb, 0.5, 2));
  c.node(op, {"a", "b"}, {"y"});
  c.output("y", ref_map({a, b}, [f](V v) { return f(v[0], v[1]); }));
  return c;
}

OP_CASE(add, "Add", "broadcast [2,1,4] + [3,1], int64 + initializer") {
  Case c = binary(r, "Add", {2, 1, 4}, {3, 1}, [](double a, double b) { return a + b; });
  Tensor ai = c.input("ai", rnd_int(r, {2, 2}, -9, 9)), bi = c.init("bi", ints({5}));
  c.node("Add", {"ai", "bi"}, {"yi"});
  c.output("yi", ref_map_i64({ai, bi}, [](V v) { return v[0] + v[1]; }));
  return c;
}
OP_CASE(sub, "Sub", "broadcast [3] - [2,3]") {
  return binary(r, "Sub", {3}, {2, 3}, [](double a, double b) { return a - b; });
}
OP_CASE(mul, "Mul", "broadcast [2,3,1] * [1,1,4]") {
  return binary(r, "Mul", {2, 3, 1}, {1, 1, 4}, [](double a, double b) { return a * b; });
}
OP_CASE(div, "Div", "float broadcast, int64 truncation toward zero") {
  Case c = binary(r, "Div", {2, 3}, {3}, [](double a, double b) { return a / b; });
  c.input("ai", ints({-7, 7, -8, 9, 0, -1}));
  c.input("bi", ints({2, -2, 3, -4, 5, 3}));
  c.node("Div", {"ai", "bi"}, {"yi"});
  c.output("yi", ints({-3, -3, -2, -2, 0, 0}));
  return c;
}

OP_CASE(pow, "Pow", "exponents 2, 0.5, int64 3, a broadcast tensor") {
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
  c.output("y2", ref_map({x}, [](V v) { return v[0] * v[0]; }));
  c.output("y05", ref_unary(xp, std::sqrt));
  c.output("y3", ref_map({x}, [](V v) { return v[0] * v[0] * v[0]; }));
  c.output("ye", ref_map({xp, e}, [](V v) { return std::pow(v[0], v[1]); }));
  return c;
}

OP_CASE(max_min, "Max Min", "3 broadcast inputs") {
  Case c;
  Tensor a = c.input("a", rnd(r, {2, 3})), b = c.input("b", rnd(r, {3}));
  Tensor d = c.input("d", rnd(r, {2, 1}));
  c.node("Max", {"a", "b", "d"}, {"y"});
  c.node("Min", {"a", "b", "d"}, {"y2"});
  c.output("y", ref_map({a, b, d}, [](V v) { return std::max({v[0], v[1], v[2]}); }));
  c.output("y2", ref_map({a, b, d}, [](V v) { return std::min({v[0], v[1], v[2]}); }));
  return c;
}

OP_CASE(clip, "Clip", "only min, only max, both (opset 13)") {
  Case c;
  Tensor x = c.input("x", rnd(r, {3, 4}));
  c.init("lo", scalar(-0.5));
  c.init("hi", scalar(0.75));
  c.node("Clip", {"x", "lo"}, {"y1"});
  c.node("Clip", {"x", "", "hi"}, {"y2"});
  c.node("Clip", {"x", "lo", "hi"}, {"y3"});
  c.output("y1", ref_map({x}, [](V v) { return std::max(v[0], -0.5); }));
  c.output("y2", ref_map({x}, [](V v) { return std::min(v[0], 0.75); }));
  c.output("y3", ref_map({x}, [](V v) { return std::clamp(v[0], -0.5, 0.75); }));
  return c;
}
OP_CASE(cast, "Cast", "float -> int64 (truncation) and bool, int64 -> float and double") {
  Case c;
  Tensor x = c.input("x", prefixed(rnd(r, {2, 3}, -5, 5), {0.0, -2.75, 2.5}));
  Tensor xi = c.input("xi", ints({-3, 0, 5, 7}));
  c.node("Cast", {"x"}, {"yi"}).attr("to", 7);
  c.node("Cast", {"x"}, {"yb"}).attr("to", 9);
  c.node("Cast", {"xi"}, {"yf"}).attr("to", 1);
  c.node("Cast", {"xi"}, {"yd"}).attr("to", 11);
  c.output("yi", ref_map_i64({x}, [](V v) { return std::trunc(v[0]); }));
  c.output("yb", ref_map_i64({x}, [](V v) { return v[0] != 0 ? 1.0 : 0.0; }));
  c.output("yf", same(xi, {4}));
  c.output("yd", same(xi, {4}));
  return c;
}

// ---- constants, shapes and data movement ----

OP_CASE(identity, "Identity Dropout", "Dropout with a ratio input and an unused mask") {
  Case c;
  Tensor x = c.input("x", rnd(r, {2, 3}));
  c.init("ratio", scalar(0.25));
  c.node("Identity", {"x"}, {"y"});
  c.node("Dropout", {"x", "ratio"}, {"y2", "mask"});
  c.output("y", same(x, {2, 3}));
  c.output("y2", same(x, {2, 3}));
  return c;
}

OP_CASE(constant, "Constant", "value, value_float, value_ints") {
  Case c;
  Tensor x = c.input("x", rnd(r, {2, 3})), k = dyadic(r, {2, 3});
  c.node("Constant", {}, {"k"}).attr("value", k.to(DType::kF32));
  c.node("Constant", {}, {"s"}).attr("value_float", 1.5);
  c.node("Constant", {}, {"shp"}).attr("value_ints", I{3, 2});
  c.node("Mul", {"x", "k"}, {"m"});
  c.node("Add", {"m", "s"}, {"a"});
  c.node("Reshape", {"a", "shp"}, {"y"});
  c.output("y", same(ref_map({x, k}, [](V v) { return v[0] * v[1] + 1.5; }), {3, 2}));
  c.output("k", k);
  return c;
}

OP_CASE(constant_of_shape, "ConstantOfShape", "from Shape, int64 value, default zeros") {
  Case c;
  Tensor x = c.input("x", rnd(r, {2, 3}));
  c.node("Shape", {"x"}, {"s"});
  c.node("ConstantOfShape", {"s"}, {"f"}).attr("value", vals({1}, {2.5}).to(DType::kF32));
  c.node("Add", {"x", "f"}, {"y"});
  c.node("ConstantOfShape", {c.k({3})}, {"yi"}).attr("value", ints({7}));
  c.node("ConstantOfShape", {c.k({2, 2})}, {"z"});
  c.output("y", ref_map({x}, [](V v) { return v[0] + 2.5; }));
  c.output("yi", ints({7, 7, 7}));
  c.output("z", vals({2, 2}, {0, 0, 0, 0}));
  return c;
}

OP_CASE(shape, "Shape", "full, start/end, negative start (opset 15)") {
  Case c(15);
  c.input("x", rnd(r, {2, 3, 4, 5}));
  c.node("Shape", {"x"}, {"s"});
  c.node("Shape", {"x"}, {"s1"}).attr("start", 1).attr("end", -1);
  c.node("Shape", {"x"}, {"s2"}).attr("start", -2);
  c.output("s", ints({2, 3, 4, 5}));
  c.output("s1", ints({3, 4}));
  c.output("s2", ints({4, 5}));
  return c;
}

OP_CASE(reshape, "Reshape", "with 0 and -1") {
  Case c;
  Tensor x = c.input("x", rnd(r, {2, 3, 4}));
  c.node("Reshape", {"x", c.k({0, -1})}, {"y1"});
  c.node("Reshape", {"x", c.k({-1, 2, 0})}, {"y2"});
  c.output("y1", same(x, {2, 12}));
  c.output("y2", same(x, {3, 2, 4}));
  return c;
}
// Exporters' dynamic-batch pattern: the int64 shape arithmetic runs in the executor.
OP_CASE(reshape_chain, "Reshape", "Shape -> Gather -> Unsqueeze -> Concat, dynamic batch") {
  Case c;
  Tensor x = c.input("x", rnd(r, {2, 3, 4}), {-1, 3, 4});
  c.init("zero", Tensor::scalar(DType::kI64, 0));
  c.node("Shape", {"x"}, {"s"});
  c.node("Gather", {"s", "zero"}, {"n"});
  c.node("Unsqueeze", {"n", c.k({0})}, {"nu"});
  c.node("Concat", {"nu", c.k({-1})}, {"shp"}).attr("axis", 0);
  c.node("Reshape", {"x", "shp"}, {"y"});
  c.output("y", same(x, {2, 12}));
  c.output("shp", ints({2, -1}));
  return c;
}

OP_CASE(flatten, "Flatten", "default, negative and zero axis") {
  Case c;
  Tensor x = c.input("x", rnd(r, {2, 3, 4, 5}));
  c.node("Flatten", {"x"}, {"y1"});
  c.node("Flatten", {"x"}, {"y2"}).attr("axis", -2);
  c.node("Flatten", {"x"}, {"y3"}).attr("axis", 0);
  c.output("y1", same(x, {2, 60}));
  c.output("y2", same(x, {6, 20}));
  c.output("y3", same(x, {1, 120}));
  return c;
}

// Old-opset attribute forms, which the ONNX frontend rewrites into the newest input forms.
OP_CASE(opset11, "Squeeze Unsqueeze Split ReduceSum", "attribute forms, negative axes (opset 11)") {
  Case c(11);
  Tensor x = c.input("x", rnd(r, {2, 1, 3, 1}));
  c.node("Squeeze", {"x"}, {"y"}).attr("axes", I{1, -1});
  c.node("Unsqueeze", {"y"}, {"y2"}).attr("axes", I{0, -1});
  c.node("Split", {"y"}, {"a", "b"}).attr("split", I{1, 2}).attr("axis", -1);
  c.node("ReduceSum", {"x"}, {"s"}).attr("axes", I{2}).attr("keepdims", 0);
  c.output("y", same(x, {2, 3}));
  c.output("y2", same(x, {1, 2, 3, 1}));
  c.output("a", take(x, {all(2), {0}, {0}, {0}}).reshaped({2, 1}));
  c.output("b", take(x, {all(2), {0}, {1, 2}, {0}}).reshaped({2, 2}));
  c.output("s", ref_reduce(x, {false, false, true, false}, false, false));
  return c;
}
OP_CASE(opset9, "Slice Clip", "attribute forms; Clip with only min (opset 9)") {
  Case c(9);
  Tensor x = c.input("x", rnd(r, {4, 5}));
  c.node("Slice", {"x"}, {"y"}).attr("starts", I{1, -4}).attr("ends", I{3, 100});
  c.node("Slice", {"x"}, {"y2"}).attr("starts", I{2}).attr("ends", I{-1}).attr("axes", I{-1});
  c.node("Clip", {"x"}, {"y3"}).attr("min", -0.25);
  c.output("y", take(x, {{1, 2}, {1, 2, 3, 4}}));
  c.output("y2", take(x, {all(4), {2, 3}}));
  c.output("y3", ref_map({x}, [](V v) { return std::max(v[0], -0.25); }));
  return c;
}
OP_CASE(squeeze13, "Squeeze Unsqueeze", "input axes, negative; Squeeze without axes (opset 13)") {
  Case c;
  Tensor x = c.input("x", rnd(r, {2, 1, 3, 1}));
  c.node("Squeeze", {"x", c.k({-3})}, {"y1"});
  c.node("Squeeze", {"x"}, {"y2"});
  c.node("Unsqueeze", {"y2", c.k({1, -1})}, {"y3"});
  c.output("y1", same(x, {2, 3, 1}));
  c.output("y2", same(x, {2, 3}));
  c.output("y3", same(x, {2, 1, 3, 1}));
  return c;
}

OP_CASE(transpose, "Transpose", "default and explicit perm") {
  Case c;
  Tensor x = c.input("x", rnd(r, {2, 3, 4}));
  c.node("Transpose", {"x"}, {"y1"});
  c.node("Transpose", {"x"}, {"y2"}).attr("perm", I{1, 0, 2});
  c.output("y1", make({4, 3, 2}, [&](const Idx& o) { return at(x, {o[2], o[1], o[0]}); }));
  c.output("y2", make({3, 2, 4}, [&](const Idx& o) { return at(x, {o[1], o[0], o[2]}); }));
  return c;
}

OP_CASE(concat, "Concat", "3 inputs on a negative axis") {
  Case c;
  Tensor a = c.input("a", rnd(r, {2, 1, 3})), b = c.input("b", rnd(r, {2, 2, 3}));
  Tensor d = c.init("d", rnd(r, {2, 3, 3}));
  c.node("Concat", {"a", "b", "d"}, {"y"}).attr("axis", -2);
  c.output("y", make({2, 6, 3}, [&](const Idx& o) {
             if (o[1] < 1)
               return at(a, o);
             if (o[1] < 3)
               return at(b, {o[0], o[1] - 1, o[2]});
             return at(d, {o[0], o[1] - 3, o[2]});
           }));
  return c;
}

OP_CASE(split13, "Split", "sizes, equal parts, unused last output (opset 13)") {
  Case c;
  Tensor x = c.input("x", rnd(r, {2, 7})), z = c.input("z", rnd(r, {6, 2}));
  c.node("Split", {"x", c.k({2, 5})}, {"a", "b"}).attr("axis", -1);
  c.node("Split", {"z"}, {"p", "q", "s"});
  c.node("Split", {"x", c.k({1, 2, 4})}, {"u", "v", "w"}).attr("axis", 1);  // w is not used
  c.output("a", take(x, {all(2), {0, 1}}));
  c.output("b", take(x, {all(2), {2, 3, 4, 5, 6}}));
  c.output("p", take(z, {{0, 1}, all(2)}));
  c.output("q", take(z, {{2, 3}, all(2)}));
  c.output("s", take(z, {{4, 5}, all(2)}));
  c.output("u", take(x, {all(2), {0}}));
  c.output("v", take(x, {all(2), {1, 2}}));
  return c;
}
OP_CASE(split18, "Split", "num_outputs, smaller last part, unused last output (opset 18)") {
  Case c(18);
  Tensor x = c.input("x", rnd(r, {2, 7}));
  c.node("Split", {"x"}, {"a", "b", "d"}).attr("axis", 1).attr("num_outputs", 3);
  c.node("Split", {"x"}, {"e", "f", "g"}).attr("axis", 1).attr("num_outputs", 3);
  c.output("a", take(x, {all(2), {0, 1, 2}}));
  c.output("b", take(x, {all(2), {3, 4, 5}}));
  c.output("d", take(x, {all(2), {6}}));
  c.output("e", take(x, {all(2), {0, 1, 2}}));
  c.output("f", take(x, {all(2), {3, 4, 5}}));
  return c;
}
OP_CASE(slice13, "Slice", "negative steps, clamped ends, empty result (opset 13)") {
  Case c;
  Tensor x = c.input("x", rnd(r, {5, 6}));
  const int64_t lo = std::numeric_limits<int64_t>::min();
  c.node("Slice", {"x", c.k({4, -1}), c.k({-100, lo}), c.k({0, 1}), c.k({-2, -3})}, {"y1"});
  c.node("Slice", {"x", c.k({1}), c.k({1000}), c.k({-1})}, {"y2"});
  c.node("Slice", {"x", c.k({-3}), c.k({-1})}, {"y3"});
  c.node("Slice", {"x", c.k({3}), c.k({1}), c.k({1})}, {"y4"});
  c.output("y1", take(x, {{4, 2, 0}, {5, 2}}));
  c.output("y2", take(x, {all(5), {1, 2, 3, 4, 5}}));
  c.output("y3", take(x, {{2, 3}, all(6)}));
  c.output("y4", take(x, {all(5), {}}));
  return c;
}
OP_CASE(pad13, "Pad", "constant, reflect, edge (opset 13)") {
  Case c;
  Tensor x = c.input("x", rnd(r, {2, 3, 4}));
  c.init("cv", scalar(1.5));
  c.node("Pad", {"x", c.k({0, 1, 2, 1, 0, 1}), "cv"}, {"y1"});
  c.node("Pad", {"x", c.k({0, 2, 1, 0, 1, 3})}, {"y2"}).attr("mode", "reflect");
  c.node("Pad", {"x", c.k({1, 0, 2, 0, 2, 1})}, {"y3"}).attr("mode", "edge");
  c.output("y1", ref_pad(x, {0, 1, 2, 1, 0, 1}, "constant", 1.5));
  c.output("y2", ref_pad(x, {0, 2, 1, 0, 1, 3}, "reflect"));
  c.output("y3", ref_pad(x, {1, 0, 2, 0, 2, 1}, "edge"));
  return c;
}
OP_CASE(pad18, "Pad", "axes input and a negative (cropping) pad (opset 18)") {
  Case c(18);
  Tensor x = c.input("x", rnd(r, {2, 3, 4}));
  c.node("Pad", {"x", c.k({-1, 2}), "", c.k({-1})}, {"y"});
  c.output("y", ref_pad(x, {0, 0, -1, 0, 0, 2}, "constant"));
  return c;
}

OP_CASE(gather, "Gather", "2-D negative indices, runtime indices, default axis") {
  Case c;
  Tensor x = c.input("x", rnd(r, {4, 3, 2}));
  Tensor idx = c.init("idx", Tensor::from_vector<int64_t>({2, 2}, {0, -1, 2, -3}));
  Tensor idx2 = c.input("idx2", ints({-1, 0, 1}));
  c.node("Gather", {"x", "idx"}, {"y1"}).attr("axis", 1);
  c.node("Gather", {"x", "idx2"}, {"y2"}).attr("axis", -1);
  c.node("Gather", {"x", "idx2"}, {"y3"});
  c.output("y1", make({4, 2, 2, 2}, [&](const Idx& o) {
             const int64_t k = idx.get_int(o[1] * 2 + o[2]);
             return at(x, {o[0], wrap(k, 3), o[3]});
           }));
  c.output("y2", make({4, 3, 3}, [&](const Idx& o) {
             return at(x, {o[0], o[1], wrap(idx2.get_int(o[2]), 2)});
           }));
  c.output("y3", make({3, 3, 2}, [&](const Idx& o) {
             return at(x, {wrap(idx2.get_int(o[0]), 4), o[1], o[2]});
           }));
  return c;
}

// ---- reductions and normalisations ----

OP_CASE(reduce_mean13, "ReduceMean", "attribute axes with keepdims=0, all axes (opset 13)") {
  Case c;
  Tensor x = c.input("x", rnd(r, {2, 3, 4}));
  c.node("ReduceMean", {"x"}, {"y"}).attr("axes", I{0, -1}).attr("keepdims", 0);
  c.node("ReduceMean", {"x"}, {"y2"});
  c.output("y", ref_reduce(x, {true, false, true}, false, true));
  c.output("y2", ref_reduce(x, {true, true, true}, true, true));
  return c;
}
OP_CASE(reduce_mean18, "ReduceMean", "input axes (opset 18)") {
  Case c(18);
  Tensor x = c.input("x", rnd(r, {2, 3, 4}));
  c.node("ReduceMean", {"x", c.k({1})}, {"y"});
  c.output("y", ref_reduce(x, {false, true, false}, true, true));
  return c;
}
OP_CASE(reduce_sum13, "ReduceSum", "input axes, all axes keepdims=0, noop_with_empty_axes") {
  Case c;
  Tensor x = c.input("x", rnd(r, {2, 3, 4}));
  c.node("ReduceSum", {"x", c.k({-1, 0})}, {"y1"});
  c.node("ReduceSum", {"x"}, {"y2"}).attr("keepdims", 0);
  c.node("ReduceSum", {"x"}, {"y3"}).attr("noop_with_empty_axes", 1);
  c.output("y1", ref_reduce(x, {true, false, true}, true, false));
  c.output("y2", ref_reduce(x, {true, true, true}, false, false));
  c.output("y3", same(x, {2, 3, 4}));
  return c;
}
OP_CASE(softmax13, "Softmax", "middle axis and default, values +-100 (opset 13)") {
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
}
OP_CASE(softmax11, "Softmax", "legacy 2-D coercion (opset 11)") {
  Case c(11);
  Tensor x = c.input("x", rnd(r, {2, 3, 4}, -3, 3));
  c.node("Softmax", {"x"}, {"y"});
  c.node("Softmax", {"x"}, {"y2"}).attr("axis", -1);
  c.output("y", ref_softmax(x, 1, true));
  c.output("y2", ref_softmax(x, 2, true));
  return c;
}

OP_CASE(layer_norm, "LayerNormalization", "over 2 axes; last axis without bias (opset 17)") {
  Case c(17);
  Tensor x = c.input("x", rnd(r, {2, 3, 4}));
  Tensor g = c.init("g", rnd(r, {3, 4})), b = c.init("b", rnd(r, {3, 4}));
  Tensor g4 = c.init("g4", rnd(r, {4}));
  c.node("LayerNormalization", {"x", "g", "b"}, {"y"}).attr("axis", -2).attr("epsilon", 1e-3);
  c.node("LayerNormalization", {"x", "g4"}, {"y2"});
  c.output("y", ref_layer_norm(x, 12, fa(1e-3), g, &b));
  c.output("y2", ref_layer_norm(x, 4, 1e-5, g4, nullptr));
  return c;
}

OP_CASE(batch_norm, "BatchNormalization", "inference") {
  Case c(15);
  Tensor x = c.input("x", rnd(r, {2, 3, 2, 2}));
  Tensor s = c.init("s", rnd(r, {3})), b = c.init("b", rnd(r, {3}));
  Tensor m = c.init("m", rnd(r, {3})), v = c.init("v", rnd(r, {3}, 0.5, 2));
  c.node("BatchNormalization", {"x", "s", "b", "m", "v"}, {"y"}).attr("epsilon", 1e-3);
  c.output("y", make({2, 3, 2, 2}, [&](const Idx& o) {
             const double inv = 1 / std::sqrt(v.get(o[1]) + fa(1e-3));
             return (at(x, o) - m.get(o[1])) * inv * s.get(o[1]) + b.get(o[1]);
           }));
  return c;
}

// ---- compute-heavy ops (their corner cases live in test_kernels.cpp) ----

OP_CASE(gemm, "Gemm", "transB with C broadcast, alpha/beta; transA with a C column") {
  Case c;
  Tensor a = c.input("a", dyadic(r, {3, 4})), a2 = c.input("a2", dyadic(r, {4, 3}));
  Tensor b = c.init("b", dyadic(r, {5, 4})), b2 = c.init("b2", dyadic(r, {4, 5}));
  Tensor cc = c.init("c", dyadic(r, {5})), c2 = c.init("c2", dyadic(r, {3, 1}));
  c.node("Gemm", {"a", "b", "c"}, {"y"}).attr("transB", 1).attr("alpha", 0.5).attr("beta", 2.0);
  c.node("Gemm", {"a2", "b2", "c2"}, {"y2"}).attr("transA", 1);
  c.output(
      "y", make({3, 5}, [&](const Idx& o) {
        const double ab = sum(4, [&](int64_t k) { return at(a, {o[0], k}) * at(b, {o[1], k}); });
        return 0.5 * ab + 2 * cc.get(o[1]);
      }));
  c.output("y2", make({3, 5}, [&](const Idx& o) {
             return sum(4,
                        [&](int64_t k) {
                          return at(a2, {k, o[0]}) * at(b2, {k, o[1]});
                        }) +
                    c2.get(o[0]);
           }));
  return c;
}

OP_CASE(mat_mul, "MatMul", "batched with broadcast, 1-D left operand") {
  Case c;
  Tensor a = c.input("a", dyadic(r, {2, 1, 3, 4})), v = c.input("v", dyadic(r, {4}));
  Tensor b = c.init("b", dyadic(r, {3, 4, 5}));
  c.node("MatMul", {"a", "b"}, {"y"});
  c.node("MatMul", {"v", "b"}, {"y2"});
  c.output("y", make({2, 3, 3, 5}, [&](const Idx& o) {
             return sum(4, [&](int64_t k) {
               return at(a, {o[0], 0, o[2], k}) * at(b, {o[1], k, o[3]});
             });
           }));
  c.output("y2", make({3, 5}, [&](const Idx& o) {
             return sum(4, [&](int64_t k) { return v.get(k) * at(b, {o[0], k, o[1]}); });
           }));
  return c;
}

OP_CASE(conv, "Conv", "padding, stride 2, 2 groups, bias") {
  Case c;
  Tensor x = c.input("x", dyadic(r, {1, 4, 5, 5}));
  Tensor w = c.init("w", dyadic(r, {4, 2, 3, 3})), b = c.init("b", dyadic(r, {4}));
  c.node("Conv", {"x", "w", "b"}, {"y"})
      .attr("kernel_shape", I{3, 3})
      .attr("pads", I{1, 1, 1, 1})
      .attr("strides", I{2, 2})
      .attr("group", 2);
  // y[oc, oh, ow] = b[oc] + sum over the group's input channels ic and the 3x3 taps (i, j).
  c.output("y", make({1, 4, 3, 3}, [&](const Idx& o) {
             return b.get(o[1]) + sum(18, [&](int64_t t) {
                      const int64_t ic = t / 9, i = t / 3 % 3, j = t % 3;
                      const int64_t h = o[2] * 2 - 1 + i, wc = o[3] * 2 - 1 + j;
                      const bool inside = h >= 0 && h < 5 && wc >= 0 && wc < 5;
                      return inside ? at(x, {0, o[1] / 2 * 2 + ic, h, wc}) * at(w, {o[1], ic, i, j})
                                    : 0.0;
                    });
           }));
  return c;
}

OP_CASE(conv_transpose, "ConvTranspose", "stride 2, pads, output_padding, bias") {
  Case c;
  Tensor x = c.input("x", dyadic(r, {1, 2, 3, 3}));
  Tensor w = c.init("w", dyadic(r, {2, 3, 3, 3})), b = c.init("b", dyadic(r, {3}));
  c.node("ConvTranspose", {"x", "w", "b"}, {"y"})
      .attr("strides", I{2, 2})
      .attr("pads", I{1, 1, 1, 1})
      .attr("output_padding", I{1, 1});
  // Scatter form: y[oc, ih*2 - 1 + i, iw*2 - 1 + j] += x[ic, ih, iw] * w[ic, oc, i, j].
  Tensor y = make({1, 3, 6, 6}, [&](const Idx& o) { return b.get(o[1]); });
  for (int64_t xi = 0; xi < x.numel(); ++xi)
    for (int64_t wi = 0; wi < w.numel(); ++wi) {
      const Idx p = unravel(xi, x.shape()), q = unravel(wi, w.shape());
      const int64_t h = p[2] * 2 - 1 + q[2], wc = p[3] * 2 - 1 + q[3];
      if (p[1] != q[0] || h < 0 || h >= 6 || wc < 0 || wc >= 6)
        continue;
      const int64_t k = ravel({0, q[1], h, wc}, y.shape());
      y.set(k, y.get(k) + x.get(xi) * w.get(wi));
    }
  c.output("y", y);
  return c;
}

OP_CASE(max_pool, "MaxPool", "2x2 stride 2 with padding (padding never wins)") {
  Case c;
  Tensor x = c.input("x", rnd(r, {1, 2, 5, 5}, -3, -1));  // all negative
  c.node("MaxPool", {"x"}, {"y"})
      .attr("kernel_shape", I{2, 2})
      .attr("strides", I{2, 2})
      .attr("pads", I{1, 1, 1, 1});
  c.output("y", ref_pool(x, 2, 2, 1, -1));
  return c;
}

OP_CASE(average_pool, "AveragePool", "2x2 stride 2 with padding, count_include_pad 0 and 1") {
  Case c;
  Tensor x = c.input("x", rnd(r, {1, 2, 5, 5}));
  for (const char* y : {"y0", "y1"})
    c.node("AveragePool", {"x"}, {y})
        .attr("kernel_shape", I{2, 2})
        .attr("strides", I{2, 2})
        .attr("pads", I{1, 1, 1, 1})
        .attr("count_include_pad", y[1] == '1' ? 1 : 0);
  c.output("y0", ref_pool(x, 2, 2, 1, 0));
  c.output("y1", ref_pool(x, 2, 2, 1, 1));
  return c;
}

OP_CASE(global_average_pool, "GlobalAveragePool", "[2,3,4,5]") {
  Case c;
  Tensor x = c.input("x", rnd(r, {2, 3, 4, 5}));
  c.node("GlobalAveragePool", {"x"}, {"y"});
  c.output("y", ref_reduce(x, {false, false, true, true}, true, true));
  return c;
}

// ---- the harness ----

uint32_t seed_of(const Entry& e) {
  uint32_t h = 2166136261u;  // FNV-1a of "op/what"
  for (char ch : e.op + "/" + e.what)
    h = (h ^ static_cast<uint8_t>(ch)) * 16777619u;
  return h;
}

// Checks |got - want| <= atol + rtol |want| for every element (NaN never passes) and describes
// the first failure.
void compare(const Tensor& got, const Tensor& want, DType run, const std::string& where) {
  INFO(where << ": got " << shape_to_string(got.shape()) << " " << dtype_name(got.dtype())
             << ", want " << shape_to_string(want.shape()) << " " << dtype_name(want.dtype()));
  CHECK(got.shape() == want.shape());
  if (got.shape() != want.shape())
    return;
  CHECK((want.dtype() == DType::kI64 ? got.dtype() == DType::kI64 : is_float(got.dtype())));
  const double rtol = run == DType::kF64 ? 1e-12 : 1e-5, atol = run == DType::kF64 ? 1e-12 : 1e-6;
  int64_t bad = 0;
  std::ostringstream first;
  first.precision(17);
  for (int64_t i = 0; i < want.numel(); ++i) {
    const double g = got.get(i), w = want.get(i);
    if (std::abs(g - w) <= atol + rtol * std::abs(w))
      continue;
    if (bad++ == 0)
      first << "first at flat index " << i << ": got " << g << ", want " << w;
  }
  INFO(bad << " mismatching element(s); " << first.str());
  CHECK(bad == 0);
}

std::vector<std::string> ops_of(const Entry& e) {
  std::istringstream in(e.op);
  std::vector<std::string> ops;
  for (std::string op; in >> op;)
    ops.push_back(op);
  return ops;
}

// An "unsupported" load error naming an op of the table that has no forward rule yet.
bool names_placeholder(const Status& st) {
  if (st.code() != ErrorCode::kUnsupported)
    return false;
  return std::any_of(all_ops().begin(), all_ops().end(), [&](const OpDef* def) {
    const std::string tag = std::string(" (").append(def->name).append(")");
    return !def->forward && st.message().find(tag) != std::string::npos;
  });
}

bool has_node(const Graph& g, const std::string& op) {
  return std::any_of(g.nodes().begin(), g.nodes().end(), [&](const Node& n) { return n.op == op; });
}

// Runs the loaded model of `c` in precision `run` and compares every output.
void check_run(const Graph& g, const Case& c, DType run, const std::string& where) {
  const std::string at_run = where + ", " + dtype_name(run);
  std::vector<Tensor> got;
  try {
    got = test::run_graph(g, c.inputs, run);
  } catch (const std::exception& ex) {
    FAIL_CHECK(at_run << ": " << ex.what());
    return;
  }
  CHECK(got.size() == c.want.size());
  for (size_t k = 0; k < std::min(got.size(), c.want.size()); ++k)
    compare(got[k], c.want[k], run, at_run + ", output " + c.out_names[k]);
}

void run_entry(const Entry& e) {
  Rng rng(seed_of(e));
  const Case c = e.make(rng);
  for (bool fold : {true, false}) {
    OnnxLoadOptions options;
    options.prepare_options.fold_constants = fold;
    auto model = c.b->load(options);
    const std::string where = e.op + " (" + e.what + (fold ? ", folded)" : ")");
    if (!model && names_placeholder(model.status())) {
      WARN(where << ": skipped, an op is still a placeholder: " << model.status().to_string());
      return;
    }
    INFO(where << ": " << model.status().to_string());
    CHECK(model.has_value());  // not REQUIRE: one broken op must not hide the others
    if (!model)
      continue;
    if (!fold)
      for (const std::string& op : ops_of(e))
        CHECK(has_node(model->graph, op));  // the op's own forward runs
    for (DType run : {DType::kF64, DType::kF32})
      check_run(model->graph, c, run, where);
  }
}

TEST_CASE("every op in the op table has a conformance entry", "[ops]") {
  std::set<std::string> covered, table;
  for (const Entry& e : registry())
    for (const std::string& op : ops_of(e))
      covered.insert(op);
  std::string missing, unknown;
  for (const OpDef* def : all_ops()) {
    const std::string name(def->name);
    table.insert(name);
    if (!covered.count(name))
      missing.append(" ").append(name);
  }
  for (const std::string& op : covered)
    if (!table.count(op))
      unknown.append(" ").append(op);
  INFO("ops without a conformance entry:" << missing);
  CHECK(missing.empty());
  INFO("entries for ops not in the table:" << unknown);
  CHECK(unknown.empty());
}

TEST_CASE("op conformance against naive references", "[ops]") {
  for (const Entry& e : registry()) {
    INFO("entry " << e.op << ": " << e.what);
    run_entry(e);
  }
}

TEST_CASE("Pow with exponent 2 or 0.5 is bit-exact with Mul / Sqrt", "[ops]") {
  Case c;
  Rng r(7);
  c.input("x", rnd(r, {4096}, 0, 100));
  c.init("two", scalar(2));
  c.init("half", scalar(0.5));
  c.node("Pow", {"x", "two"}, {"p2"}).node("Mul", {"x", "x"}, {"m"});
  c.node("Pow", {"x", "half"}, {"p05"}).node("Sqrt", {"x"}, {"s"});
  c.b->output("p2").output("m").output("p05").output("s");
  auto m = c.b->load();
  REQUIRE(m.has_value());
  for (DType run : {DType::kF64, DType::kF32}) {
    auto out = test::run_graph(m->graph, c.inputs, run);
    INFO(dtype_name(run));
    CHECK(std::memcmp(out[0].raw(), out[1].raw(), out[0].nbytes()) == 0);
    CHECK(std::memcmp(out[2].raw(), out[3].raw(), out[2].nbytes()) == 0);
  }
}

// ---- regressions: run-time precision of created floats, Split output counts ----

// Executor: a float tensor made at run time from int64 data (Cast to FLOAT, ConstantOfShape
// with a float value) must take the run's precision, so a float64 run stays float64.
TEST_CASE("a float64 run keeps float64 after Cast and ConstantOfShape", "[ops]") {
  Case c;
  Tensor x = c.input("x", vals({3}, {0.1, 1.0 / 3, 2.0 / 7}), {-1});
  c.input("i", ints({1, 3, 7}));
  c.node("Cast", {"i"}, {"f"}).attr("to", 1);
  c.node("Mul", {"f", "x"}, {"y"});
  c.node("Shape", {"x"}, {"s"});
  c.node("ConstantOfShape", {"s"}, {"k"}).attr("value", vals({1}, {0.5}).to(DType::kF32));
  c.node("Add", {"k", "x"}, {"z"});
  c.output("y", vals({3}, {0.1, 1.0, 2.0}));
  c.output("z", vals({3}, {0.6, 0.5 + 1.0 / 3, 0.5 + 2.0 / 7}));
  auto m = c.b->load();
  REQUIRE(m.has_value());
  check_run(m->graph, c, DType::kF64, "Cast / ConstantOfShape");
}

// ONNX frontend: unused trailing outputs must not be dropped from Split, whose output count
// decides the part sizes when no sizes are given (opsets 13-17).
TEST_CASE("Split into equal parts with an unused last output", "[ops]") {
  Case c;
  Tensor x = c.input("x", vals({6}, {0, 1, 2, 3, 4, 5}));
  c.node("Split", {"x"}, {"a", "b", "d"});
  c.output("a", vals({2}, {0, 1}));
  c.output("b", vals({2}, {2, 3}));
  auto m = c.b->load();
  REQUIRE(m.has_value());
  check_run(m->graph, c, DType::kF64, "Split");
}

// ---- shape-inference errors through the loader ----

// Loading fails with `code` and a message that names the node "bad" and contains `text`.
void expect_load_error(const OnnxBuilder& b, ErrorCode code, const std::string& text) {
  auto m = b.load();
  REQUIRE_FALSE(m.has_value());
  INFO(m.status().to_string());
  CHECK(m.status().code() == code);
  CHECK(m.status().message().find("node 'bad' (") != std::string::npos);
  CHECK(m.status().message().find(text) != std::string::npos);
}

// A model of one node `op` named "bad" reading float inputs of the given shapes, then int64
// initializers with the given values.
using Shapes = std::vector<Shape>;
using Consts = std::vector<I>;
std::unique_ptr<OnnxBuilder> one_node(const std::string& op, const Shapes& in, Consts consts = {}) {
  auto b = std::make_unique<OnnxBuilder>(13);
  Names names;
  for (const Shape& s : in) {
    names.emplace_back("x");
    names.back() += std::to_string(names.size());
    b->input(names.back(), DType::kF32, s);
  }
  for (const I& k : consts) {
    names.emplace_back("k");
    names.back() += std::to_string(names.size());
    b->initializer(names.back(), ints(k));
  }
  b->node(op, names, {"y"}, "bad").output("y");
  return b;
}

TEST_CASE("shape-inference errors name the node", "[ops]") {
  const ErrorCode kShape = ErrorCode::kShapeMismatch, kGraph = ErrorCode::kInvalidGraph;
  expect_load_error(*one_node("Add", {{2, 3}, {4}}), kShape, "cannot be broadcast");
  expect_load_error(*one_node("MatMul", {{2, 3}, {4, 5}}), kShape, "");
  auto concat = one_node("Concat", {{2, 3}, {3, 3}});
  concat->attr("axis", 1);
  expect_load_error(*concat, kShape, "differ outside axis 1");
  expect_load_error(*one_node("Reshape", {{2, 3}}, {{4, -1}}), kShape, "cannot reshape");
  expect_load_error(*one_node("Reshape", {{2, 3}}, {{7}}), kShape, "cannot reshape");
  for (int64_t i : {3, -4}) {
    auto gather = one_node("Gather", {{3, 2}}, {{0, i}});
    expect_load_error(*gather, kShape, "out of range");
  }
  expect_load_error(*one_node("Squeeze", {{2, 1, 3}}, {{-1}}), kShape, "not 1");
  expect_load_error(*one_node("Split", {{5}}, {{4}}), kShape, "sum to 4");
  auto softmax = one_node("Softmax", {{2, 3}});
  softmax->attr("axis", 2);
  expect_load_error(*softmax, kShape, "out of range");
  auto transpose = one_node("Transpose", {{2, 3}});
  transpose->attr("perm", I{0, 0});
  expect_load_error(*transpose, kGraph, "not a permutation");
  expect_load_error(*one_node("Slice", {{4}}, {{0}, {4}, {0}, {0}}), kGraph, "step 0");
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
