// Soundness of interval bound propagation (lib/bounds/ibp.h), tested rather than assumed: for
// every op with an `ibp` rule, small ONNX models (OnnxBuilder) get a seeded random input box
// (wide, mixed or degenerate), ibp_outputs computes float64 bounds, and >= 2000 points of the box
// (all corners when the inputs have <= 10 elements, else uniform and random-vertex points) run
// through the executor in float64; every output must lie within the bounds (1e-9 relative slack).
// Where IBP is exact (ops non-decreasing in every input) the bounds must equal the outputs at the
// box's lower and upper corners. Random small MLP-like DAGs are checked the same way.
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

#include <catch2/catch.hpp>

#include "bounds/ibp.h"
#include "ops/op_def.h"
#include "runtime/executor.h"
#include "tests/support/onnx_builder.h"

namespace nncert {
namespace {

using test::OnnxBuilder;
using Rng = std::mt19937;
using I = std::vector<int64_t>;
using Names = std::vector<std::string>;

constexpr int kSamples = 2000;
constexpr double kInf = std::numeric_limits<double>::infinity();

// Streams the arguments into a string (names of cases and values).
template <class... A>
std::string cat(const A&... a) {
  std::ostringstream os;
  (os << ... << a);
  return os.str();
}

double uniform(Rng& r, double a, double b) {
  return std::uniform_real_distribution<double>(a, b)(r);
}

// A float32 tensor with uniform values in [a, b].
Tensor rand_f32(Rng& r, const Shape& s, double a, double b) {
  std::vector<float> v(static_cast<size_t>(shape_numel(s)));
  for (float& x : v)
    x = static_cast<float>(uniform(r, a, b));
  return Tensor::from_vector<float>(s, v);
}

Tensor f32(const Shape& s, const std::vector<float>& v) {
  return Tensor::from_vector<float>(s, v);
}

// How an input box is drawn over [a, b].
enum class Box {
  kWide,   // every element spans most of [a, b]
  kMixed,  // random sub-intervals, a quarter of them degenerate
  kPoint,  // lo == hi everywhere
};

struct InSpec {
  std::string name;
  Shape shape;
  double a, b;
  Box kind;
};

// One model with its input boxes.
struct IbpCase {
  explicit IbpCase(std::string n, int64_t opset = 17)
      : name(std::move(n)), b(std::make_unique<OnnxBuilder>(opset)) {}
  std::string name;
  std::unique_ptr<OnnxBuilder> b;
  std::vector<InSpec> ins;
  bool tight = false;  // non-decreasing in every input: bounds == f(lo), f(hi)
  // Element-wise in one input, extremes at lo, hi or 0: bounds == [min, max] of f(lo), f(hi),
  // f(clamp(0, lo, hi)) (Abs, Neg, Pow, LeakyRelu, BatchNormalization, ...).
  bool exact_pointwise = false;
  bool fold = true;                                         // constant folding at load
  std::function<void(const std::vector<Interval>&)> extra;  // further checks on the bounds
  int consts = 0;

  IbpCase& input(
      const std::string& n, const Shape& s, double a, double bb, Box kind = Box::kMixed) {
    b->input(n, DType::kF32, s);
    ins.push_back({n, s, a, bb, kind});
    return *this;
  }
  // An initializer with a fresh name.
  std::string init(const Tensor& t) {
    std::string n = cat("c", ++consts);
    b->initializer(n, t);
    return n;
  }
  std::string ints(const I& v) {
    return init(Tensor::from_vector<int64_t>({static_cast<int64_t>(v.size())}, v));
  }
  OnnxBuilder& node(const std::string& op, const Names& in, const Names& out) {
    return b->node(op, in, out);
  }
  IbpCase& output(const std::string& n) {
    b->output(n);
    return *this;
  }
};

Interval draw_box(Rng& r, const InSpec& s) {
  Interval v{Tensor(DType::kF64, s.shape), Tensor(DType::kF64, s.shape)};
  const double w = s.b - s.a;
  for (int64_t i = 0; i < v.lo.numel(); ++i) {
    double l = 0, h = 0;
    switch (s.kind) {
      case Box::kWide:
        l = s.a + uniform(r, 0, 0.1) * w;
        h = s.b - uniform(r, 0, 0.1) * w;
        break;
      case Box::kMixed:
        l = uniform(r, s.a, s.b);
        h = uniform(r, 0, 1) < 0.25 ? l : uniform(r, s.a, s.b);
        if (l > h)
          std::swap(l, h);
        break;
      case Box::kPoint:
        l = h = uniform(r, s.a, s.b);
        break;
    }
    v.lo.set(i, l);
    v.hi.set(i, h);
  }
  return v;
}

double slack(double v) {
  return 1e-9 * (1 + std::abs(v));
}

struct Totals {
  int cases = 0;
  int64_t samples = 0;
  int64_t element_checks = 0;
};
Totals& totals() {
  static Totals t;
  return t;
}

// Loads the model, bounds it over a random box, samples it, and checks soundness (and tightness
// when `c.tight`). Returns the op types of the loaded graph.
std::set<std::string> check_case(IbpCase& c, Rng& rng) {
  INFO("case: " << c.name);
  OnnxLoadOptions options;
  options.prepare_options.fold_constants = c.fold;
  auto model = c.b->load(options);
  INFO("load: " << (model ? "ok" : model.status().to_string()));
  REQUIRE(model.has_value());
  const Graph& g = model->graph;
  std::set<std::string> ops;
  for (const Node& n : g.nodes())
    ops.insert(n.op);

  std::vector<Interval> boxes;
  int64_t total = 0;
  for (const InSpec& s : c.ins) {
    boxes.push_back(draw_box(rng, s));
    total += shape_numel(s.shape);
  }
  auto bounds = ibp_outputs(g, boxes);
  INFO("ibp: " << (bounds ? "ok" : bounds.status().to_string()));
  REQUIRE(bounds.has_value());
  REQUIRE(bounds->size() == g.outputs().size());
  for (const Interval& o : *bounds)
    for (int64_t i = 0; i < o.lo.numel(); ++i) {
      INFO("bound element " << i << ": [" << o.lo.get(i) << ", " << o.hi.get(i) << "]");
      REQUIRE(o.lo.get(i) <= o.hi.get(i));
    }
  if (c.extra)
    c.extra(*bounds);

  RunOptions ro;
  ro.dtype = DType::kF64;
  ro.threads = 1;
  auto ex = Executor::create(g, ro);
  REQUIRE(ex.has_value());

  std::vector<Tensor> x;
  for (const Interval& bx : boxes)
    x.push_back(bx.lo.clone());
  // Sets input element `k` (flat over all inputs) to v.
  auto set_flat = [&](int64_t k, double v) {
    for (Tensor& t : x) {
      if (k < t.numel()) {
        t.set(k, v);
        return;
      }
      k -= t.numel();
    }
  };
  auto box_of = [&](int64_t k) -> std::pair<double, double> {
    for (const Interval& bx : boxes) {
      if (k < bx.lo.numel())
        return {bx.lo.get(k), bx.hi.get(k)};
      k -= bx.lo.numel();
    }
    return {0, 0};
  };

  int64_t violations = 0;
  std::string first;
  const int64_t corners = total <= 10 ? (int64_t{1} << total) : 0;
  const int64_t n_samples = std::max<int64_t>(kSamples, corners);
  for (int64_t s = 0; s < n_samples; ++s) {
    const bool vertex = s >= corners && uniform(rng, 0, 1) < 0.25;
    for (int64_t k = 0; k < total; ++k) {
      const auto [l, h] = box_of(k);
      double v = 0;
      if (s < corners)
        v = ((s >> k) & 1) ? h : l;
      else if (vertex)
        v = uniform(rng, 0, 1) < 0.5 ? l : h;
      else
        v = l == h ? l : uniform(rng, l, h);
      set_flat(k, v);
    }
    auto y = ex->run(x);
    REQUIRE(y.has_value());
    REQUIRE(y->size() == bounds->size());
    for (size_t o = 0; o < y->size(); ++o) {
      const Tensor& t = (*y)[o];
      const Interval& bd = (*bounds)[o];
      REQUIRE(t.numel() == bd.lo.numel());
      for (int64_t i = 0; i < t.numel(); ++i) {
        const double v = t.get(i), lo = bd.lo.get(i), hi = bd.hi.get(i);
        ++totals().element_checks;
        if (v >= lo - slack(lo) && v <= hi + slack(hi))
          continue;
        if (violations++ == 0) {
          std::ostringstream os;
          os.precision(17);
          os << "sample " << s << ", output " << o << " element " << i << ": " << v << " not in ["
             << lo << ", " << hi << "]; inputs:";
          for (const Tensor& xi : x)
            for (int64_t j = 0; j < xi.numel(); ++j)
              os << ' ' << xi.get(j);
          first = os.str();
        }
      }
    }
  }
  totals().samples += n_samples;
  ++totals().cases;
  INFO(first);
  CHECK(violations == 0);

  if (c.tight) {
    std::vector<Tensor> lo, hi;
    for (const Interval& bx : boxes) {
      lo.push_back(bx.lo);
      hi.push_back(bx.hi);
    }
    const auto ylo = test::run_graph(g, lo);
    const auto yhi = test::run_graph(g, hi);
    for (size_t o = 0; o < ylo.size(); ++o) {
      const Interval& bd = (*bounds)[o];
      int64_t loose = 0;
      for (int64_t i = 0; i < bd.lo.numel(); ++i) {
        const double a = ylo[o].get(i), b = yhi[o].get(i);
        if (std::abs(bd.lo.get(i) - a) > 1e-12 * (1 + std::abs(a)) ||
            std::abs(bd.hi.get(i) - b) > 1e-12 * (1 + std::abs(b)))
          ++loose;
      }
      INFO("tightness of output " << o);
      CHECK(loose == 0);
    }
  }
  if (c.exact_pointwise) {
    REQUIRE(boxes.size() == 1);
    Tensor zero = boxes[0].lo.clone();
    for (int64_t i = 0; i < zero.numel(); ++i)
      zero.set(i, std::clamp(0.0, boxes[0].lo.get(i), boxes[0].hi.get(i)));
    const auto yl = test::run_graph(g, {boxes[0].lo});
    const auto yh = test::run_graph(g, {boxes[0].hi});
    const auto yz = test::run_graph(g, {zero});
    for (size_t o = 0; o < yl.size(); ++o) {
      const Interval& bd = (*bounds)[o];
      int64_t loose = 0;
      for (int64_t i = 0; i < bd.lo.numel(); ++i) {
        const double a = std::min({yl[o].get(i), yh[o].get(i), yz[o].get(i)});
        const double b = std::max({yl[o].get(i), yh[o].get(i), yz[o].get(i)});
        if (std::abs(bd.lo.get(i) - a) > 1e-12 * (1 + std::abs(a)) ||
            std::abs(bd.hi.get(i) - b) > 1e-12 * (1 + std::abs(b)))
          ++loose;
      }
      INFO("exactness of the element-wise output " << o);
      CHECK(loose == 0);
    }
  }
  return ops;
}

// ---- the per-op cases ----

using Maker = std::function<void(IbpCase&, Rng&)>;
struct Entry {
  std::string name;
  Maker make;
};

std::vector<Entry> unary_entries() {
  struct U {
    const char* op;
    double a, b;
    Box kind;
    bool tight;
  };
  const U us[] = {
      {"Relu", -3, 3, Box::kMixed, true},         {"Relu", -3, 3, Box::kPoint, true},
      {"Sigmoid", -6, 6, Box::kMixed, true},      {"Sigmoid", -800, 800, Box::kWide, true},
      {"Sigmoid", 30, 900, Box::kMixed, true},    {"Tanh", -4, 4, Box::kMixed, true},
      {"Tanh", -500, 500, Box::kWide, true},      {"Exp", -5, 5, Box::kMixed, true},
      {"Log", 0.01, 5, Box::kMixed, true},        {"Sqrt", 0, 9, Box::kMixed, true},
      {"Erf", -5, 5, Box::kMixed, true},          {"Softplus", -40, 40, Box::kWide, true},
      {"Sign", -3, 3, Box::kMixed, true},         {"Identity", -3, 3, Box::kMixed, true},
      {"Abs", -3, 3, Box::kWide, false},          {"Abs", -3, 3, Box::kMixed, false},
      {"Neg", -3, 3, Box::kMixed, false},         {"Reciprocal", -3, -0.25, Box::kMixed, false},
      {"Reciprocal", 0.25, 3, Box::kWide, false},
  };
  std::vector<Entry> es;
  for (const U& u : us)
    es.push_back({cat(u.op, " on [", u.a, ", ", u.b, "]"), [u](IbpCase& c, Rng&) {
                    c.input("x", {2, 3}, u.a, u.b, u.kind);
                    c.node(u.op, {"x"}, {"y"});
                    c.output("y");
                    c.tight = u.tight;
                    c.exact_pointwise = !u.tight;
                  }});
  return es;
}

void expect_unbounded_at(const std::vector<Interval>& b, int64_t i) {
  INFO("element " << i << " of a quotient whose divisor interval contains 0");
  CHECK(b[0].lo.get(i) == -kInf);
  CHECK(b[0].hi.get(i) == kInf);
}

std::vector<Entry> entries() {
  std::vector<Entry> es = unary_entries();
  auto add = [&](const std::string& name, Maker m) {
    es.push_back({name, std::move(m)});
  };

  // ---- elementwise with attributes / constants ----
  add("Clip with constant min and max", [](IbpCase& c, Rng&) {
    c.input("x", {2, 3}, -3, 3);
    const auto lo = c.init(f32({}, {-1.0f})), hi = c.init(f32({}, {2.0f}));
    c.node("Clip", {"x", lo, hi}, {"y"});
    c.node("Clip", {"x", "", hi}, {"y2"});
    c.output("y").output("y2").tight = true;
  });
  for (double alpha : {0.1, -0.5, 1.5})
    add(cat("LeakyRelu alpha ", alpha), [alpha](IbpCase& c, Rng&) {
      c.input("x", {3, 4}, -3, 3, Box::kMixed);
      c.node("LeakyRelu", {"x"}, {"y"}).attr("alpha", alpha);
      c.output("y").tight = alpha >= 0;
      c.exact_pointwise = true;
    });
  add("Cast to int64 and float", [](IbpCase& c, Rng&) {
    c.input("x", {2, 3}, -4, 4);
    c.node("Cast", {"x"}, {"yi"}).attr("to", 7);
    c.node("Cast", {"x"}, {"yf"}).attr("to", 1);
    c.output("yi").output("yf").tight = true;
  });
  add("Dropout (inference)", [](IbpCase& c, Rng&) {
    c.input("x", {2, 3}, -4, 4);
    c.node("Dropout", {"x"}, {"y"});
    c.output("y").tight = true;
  });

  // ---- binary ----
  add("Add broadcast, two bounded", [](IbpCase& c, Rng&) {
    c.input("a", {2, 3}, -3, 3).input("b", {3}, -2, 2);
    c.node("Add", {"a", "b"}, {"y"});
    c.output("y").tight = true;
  });
  add("Sub, two bounded and from a constant", [](IbpCase& c, Rng& r) {
    c.input("a", {2, 3}, -3, 3).input("b", {2, 3}, -2, 2, Box::kWide);
    const auto k = c.init(rand_f32(r, {3}, -2, 2));
    c.node("Sub", {"a", "b"}, {"y"});
    c.node("Sub", {k, "a"}, {"y2"});
    c.node("Sub", {"a", "a"}, {"y3"});
    c.output("y").output("y2").output("y3");
  });
  add("Mul, two bounded (across 0) and by a signed constant", [](IbpCase& c, Rng& r) {
    c.input("a", {2, 3}, -3, 3, Box::kWide).input("b", {2, 3}, -2, 2);
    const auto k = c.init(rand_f32(r, {3}, -2, 2));
    c.node("Mul", {"a", "b"}, {"y"});
    c.node("Mul", {"a", k}, {"y2"});
    c.node("Mul", {"a", "a"}, {"y3"});
    c.output("y").output("y2").output("y3");
  });
  add("Div, two bounded, positive and negative divisors, by constants", [](IbpCase& c, Rng&) {
    c.input("a", {2, 3}, -3, 3, Box::kWide)
        .input("p", {2, 3}, 0.25, 3)
        .input("n", {2, 3}, -3, -0.25, Box::kWide);
    const auto k = c.init(f32({3}, {2.0f, -0.5f, 4.0f}));
    c.node("Div", {"a", "p"}, {"y1"});
    c.node("Div", {"a", "n"}, {"y2"});
    c.node("Div", {"a", k}, {"y3"});
    c.node("Div", {k, "n"}, {"y4"});
    c.output("y1").output("y2").output("y3").output("y4");
  });
  add("Div whose divisor interval contains 0", [](IbpCase& c, Rng&) {
    c.input("a", {1, 3}, 1, 2, Box::kWide).input("d", {1, 3}, -1, 1, Box::kWide);
    c.node("Div", {"a", "d"}, {"y"});
    c.output("y");
    c.extra = [](const std::vector<Interval>& b) {
      for (int64_t i = 0; i < 3; ++i)
        expect_unbounded_at(b, i);
    };
  });
  add("Max and Min of three", [](IbpCase& c, Rng&) {
    c.input("a", {2, 3}, -3, 3).input("b", {2, 3}, -3, 3).input("d", {3}, -3, 3);
    c.node("Max", {"a", "b", "d"}, {"y"});
    c.node("Min", {"a", "b", "d"}, {"y2"});
    c.output("y").output("y2").tight = true;
  });
  struct P {
    double p, a, b;
  };
  for (const P& p : {P{2, -2, 2},
                     P{2, 0.5, 2},
                     P{3, -2, 2},
                     P{-1, 0.25, 3},
                     P{-1, -3, -0.25},
                     P{0.5, 0, 4},
                     P{-2, 0.25, 3},
                     P{-2, -3, -0.25},
                     P{0, -2, 2},
                     P{1.5, 0, 3},
                     P{-0.5, 0.25, 3},
                     P{-3, -2, 2}})
    for (Box kind : {Box::kWide, Box::kMixed})
      add(cat("Pow exponent ",
              p.p,
              " on [",
              p.a,
              ", ",
              p.b,
              "]",
              kind == Box::kWide ? ", wide" : ""),
          [p, kind](IbpCase& c, Rng&) {
            c.input("x", {3, 4}, p.a, p.b, kind);
            const auto e = c.init(f32({}, {static_cast<float>(p.p)}));
            c.node("Pow", {"x", e}, {"y"});
            c.output("y");
            c.exact_pointwise = p.p != -3;  // x^-3 over an interval around 0: [-inf, inf]
          });

  // ---- softmax, normalisation ----
  add("Softmax on a middle axis", [](IbpCase& c, Rng&) {
    c.input("x", {2, 3, 2}, -4, 4);
    c.node("Softmax", {"x"}, {"y"}).attr("axis", 1);
    c.output("y");
  });
  add("Softmax default axis, wide", [](IbpCase& c, Rng&) {
    c.input("x", {1, 4}, -30, 30, Box::kWide);
    c.node("Softmax", {"x"}, {"y"});
    c.output("y");
  });
  add("Softmax legacy (opset 11) axis 1 over trailing dims", [](IbpCase& c, Rng&) {
    c.input("x", {2, 2, 2}, -3, 3);
    c.node("Softmax", {"x"}, {"y"}).attr("axis", 1);
    c.output("y");
  });
  add("LayerNormalization over the last axis, signed scale", [](IbpCase& c, Rng&) {
    c.input("x", {2, 4}, -2, 2);
    const auto s = c.init(f32({4}, {1.0f, -0.5f, 2.0f, 0.25f}));
    const auto bb = c.init(f32({4}, {0.1f, 0.0f, -1.0f, 0.5f}));
    c.node("LayerNormalization", {"x", s, bb}, {"y"}).attr("axis", -1);
    c.output("y");
  });
  add("LayerNormalization over two axes, narrow box", [](IbpCase& c, Rng&) {
    c.input("x", {1, 2, 3}, -0.2, 0.2);
    const auto s = c.init(f32({2, 3}, {1, 1, 1, -1, 1, 0.5f}));
    c.node("LayerNormalization", {"x", s}, {"y"}).attr("axis", 1).attr("epsilon", 1e-3);
    c.output("y");
  });
  add("BatchNormalization with negative scale", [](IbpCase& c, Rng&) {
    c.input("x", {1, 3, 2, 2}, -3, 3);
    const auto s = c.init(f32({3}, {-1.5f, 0.5f, 2.0f}));
    const auto bb = c.init(f32({3}, {0.25f, -1.0f, 0.0f}));
    const auto m = c.init(f32({3}, {0.5f, -0.25f, 1.0f}));
    const auto v = c.init(f32({3}, {0.5f, 2.0f, 0.1f}));
    c.node("BatchNormalization", {"x", s, bb, m, v}, {"y"}).attr("epsilon", 1e-3);
    c.output("y").exact_pointwise = true;
  });

  // ---- linear ----
  add("Gemm transB, alpha < 0, beta", [](IbpCase& c, Rng& r) {
    c.input("a", {2, 3}, -2, 2);
    const auto w = c.init(rand_f32(r, {4, 3}, -1, 1));
    const auto bias = c.init(rand_f32(r, {4}, -1, 1));
    c.node("Gemm", {"a", w, bias}, {"y"}).attr("transB", 1).attr("alpha", -0.75).attr("beta", 0.5);
    c.output("y");
  });
  add("Gemm transA, both operands bounded", [](IbpCase& c, Rng& r) {
    c.input("a", {3, 2}, -2, 2).input("b", {3, 2}, -1, 1, Box::kWide);
    const auto bias = c.init(rand_f32(r, {2}, -1, 1));
    c.node("Gemm", {"a", "b", bias}, {"y"}).attr("transA", 1).attr("alpha", 1.5);
    c.output("y");
  });
  add("MatMul, both operands bounded", [](IbpCase& c, Rng&) {
    c.input("a", {2, 3}, -2, 2, Box::kWide).input("b", {3, 2}, -1, 1);
    c.node("MatMul", {"a", "b"}, {"y"});
    c.output("y");
  });
  add("MatMul batched by a constant, and degenerate input", [](IbpCase& c, Rng& r) {
    c.input("a", {2, 2, 3}, -2, 2).input("p", {1, 3}, -2, 2, Box::kPoint);
    const auto w = c.init(rand_f32(r, {3, 4}, -1, 1));
    c.node("MatMul", {"a", w}, {"y"});
    c.node("MatMul", {"p", w}, {"y2"});
    c.output("y").output("y2");
  });
  add("Conv with padding, stride, groups, bias", [](IbpCase& c, Rng& r) {
    c.input("x", {1, 2, 5, 5}, -1, 1);
    const auto w = c.init(rand_f32(r, {4, 1, 3, 3}, -1, 1));
    const auto bias = c.init(rand_f32(r, {4}, -1, 1));
    c.node("Conv", {"x", w, bias}, {"y"})
        .attr("group", 2)
        .attr("pads", I{1, 1, 1, 1})
        .attr("strides", I{2, 2});
    c.output("y");
  });
  add("Conv with dilation, bounded weights", [](IbpCase& c, Rng&) {
    c.input("x", {1, 1, 4, 4}, -1, 1).input("w", {2, 1, 2, 2}, -1, 1, Box::kWide);
    c.node("Conv", {"x", "w"}, {"y"}).attr("dilations", I{2, 1}).attr("pads", I{0, 1, 0, 0});
    c.output("y");
  });
  add("ConvTranspose stride 2, pads, bias", [](IbpCase& c, Rng& r) {
    c.input("x", {1, 2, 3, 3}, -1, 1);
    const auto w = c.init(rand_f32(r, {2, 2, 3, 3}, -1, 1));
    const auto bias = c.init(rand_f32(r, {2}, -1, 1));
    c.node("ConvTranspose", {"x", w, bias}, {"y"})
        .attr("strides", I{2, 2})
        .attr("pads", I{1, 1, 1, 1})
        .attr("output_padding", I{1, 1});
    c.output("y");
  });

  // ---- pooling and reductions ----
  add("MaxPool kernel 3 stride 2 with padding, kernel 2 stride 1", [](IbpCase& c, Rng&) {
    c.input("x", {1, 2, 5, 5}, -3, 3);
    c.node("MaxPool", {"x"}, {"y"})
        .attr("kernel_shape", I{3, 3})
        .attr("strides", I{2, 2})
        .attr("pads", I{1, 1, 1, 1});
    c.node("MaxPool", {"x"}, {"y2"}).attr("kernel_shape", I{2, 2});
    c.output("y").output("y2").tight = true;
  });
  for (int cip : {0, 1})
    add(cat("AveragePool with padding, count_include_pad ", cip), [cip](IbpCase& c, Rng&) {
      c.input("x", {1, 2, 4, 5}, -3, 3);
      c.node("AveragePool", {"x"}, {"y"})
          .attr("kernel_shape", I{3, 2})
          .attr("strides", I{2, 2})
          .attr("pads", I{1, 1, 1, 0})
          .attr("count_include_pad", cip);
      c.output("y").tight = true;
    });
  add("GlobalAveragePool", [](IbpCase& c, Rng&) {
    c.input("x", {1, 3, 3, 3}, -3, 3);
    c.node("GlobalAveragePool", {"x"}, {"y"});
    c.output("y").tight = true;
  });
  add("ReduceSum (axes input) and ReduceMean (axes attribute)", [](IbpCase& c, Rng&) {
    c.input("x", {2, 3, 2}, -3, 3);
    c.node("ReduceSum", {"x", c.ints({1})}, {"y"}).attr("keepdims", 0);
    c.node("ReduceMean", {"x"}, {"y2"}).attr("axes", I{0, 2});
    c.node("ReduceSum", {"x"}, {"y3"});
    c.output("y").output("y2").output("y3").tight = true;
  });

  // ---- shape ops ----
  add("Reshape, Transpose, Flatten, Squeeze, Unsqueeze", [](IbpCase& c, Rng&) {
    c.input("x", {2, 1, 3}, -3, 3);
    c.node("Reshape", {"x", c.ints({3, -1})}, {"y1"});
    c.node("Transpose", {"x"}, {"y2"}).attr("perm", I{2, 0, 1});
    c.node("Flatten", {"x"}, {"y3"}).attr("axis", 2);
    c.node("Squeeze", {"x", c.ints({1})}, {"y4"});
    c.node("Unsqueeze", {"x", c.ints({0, -1})}, {"y5"});
    c.output("y1").output("y2").output("y3").output("y4").output("y5").tight = true;
  });
  add("Slice with negative step, Concat, Split, Gather", [](IbpCase& c, Rng&) {
    c.input("x", {2, 5}, -3, 3).input("z", {2, 2}, -1, 1);
    c.node("Slice", {"x", c.ints({-1}), c.ints({-6}), c.ints({1}), c.ints({-2})}, {"y1"});
    c.node("Concat", {"x", "z", "x"}, {"y2"}).attr("axis", 1);
    c.node("Split", {"x", c.ints({1, 3, 1})}, {"s1", "s2", "s3"}).attr("axis", 1);
    c.node("Gather", {"x", c.ints({4, -5, 2, 2})}, {"y3"}).attr("axis", 1);
    c.output("y1").output("y2").output("s1").output("s2").output("s3").output("y3");
    c.tight = true;
  });
  add("Pad reflect and constant", [](IbpCase& c, Rng&) {
    c.input("x", {1, 2, 3}, -3, 3);
    c.node("Pad", {"x", c.ints({0, 0, 2, 0, 0, 1})}, {"y"}).attr("mode", "reflect");
    const auto v = c.init(f32({}, {1.5f}));
    c.node("Pad", {"x", c.ints({0, 1, 1, 0, 0, 2}), v}, {"y2"});
    c.output("y").output("y2").tight = true;
  });
  add("Constant, Shape, ConstantOfShape without folding", [](IbpCase& c, Rng&) {
    c.fold = false;
    c.input("x", {2, 3}, -3, 3);
    c.node("Constant", {}, {"k"}).attr("value", f32({3}, {1.0f, -2.0f, 0.5f}));
    c.node("Add", {"x", "k"}, {"y"});
    c.node("Shape", {"x"}, {"s"});
    c.node("ConstantOfShape", {c.ints({2, 3})}, {"f"}).attr("value", f32({1}, {2.5f}));
    c.node("Mul", {"x", "f"}, {"y2"});
    c.output("y").output("s").output("y2").tight = true;
  });
  return es;
}

TEST_CASE("IBP bounds contain every sampled output for every op with a rule", "[ibp]") {
  std::set<std::string> covered;
  Rng rng(20240607);
  for (const Entry& e : entries()) {
    IbpCase c(e.name, e.name.find("legacy") != std::string::npos ? 11 : 17);
    e.make(c, rng);
    const auto ops = check_case(c, rng);
    covered.insert(ops.begin(), ops.end());
  }
  for (const OpDef* def : all_ops()) {
    if (def->ibp == nullptr)
      continue;
    INFO("op with an ibp rule and no soundness case: " << def->name);
    CHECK(covered.count(std::string(def->name)) == 1);
  }
}

// ---- random small DAGs of MLP ops ----

struct Val {
  std::string name;
  int64_t width;
};

void random_dag(IbpCase& c, Rng& r) {
  auto pick = [&](int n) {
    return std::uniform_int_distribution<int>(0, n - 1)(r);
  };
  const int64_t d0 = 2 + pick(3);
  c.input("x", {1, d0}, -2, 2, pick(2) ? Box::kMixed : Box::kWide);
  std::vector<Val> vals{{"x", d0}};
  const int nodes = 3 + pick(4);
  for (int k = 0; k < nodes; ++k) {
    const std::string out = cat("v", k);
    const Val a =
        pick(2) ? vals.back() : vals[static_cast<size_t>(pick(static_cast<int>(vals.size())))];
    std::vector<Val> same;
    for (const Val& v : vals)
      if (v.width == a.width)
        same.push_back(v);
    int op = pick(9);
    if (op == 6 && a.width * 2 > 12)
      op = 0;
    int64_t w = a.width;
    switch (op) {
      case 0: {  // Gemm
        w = 2 + pick(4);
        const auto wt = c.init(rand_f32(r, {a.width, w}, -1, 1));
        const auto bias = c.init(rand_f32(r, {w}, -0.5, 0.5));
        c.node("Gemm", {a.name, wt, bias}, {out}).attr("alpha", pick(4) ? 1.0 : -0.5);
        break;
      }
      case 1:
        c.node("Relu", {a.name}, {out});
        break;
      case 2:
        c.node("Sigmoid", {a.name}, {out});
        break;
      case 3:
        c.node("Tanh", {a.name}, {out});
        break;
      case 4:
      case 5: {  // residual Add / Sub with a value of the same width
        const Val& bv = same[static_cast<size_t>(pick(static_cast<int>(same.size())))];
        c.node(op == 4 ? "Add" : "Sub", {a.name, bv.name}, {out});
        break;
      }
      case 6: {  // Concat
        const Val& bv = vals[static_cast<size_t>(pick(static_cast<int>(vals.size())))];
        if (a.width + bv.width > 12) {
          c.node("Relu", {a.name}, {out});
          break;
        }
        c.node("Concat", {a.name, bv.name}, {out}).attr("axis", 1);
        w = a.width + bv.width;
        break;
      }
      case 7: {  // Mul by a constant
        const auto k2 = c.init(rand_f32(r, {a.width}, -2, 2));
        c.node("Mul", {a.name, k2}, {out});
        break;
      }
      default: {  // MatMul by a constant
        w = 2 + pick(4);
        const auto wt = c.init(rand_f32(r, {a.width, w}, -1, 1));
        c.node("MatMul", {a.name, wt}, {out});
        break;
      }
    }
    vals.push_back({out, w});
  }
  c.output(vals.back().name);
  if (vals.size() > 2)
    c.output(vals[1 + static_cast<size_t>(pick(static_cast<int>(vals.size()) - 2))].name);
}

TEST_CASE("IBP bounds contain every sampled output of random small DAGs", "[ibp]") {
  for (unsigned seed = 1; seed <= 20; ++seed) {
    Rng rng(seed);
    IbpCase c(cat("random DAG, seed ", seed));
    random_dag(c, rng);
    check_case(c, rng);
  }
}

// ---- refusals ----

TEST_CASE("ibp_all refuses ops without an interval rule and inverted boxes", "[ibp]") {
  // A graph built by hand (not through the loader) with an op type the table does not know.
  Graph g;
  const ValueId x = g.add_value("x", DType::kF64, {1, 4});
  g.inputs().push_back(x);
  const ValueId y = g.add_value("y", DType::kF64, {1, 4});
  Node n;
  n.name = "mystery_node";
  n.op = "MysteryOp";
  n.inputs = {x};
  n.outputs = {y};
  g.add_node(n);
  g.outputs().push_back(y);
  const Tensor lo = Tensor::from_vector<double>({1, 4}, {-1, -1, -1, -1});
  const Tensor hi = Tensor::from_vector<double>({1, 4}, {1, 1, 1, 1});
  auto r = ibp_all(g, {{lo, hi}});
  REQUIRE_FALSE(r.has_value());
  CHECK(r.status().code() == ErrorCode::kUnsupported);
  CHECK(r.status().message().find("mystery_node") != std::string::npos);
  CHECK(r.status().message().find("MysteryOp") != std::string::npos);

  OnnxBuilder b2(17);
  b2.input("x", DType::kF32, {1, 4});
  b2.node("Relu", {"x"}, {"y"});
  b2.output("y");
  auto m2 = b2.load();
  REQUIRE(m2.has_value());
  const Tensor bad_hi = Tensor::from_vector<double>({1, 4}, {1, 1, -2, 1});
  auto r2 = ibp_all(m2->graph, {{lo, bad_hi}});
  REQUIRE_FALSE(r2.has_value());
  CHECK(r2.status().code() == ErrorCode::kInvalidArgument);
  auto r3 = ibp_outputs(m2->graph, {{lo, bad_hi}});
  REQUIRE_FALSE(r3.has_value());
  CHECK(r3.status().code() == ErrorCode::kInvalidArgument);
  auto ok = ibp_outputs(m2->graph, {{lo, hi}});
  REQUIRE(ok.has_value());
}

}  // namespace
}  // namespace nncert
