// CROWN rules of the non-element-wise nonlinear ops (MaxPool, Softmax, Mul / MatMul / Div of two
// non-constant operands, Max / Min), tested for soundness: small ONNX graphs (OnnxBuilder) with
// seeded random weights get random input boxes, crown_bounds bounds the first output, and >= 2000
// points of the box (all corners when the inputs have <= 10 elements, else random vertices and
// uniform points) run through the executor in float64; every output must lie within the bounds
// (1e-9 relative slack); a random specification matrix with mixed signs is bounded and sampled
// too. Where theory says so, CROWN is compared with IBP or with known planes. The cnn_bn_pool
// fixture reproduces auto_LiRPA's MaxPool bounds.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "bounds/crown.h"
#include "bounds/ibp.h"
#include "frontends/onnx/onnx_loader.h"
#include "passes/passes.h"
#include "runtime/executor.h"
#include "runtime/kernels/pool.h"
#include "tests/support/onnx_builder.h"
#include "tests/support/test_paths.h"

namespace nncert {
namespace {

using test::OnnxBuilder;
using Rng = std::mt19937;
using I = std::vector<int64_t>;

constexpr int kSamples = 2000;

double uniform(Rng& r, double a, double b) {
  return std::uniform_real_distribution<double>(a, b)(r);
}

Tensor rand_f32(Rng& r, const Shape& s, double a, double b) {
  std::vector<float> v(static_cast<size_t>(shape_numel(s)));
  for (float& x : v)
    x = static_cast<float>(uniform(r, a, b));
  return Tensor::from_vector<float>(s, v);
}

double slack(double v) {
  return 1e-9 * (1 + std::abs(v));
}

// One graph input and how its box is drawn: centres uniform in [c_lo, c_hi], half-widths uniform
// in [w_lo, w_hi]; or an explicit box.
struct InSpec {
  std::string name;
  Shape shape;
  double c_lo = -0.5, c_hi = 0.5, w_lo = 0.1, w_hi = 1.0;
  std::vector<double> lo, hi;  // explicit box when not empty
};

struct Case {
  explicit Case(std::string n, int64_t opset = 17)
      : name(std::move(n)), b(std::make_unique<OnnxBuilder>(opset)) {}
  std::string name;
  std::unique_ptr<OnnxBuilder> b;
  std::vector<InSpec> ins;
  int consts = 0;

  Case& input(const std::string& n,
              const Shape& s,
              double c_lo = -0.5,
              double c_hi = 0.5,
              double w_lo = 0.1,
              double w_hi = 1.0) {
    b->input(n, DType::kF32, s);
    ins.push_back({n, s, c_lo, c_hi, w_lo, w_hi, {}, {}});
    return *this;
  }
  Case& input_box(const std::string& n,
                  const Shape& s,
                  std::vector<double> lo,
                  std::vector<double> hi) {
    b->input(n, DType::kF32, s);
    ins.push_back({n, s, 0, 0, 0, 0, std::move(lo), std::move(hi)});
    return *this;
  }
  std::string init(const Tensor& t) {
    std::string n = "c" + std::to_string(++consts);
    b->initializer(n, t);
    return n;
  }
  std::string ints(const I& v) {
    return init(Tensor::from_vector<int64_t>({static_cast<int64_t>(v.size())}, v));
  }
  OnnxBuilder& node(const std::string& op,
                    const std::vector<std::string>& in,
                    const std::vector<std::string>& out) {
    return b->node(op, in, out);
  }
  Case& output(const std::string& n) {
    b->output(n);
    return *this;
  }
};

struct Checked {
  std::vector<Interval> boxes;
  Interval crown;  // bounds of the first output (flat)
  Interval ibp;
};

Interval draw_box(Rng& r, const InSpec& s) {
  Interval v{Tensor(DType::kF64, s.shape), Tensor(DType::kF64, s.shape)};
  for (int64_t i = 0; i < v.lo.numel(); ++i) {
    double l = 0, h = 0;
    if (!s.lo.empty()) {
      l = s.lo[static_cast<size_t>(i)];
      h = s.hi[static_cast<size_t>(i)];
    } else {
      const double c = uniform(r, s.c_lo, s.c_hi), w = uniform(r, s.w_lo, s.w_hi);
      l = c - w;
      h = c + w;
    }
    v.lo.set(i, l);
    v.hi.set(i, h);
  }
  return v;
}

// Bounds the case's first output by CROWN (and IBP) over a random box and samples the box.
Checked check_case(Case& c, Rng& rng, int samples = kSamples) {
  INFO("case: " << c.name);
  auto model = c.b->load();
  INFO("load: " << (model ? "ok" : model.status().to_string()));
  REQUIRE(model.has_value());
  const Graph& g = model->graph;
  Checked out;
  int64_t total = 0;
  for (const InSpec& s : c.ins) {
    out.boxes.push_back(draw_box(rng, s));
    total += shape_numel(s.shape);
  }
  auto cr = crown_bounds(g, out.boxes);
  INFO("crown: " << (cr ? "ok" : cr.status().to_string()));
  REQUIRE(cr.has_value());
  out.crown = cr->bounds;
  // A random specification C (rows of mixed signs, so both planes of every relaxation are used
  // on both sides) bounded too.
  const int64_t n_out = out.crown.lo.numel();
  std::vector<std::vector<double>> spec(4, std::vector<double>(static_cast<size_t>(n_out)));
  for (auto& row : spec)
    for (double& v : row)
      v = uniform(rng, -1, 1);
  auto cs = crown_bounds(g, out.boxes, spec);
  INFO("crown with C: " << (cs ? "ok" : cs.status().to_string()));
  REQUIRE(cs.has_value());
  const Interval spec_b = cs->bounds;
  auto ib = ibp_outputs(g, out.boxes);
  REQUIRE(ib.has_value());
  out.ibp = {(*ib)[0].lo.reshaped({(*ib)[0].lo.numel()}),
             (*ib)[0].hi.reshaped({(*ib)[0].hi.numel()})};
  for (int64_t i = 0; i < out.crown.lo.numel(); ++i) {
    INFO("bound " << i << ": [" << out.crown.lo.get(i) << ", " << out.crown.hi.get(i) << "]");
    REQUIRE(std::isfinite(out.crown.lo.get(i)));
    REQUIRE(std::isfinite(out.crown.hi.get(i)));
    REQUIRE(out.crown.lo.get(i) <= out.crown.hi.get(i) + slack(out.crown.hi.get(i)));
  }

  RunOptions ro;
  ro.dtype = DType::kF64;
  ro.threads = 1;
  auto ex = Executor::create(g, ro);
  REQUIRE(ex.has_value());
  std::vector<Tensor> x;
  for (const Interval& bx : out.boxes)
    x.push_back(bx.lo.clone());
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
    for (const Interval& bx : out.boxes) {
      if (k < bx.lo.numel())
        return {bx.lo.get(k), bx.hi.get(k)};
      k -= bx.lo.numel();
    }
    return {0, 0};
  };
  const int64_t corners = total <= 10 ? (int64_t{1} << total) : 0;
  const int64_t n_samples = std::max<int64_t>(samples, corners);
  int64_t violations = 0;
  std::string first;
  for (int64_t s = 0; s < n_samples; ++s) {
    const bool vertex = s >= corners && uniform(rng, 0, 1) < 0.3;
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
    const Tensor& t = (*y)[0];
    REQUIRE(t.numel() == out.crown.lo.numel());
    for (int64_t i = 0; i < t.numel(); ++i) {
      const double v = t.get(i), lo = out.crown.lo.get(i), hi = out.crown.hi.get(i);
      if (v >= lo - slack(lo) && v <= hi + slack(hi))
        continue;
      if (violations++ == 0) {
        std::ostringstream os;
        os.precision(17);
        os << "sample " << s << ", element " << i << ": " << v << " not in [" << lo << ", " << hi
           << "]";
        first = os.str();
      }
    }
    for (size_t r = 0; r < spec.size(); ++r) {
      double v = 0;
      for (int64_t i = 0; i < t.numel(); ++i)
        v += spec[r][static_cast<size_t>(i)] * t.get(i);
      const auto k = static_cast<int64_t>(r);
      const double lo = spec_b.lo.get(k), hi = spec_b.hi.get(k);
      if (v >= lo - slack(lo) && v <= hi + slack(hi))
        continue;
      if (violations++ == 0) {
        std::ostringstream os;
        os.precision(17);
        os << "sample " << s << ", spec row " << r << ": " << v << " not in [" << lo << ", " << hi
           << "]";
        first = os.str();
      }
    }
  }
  INFO(first);
  CHECK(violations == 0);
  return out;
}

double width(const Interval& v, int64_t i) {
  return v.hi.get(i) - v.lo.get(i);
}

// A Conv (random weights) then Relu on x [1, cin, h, w]: a correlated, non-box pool input.
std::string conv_relu(Case& c, Rng& rng, const std::string& x, int64_t cin, int64_t cout) {
  const std::string w = c.init(rand_f32(rng, {cout, cin, 3, 3}, -0.6, 0.6));
  const std::string bias = c.init(rand_f32(rng, {cout}, -0.3, 0.3));
  c.node("Conv", {x, w, bias}, {x + "_conv"}).attr("pads", I{1, 1, 1, 1});
  c.node("Relu", {x + "_conv"}, {x + "_relu"});
  return x + "_relu";
}

// Flatten then Gemm to `n` outputs (random weights).
void flatten_gemm(Case& c, Rng& rng, const std::string& v, int64_t k, int64_t n) {
  c.node("Flatten", {v}, {v + "_flat"});
  c.node("Gemm", {v + "_flat", c.init(rand_f32(rng, {k, n}, -1, 1))}, {"out"});
  c.output("out");
}

}  // namespace

TEST_CASE("CROWN MaxPool: overlapping, padded, dilated, ceil_mode and stacked pools",
          "[crown-ops]") {
  Rng rng(101);
  struct Pool {
    const char* name;
    I kernel, stride, pads, dilation;
    int64_t ceil_mode;
    bool twice;
  };
  const Pool pools[] = {
      {"kernel 3 stride 2 (overlapping)", {3, 3}, {2, 2}, {0, 0, 0, 0}, {1, 1}, 0, false},
      {"kernel 2 stride 1", {2, 2}, {1, 1}, {0, 0, 0, 0}, {1, 1}, 0, false},
      {"kernel 2 stride 2", {2, 2}, {2, 2}, {0, 0, 0, 0}, {1, 1}, 0, false},
      {"two MaxPools in a row", {2, 2}, {1, 1}, {0, 0, 0, 0}, {1, 1}, 0, true},
      {"padding 1, kernel 3 stride 2", {3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, 0, false},
      {"asymmetric padding", {2, 3}, {1, 2}, {1, 0, 0, 1}, {1, 1}, 0, false},
      {"dilation 2", {2, 2}, {1, 1}, {0, 0, 0, 0}, {2, 2}, 0, false},
      {"ceil_mode", {2, 2}, {2, 2}, {0, 0, 0, 0}, {1, 1}, 1, false},
  };
  for (const Pool& p : pools) {
    for (int trial = 0; trial < 3; ++trial) {
      Case c(std::string(p.name) + " #" + std::to_string(trial));
      c.input("x", {1, 2, 7, 7}, -0.5, 0.5, 0.05, 0.4);
      const std::string a = conv_relu(c, rng, "x", 2, 3);
      c.node("MaxPool", {a}, {"p1"})
          .attr("kernel_shape", p.kernel)
          .attr("strides", p.stride)
          .attr("pads", p.pads)
          .attr("dilations", p.dilation)
          .attr("ceil_mode", p.ceil_mode);
      std::string last = "p1";
      if (p.twice) {
        c.node("MaxPool", {"p1"}, {"p2"}).attr("kernel_shape", I{3, 3}).attr("strides", I{1, 1});
        last = "p2";
      }
      int64_t n = 3;  // channels
      for (size_t d = 0; d < 2; ++d) {
        int64_t e = kernels::pool_out_extent(
            7, p.kernel[d], p.stride[d], p.dilation[d], p.pads[d], p.pads[d + 2], p.ceil_mode != 0);
        if (p.twice)
          e = kernels::pool_out_extent(e, 3, 1, 1, 0, 0, false);
        n *= e;
      }
      flatten_gemm(c, rng, last, n, 4);
      check_case(c, rng);
    }
  }
}

TEST_CASE("CROWN MaxPool on the input equals IBP (the relaxation is exact at the box)",
          "[crown-ops]") {
  Rng rng(102);
  for (int trial = 0; trial < 6; ++trial) {
    Case c("maxpool on input #" + std::to_string(trial));
    // Narrow boxes make some windows decided (one cell always wins), wide ones not.
    const double w = trial < 3 ? 0.05 : 1.0;
    c.input("x", {1, 2, 6, 6}, -1, 1, w / 2, w);
    c.node("MaxPool", {"x"}, {"y"})
        .attr("kernel_shape", I{3, 3})
        .attr("strides", I{trial % 2 ? 1 : 2, 2})
        .attr("pads", I{trial % 3 == 0 ? 1 : 0, 0, 0, 0});
    c.output("y");
    const Checked r = check_case(c, rng);
    for (int64_t i = 0; i < r.crown.lo.numel(); ++i) {
      CHECK(r.crown.lo.get(i) == Approx(r.ibp.lo.get(i)).margin(1e-12));
      CHECK(r.crown.hi.get(i) == Approx(r.ibp.hi.get(i)).margin(1e-12));
    }
  }
}

// Bounds of `op(x, y) - x` or a pool minus its first cell, over explicit boxes: the values pin
// down which planes the relaxation used (auto_LiRPA's choices).
Interval known_bounds(Case& c) {
  auto m = c.b->load();
  REQUIRE(m.has_value());
  std::vector<Interval> boxes;
  for (const InSpec& s : c.ins)
    boxes.push_back(
        {Tensor::from_vector<double>(s.shape, s.lo), Tensor::from_vector<double>(s.shape, s.hi)});
  auto r = crown_bounds(m->graph, boxes);
  REQUIRE(r.has_value());
  return r->bounds;
}

TEST_CASE("CROWN MaxPool, Max and Min use auto_LiRPA's planes", "[crown-ops]") {
  struct Pool {
    std::vector<double> lo, hi;
    double want_lo, want_hi;
  };
  // y = max(x0, x1) - x0. Decided window (l0 >= u1, also on a tie): y = x0, so [0, 0];
  // undecided: y >= x0 and y <= max u, so [0, max u - l0]; equal lower bounds pick the first cell.
  const Pool pools[] = {{{1, 0}, {2, 0.99}, 0, 0},
                        {{1, 0}, {2, 1}, 0, 0},
                        {{1, 0}, {2, 1.5}, 0, 1},
                        {{0, 0}, {1, 2}, 0, 2}};
  for (const Pool& p : pools) {
    Case c("maxpool planes");
    c.input_box("x", {1, 1, 1, 2}, p.lo, p.hi);
    c.node("MaxPool", {"x"}, {"m"}).attr("kernel_shape", I{1, 2});
    c.node("Slice", {"x", c.ints({0}), c.ints({1}), c.ints({3})}, {"x0"});
    c.node("Sub", {"m", "x0"}, {"y"});
    c.output("y");
    const Interval b = known_bounds(c);
    CHECK(b.lo.get(0) == Approx(p.want_lo).margin(1e-12));
    CHECK(b.hi.get(0) == Approx(p.want_hi).margin(1e-12));
  }
  struct Pick {
    const char* op;
    std::vector<double> xl, xu, yl, yu;
    double want_lo, want_hi;
  };
  // max(x, y) - x with x in [-1, 2], y in [-0.5, 1]: z >= y (the operand with the smaller upper
  // bound) and z <= (x - 2)/3 + 2, so [-0.5 - 2, 2]; with equal upper bounds (x in [-1, 1],
  // y in [0, 1]): z >= y, z <= (x + 1)/2 + (y - 1) + 1, so [0 - 1, 1/2 + 1 + 1/2]. min(x, y) - x
  // is the mirror image: min(x, y) = -max(-x, -y).
  const Pick picks[] = {{"Max", {-1}, {2}, {-0.5}, {1}, -2.5, 2},
                        {"Max", {-1}, {1}, {0}, {1}, -1, 2},
                        {"Min", {-2}, {1}, {-1}, {0.5}, -2, 2.5},
                        {"Min", {-1}, {1}, {-1}, {0}, -2, 1}};
  for (const Pick& p : picks) {
    Case c(std::string(p.op) + " planes");
    c.input_box("x", {1}, p.xl, p.xu);
    c.input_box("y", {1}, p.yl, p.yu);
    c.node(p.op, {"x", "y"}, {"m"});
    c.node("Sub", {"m", "x"}, {"z"});
    c.output("z");
    const Interval b = known_bounds(c);
    INFO(p.op << " [" << b.lo.get(0) << ", " << b.hi.get(0) << "]");
    CHECK(b.lo.get(0) == Approx(p.want_lo).margin(1e-12));
    CHECK(b.hi.get(0) == Approx(p.want_hi).margin(1e-12));
  }
}

TEST_CASE("CROWN MaxPool 1-D and 3-D", "[crown-ops]") {
  Rng rng(103);
  {
    Case c("maxpool 1-D");
    c.input("x", {1, 2, 9});
    c.node("Conv", {"x", c.init(rand_f32(rng, {3, 2, 3}, -1, 1))}, {"h"});
    c.node("MaxPool", {"h"}, {"p"}).attr("kernel_shape", I{3}).attr("strides", I{2});
    flatten_gemm(c, rng, "p", 9, 3);
    check_case(c, rng);
  }
  {
    Case c("maxpool 3-D");
    c.input("x", {1, 1, 4, 4, 4}, -0.5, 0.5, 0.05, 0.3);
    c.node("MaxPool", {"x"}, {"p"}).attr("kernel_shape", I{2, 2, 2}).attr("strides", I{1, 2, 1});
    flatten_gemm(c, rng, "p", 18, 3);
    check_case(c, rng);
  }
}

TEST_CASE("CROWN Softmax along any axis, followed by Gemm", "[crown-ops]") {
  Rng rng(201);
  for (int trial = 0; trial < 4; ++trial) {
    Case c("softmax -> gemm #" + std::to_string(trial));
    c.input("x", {1, 6}, -0.5, 0.5, 0.05, trial < 2 ? 0.3 : 1.5);
    c.node("Gemm",
           {"x", c.init(rand_f32(rng, {6, 5}, -1, 1)), c.init(rand_f32(rng, {5}, -1, 1))},
           {"h"});
    c.node("Softmax", {"h"}, {"s"});
    c.node("Gemm", {"s", c.init(rand_f32(rng, {5, 3}, -2, 2))}, {"y"});
    c.output("y");
    check_case(c, rng);
  }
  for (int64_t axis : {0, 1, 2, -1}) {
    Case c("softmax axis " + std::to_string(axis));
    c.input("x", {1, 3, 4}, -0.5, 0.5, 0.05, 0.5);
    c.node("MatMul", {"x", c.init(rand_f32(rng, {4, 4}, -1, 1))}, {"h"});
    c.node("Softmax", {"h"}, {"s"}).attr("axis", axis);
    flatten_gemm(c, rng, "s", 12, 3);
    check_case(c, rng);
  }
  {
    Case c("softmax opset 11 (2-D coercion)", 11);
    c.input("x", {1, 2, 3}, -0.5, 0.5, 0.05, 0.5);
    c.node("Softmax", {"x"}, {"s"}).attr("axis", int64_t{1});
    flatten_gemm(c, rng, "s", 6, 2);
    check_case(c, rng);
  }
}

TEST_CASE("CROWN Softmax on the input is sound and not vacuous", "[crown-ops]") {
  Rng rng(202);
  for (double w : {0.01, 0.1, 0.5, 2.0}) {
    Case c("softmax on input, half-width " + std::to_string(w));
    c.input("x", {1, 5}, -1, 1, w, w);
    c.node("Softmax", {"x"}, {"y"});
    c.output("y");
    const Checked r = check_case(c, rng);
    for (int64_t i = 0; i < 5; ++i) {
      INFO("element " << i << " w " << w << ": crown width " << width(r.crown, i) << ", ibp width "
                      << width(r.ibp, i));
      // Linear bounds of a [0, 1]-valued function: never wider than twice IBP's and, for small
      // boxes, about as tight (both shrink linearly with the box).
      CHECK(width(r.crown, i) <= 2 * width(r.ibp, i) + 1e-12);
      if (w <= 0.1)
        CHECK(width(r.crown, i) <= 1.2 * width(r.ibp, i));
    }
  }
}

TEST_CASE("CROWN Mul of two non-constant tensors (McCormick)", "[crown-ops]") {
  Rng rng(301);
  for (int trial = 0; trial < 6; ++trial) {
    // Both factors straddle 0.
    Case c("x * y straddling 0 #" + std::to_string(trial));
    c.input("x", {1, 4}, -0.3, 0.3, 0.5, 1.5);
    c.input("y", {1, 4}, -0.3, 0.3, 0.5, 1.5);
    c.node("Mul", {"x", "y"}, {"z"});
    c.output("z");
    const Checked r = check_case(c, rng);
    // On independent factors the concretised planes are their minimum / maximum over the box's
    // four vertices: the lower plane yl x + xl y - xl yl equals the product at three of them and
    // falls short at (xu, yu); the upper plane yu x + xl y - xl yu at (xu, yl).
    for (int64_t i = 0; i < 4; ++i) {
      const double xl = r.boxes[0].lo.get(i), xu = r.boxes[0].hi.get(i);
      const double yl = r.boxes[1].lo.get(i), yu = r.boxes[1].hi.get(i);
      const double lo = std::min({xl * yl, xu * yl, xl * yu, yl * xu + xl * yu - xl * yl});
      const double hi = std::max({xl * yl, xl * yu, xu * yu, yu * xu + xl * yl - xl * yu});
      CHECK(r.crown.lo.get(i) == Approx(lo).margin(1e-12));
      CHECK(r.crown.hi.get(i) == Approx(hi).margin(1e-12));
    }
  }
  for (int trial = 0; trial < 4; ++trial) {
    Case c("gemm(x) * gemm(x) -> gemm #" + std::to_string(trial));
    c.input("x", {1, 5}, -0.5, 0.5, 0.05, 0.6);
    c.node("Gemm", {"x", c.init(rand_f32(rng, {5, 6}, -1, 1))}, {"a"});
    c.node("Gemm", {"x", c.init(rand_f32(rng, {5, 6}, -1, 1))}, {"b"});
    c.node("Mul", {"a", "b"}, {"m"});
    c.node("Gemm", {"m", c.init(rand_f32(rng, {6, 3}, -1, 1))}, {"y"});
    c.output("y");
    check_case(c, rng);
  }
  for (int trial = 0; trial < 4; ++trial) {
    // x * x: the same value as both factors.
    Case c("a * a #" + std::to_string(trial));
    c.input("x", {1, 4}, -0.5, 0.5, 0.1, 1.0);
    c.node("Gemm", {"x", c.init(rand_f32(rng, {4, 5}, -1, 1))}, {"a"});
    c.node("Mul", {"a", "a"}, {"sq"});
    c.node("Gemm", {"sq", c.init(rand_f32(rng, {5, 2}, -1, 1))}, {"y"});
    c.output("y");
    check_case(c, rng);
  }
  {
    Case c("x * x on the input");
    c.input("x", {1, 3}, -0.5, 0.5, 0.2, 1.0);
    c.node("Mul", {"x", "x"}, {"y"});
    c.output("y");
    const Checked r = check_case(c, rng);
    // Tangent at l below and chord above: exact at the endpoints.
    for (int64_t i = 0; i < 3; ++i) {
      const double l = r.boxes[0].lo.get(i), u = r.boxes[0].hi.get(i);
      CHECK(r.crown.hi.get(i) == Approx(std::max(l * l, u * u)).margin(1e-12));
    }
  }
  for (const Shape& ys : {Shape{1, 1, 4}, Shape{1, 3, 1}, Shape{4}}) {
    Case c("broadcast [1,3,4] * " + shape_to_string(ys));
    c.input("x", {1, 3, 4}, -0.5, 0.5, 0.1, 0.8);
    c.input("y", ys, -0.5, 0.5, 0.1, 0.8);
    c.node("Mul", {"x", "y"}, {"m"});
    flatten_gemm(c, rng, "m", 12, 3);
    check_case(c, rng);
  }
}

TEST_CASE("CROWN MatMul of two non-constant tensors", "[crown-ops]") {
  Rng rng(401);
  for (int trial = 0; trial < 3; ++trial) {
    Case c("A @ B on the inputs #" + std::to_string(trial));
    c.input("a", {1, 2, 3}, -0.5, 0.5, 0.1, 1.0);
    c.input("b", {1, 3, 2}, -0.5, 0.5, 0.1, 1.0);
    c.node("MatMul", {"a", "b"}, {"y"});
    c.output("y");
    check_case(c, rng);
  }
  {
    // Activations on both sides.
    Case c("relu(x W1) @ (x W2)");
    c.input("x", {1, 3, 4}, -0.5, 0.5, 0.05, 0.5);
    c.node("MatMul", {"x", c.init(rand_f32(rng, {4, 4}, -1, 1))}, {"h"});
    c.node("Relu", {"h"}, {"a"});
    c.node("Reshape", {"x", c.ints({1, 4, 3})}, {"xr"});
    c.node("MatMul", {"xr", c.init(rand_f32(rng, {3, 2}, -1, 1))}, {"b"});
    c.node("MatMul", {"a", "b"}, {"m"});
    flatten_gemm(c, rng, "m", 6, 3);
    check_case(c, rng);
  }
  for (int trial = 0; trial < 3; ++trial) {
    // Attention: softmax(Q K^T) V.
    Case c("attention #" + std::to_string(trial));
    c.input("x", {1, 3, 4}, -0.5, 0.5, 0.02, trial == 2 ? 0.3 : 0.1);
    c.node("MatMul", {"x", c.init(rand_f32(rng, {4, 4}, -1, 1))}, {"q"});
    c.node("MatMul", {"x", c.init(rand_f32(rng, {4, 4}, -1, 1))}, {"k"});
    c.node("MatMul", {"x", c.init(rand_f32(rng, {4, 4}, -1, 1))}, {"v"});
    c.node("Transpose", {"k"}, {"kt"}).attr("perm", I{0, 2, 1});
    c.node("MatMul", {"q", "kt"}, {"scores"});
    c.node("Softmax", {"scores"}, {"p"}).attr("axis", int64_t{-1});
    c.node("MatMul", {"p", "v"}, {"o"});
    flatten_gemm(c, rng, "o", 12, 3);
    check_case(c, rng);
  }
  {
    Case c("broadcast batch [2,2,3] @ [3,4]");
    c.input("a", {2, 2, 3}, -0.5, 0.5, 0.1, 0.8);
    c.input("b", {3, 4}, -0.5, 0.5, 0.1, 0.8);
    c.node("MatMul", {"a", "b"}, {"y"});
    c.output("y");
    check_case(c, rng);
  }
  {
    Case c("broadcast batch [1,2,3] @ [2,3,2]");
    c.input("a", {1, 2, 3}, -0.5, 0.5, 0.1, 0.8);
    c.input("b", {2, 3, 2}, -0.5, 0.5, 0.1, 0.8);
    c.node("MatMul", {"a", "b"}, {"y"});
    c.output("y");
    check_case(c, rng);
  }
  {
    Case c("1-D operands [3] @ [3,2] and [2,3] @ [3]");
    c.input("a", {3}, -0.5, 0.5, 0.1, 0.8);
    c.input("b", {3, 2}, -0.5, 0.5, 0.1, 0.8);
    c.node("MatMul", {"a", "b"}, {"y"});
    c.output("y");
    check_case(c, rng);
    Case d("1-D right operand");
    d.input("a", {2, 3}, -0.5, 0.5, 0.1, 0.8);
    d.input("b", {3}, -0.5, 0.5, 0.1, 0.8);
    d.node("MatMul", {"a", "b"}, {"y"});
    d.output("y");
    check_case(d, rng);
  }
}

TEST_CASE("CROWN Div by a non-constant divisor", "[crown-ops]") {
  Rng rng(501);
  for (int trial = 0; trial < 4; ++trial) {
    const bool neg = trial % 2 == 1;
    Case c(std::string("x / y, y ") + (neg ? "negative" : "positive") + " #" +
           std::to_string(trial));
    c.input("x", {1, 4}, -0.5, 0.5, 0.1, 1.0);
    if (neg)
      c.input("y", {1, 4}, -2.0, -1.2, 0.05, 0.9);
    else
      c.input("y", {1, 4}, 1.2, 2.0, 0.05, 0.9);
    c.node("Div", {"x", "y"}, {"z"});
    c.node("Gemm", {"z", c.init(rand_f32(rng, {4, 3}, -1, 1))}, {"y_out"});
    c.output("y_out");
    check_case(c, rng);
  }
  {
    Case c("constant / y");
    c.input("y", {1, 4}, 1.0, 2.0, 0.05, 0.9);
    c.node("Div", {c.init(rand_f32(rng, {1, 4}, -2, 2)), "y"}, {"z"});
    c.output("z");
    check_case(c, rng);
  }
  {
    // A divisor computed from the input: relu(x W) + 1 (> 0), numerator x W'.
    Case c("gemm(x) / (relu(gemm(x)) + 1)");
    c.input("x", {1, 4}, -0.5, 0.5, 0.05, 0.5);
    c.node("Gemm", {"x", c.init(rand_f32(rng, {4, 5}, -1, 1))}, {"n"});
    c.node("Gemm", {"x", c.init(rand_f32(rng, {4, 5}, -1, 1))}, {"d0"});
    c.node("Relu", {"d0"}, {"d1"});
    c.node("Add", {"d1", c.init(Tensor::from_vector<float>({1}, {1.0f}))}, {"d"});
    c.node("Div", {"n", "d"}, {"q"});
    c.node("Gemm", {"q", c.init(rand_f32(rng, {5, 2}, -1, 1))}, {"y"});
    c.output("y");
    check_case(c, rng);
  }
  {
    // Elements whose divisor interval holds 0 are unbounded (as in IBP); the others keep
    // finite bounds.
    Case c("divisor interval holding 0");
    c.input("x", {1, 2});
    c.input("y", {1, 2});
    c.node("Div", {"x", "y"}, {"z"});
    c.output("z");
    auto m = c.b->load();
    REQUIRE(m.has_value());
    const Tensor lo = Tensor::from_vector<double>({1, 2}, {-1, -1});
    const Tensor hi = Tensor::from_vector<double>({1, 2}, {1, 1});
    const Tensor ylo = Tensor::from_vector<double>({1, 2}, {-1, 1});
    const Tensor yhi = Tensor::from_vector<double>({1, 2}, {1, 2});
    auto r = crown_bounds(m->graph, {{lo, hi}, {ylo, yhi}});
    REQUIRE(r.has_value());
    CHECK(r->bounds.lo.get(0) == -std::numeric_limits<double>::infinity());
    CHECK(r->bounds.hi.get(0) == std::numeric_limits<double>::infinity());
    // x in [-1, 1], y in [1, 2]: lower 0.5x + 0.5y - 1 (chord of 1/y), upper x + 1 - (4/3 - 4y/9)
    // (tangent of 1/y at 1.5): [-1, 14/9].
    CHECK(r->bounds.lo.get(1) == Approx(-1));
    CHECK(r->bounds.hi.get(1) == Approx(14.0 / 9));
  }
}

TEST_CASE("CROWN Max and Min of two non-constant tensors", "[crown-ops]") {
  Rng rng(601);
  for (const char* op : {"Max", "Min"}) {
    for (int trial = 0; trial < 4; ++trial) {
      Case c(std::string(op) + " of two inputs #" + std::to_string(trial));
      c.input("x", {1, 5}, -0.5, 0.5, 0.05, 1.0);
      c.input("y", {1, 5}, -0.5, 0.5, 0.05, 1.0);
      c.node(op, {"x", "y"}, {"z"});
      c.node("Gemm", {"z", c.init(rand_f32(rng, {5, 3}, -1, 1))}, {"o"});
      c.output("o");
      check_case(c, rng);
    }
    {
      // Every case of the planes: disjoint both ways, equal upper / lower bounds, nested.
      Case c(std::string(op) + " of explicit boxes");
      c.input_box("x", {1, 6}, {0, -1, -1, -1, -2, 0.5}, {1, 0, 1, 1, 2, 0.5});
      c.input_box("y", {1, 6}, {-1, 0, 0, -1, -1, -1}, {0, 1, 1, 0.5, 1, 1});
      c.node(op, {"x", "y"}, {"z"});
      c.output("z");
      check_case(c, rng);
    }
    {
      Case c(std::string(op) + " with a constant and broadcasting");
      c.input("x", {1, 3, 4}, -0.5, 0.5, 0.1, 1.0);
      c.input("y", {1, 1, 4}, -0.5, 0.5, 0.1, 1.0);
      c.node(op, {"x", "y"}, {"m"});
      c.node(op, {"m", c.init(Tensor::from_vector<float>({1}, {0.1f}))}, {"mc"});
      flatten_gemm(c, rng, "mc", 12, 3);
      check_case(c, rng);
    }
    {
      Case c(std::string(op) + " of activations");
      c.input("x", {1, 4}, -0.5, 0.5, 0.05, 0.6);
      c.node("Gemm", {"x", c.init(rand_f32(rng, {4, 5}, -1, 1))}, {"a"});
      c.node("Gemm", {"x", c.init(rand_f32(rng, {4, 5}, -1, 1))}, {"b"});
      c.node(op, {"a", "b"}, {"m"});
      c.node("Gemm", {"m", c.init(rand_f32(rng, {5, 2}, -1, 1))}, {"y"});
      c.output("y");
      check_case(c, rng);
    }
  }
}

TEST_CASE("CROWN LayerNormalization", "[crown-ops]") {
  Rng rng(801);
  for (int trial = 0; trial < 6; ++trial) {
    Case c("gemm -> layernorm -> gemm #" + std::to_string(trial));
    c.input("x", {1, 5}, -0.5, 0.5, 0.01, trial < 3 ? 0.1 : 0.5);
    c.node("Gemm",
           {"x", c.init(rand_f32(rng, {5, 6}, -1, 1)), c.init(rand_f32(rng, {6}, -2, 2))},
           {"h"});
    c.node("LayerNormalization",
           {"h", c.init(rand_f32(rng, {6}, -1.5, 1.5)), c.init(rand_f32(rng, {6}, -1, 1))},
           {"n"});
    c.node("Gemm", {"n", c.init(rand_f32(rng, {6, 3}, -1, 1))}, {"y"});
    c.output("y");
    check_case(c, rng);
  }
  {
    Case c("layernorm over two axes, no bias");
    c.input("x", {1, 2, 3, 2}, -2, 2, 0.01, 0.2);
    c.node("LayerNormalization", {"x", c.init(rand_f32(rng, {3, 2}, -1.5, 1.5))}, {"n"})
        .attr("axis", int64_t{-2})
        .attr("epsilon", 1e-3);
    flatten_gemm(c, rng, "n", 12, 3);
    check_case(c, rng);
  }
  for (double w : {0.01, 0.05, 0.2}) {
    Case c("layernorm on the input, half-width " + std::to_string(w));
    c.input("x", {1, 2, 4}, -2, 2, w, w);
    c.node(
        "LayerNormalization", {"x", c.init(Tensor::from_vector<float>({4}, {1, 1, 1, 1}))}, {"y"});
    c.output("y");
    const Checked r = check_case(c, rng);
    double cw = 0, iw = 0;
    for (int64_t i = 0; i < r.crown.lo.numel(); ++i) {
      cw += width(r.crown, i);
      iw += width(r.ibp, i);
    }
    INFO("layernorm on the input, half-width " << w << ": mean CROWN width " << cw / 8 << ", IBP "
                                               << iw / 8);
    // Never wider than the constant bounds [-sqrt(3), sqrt(3)] of a standardised value.
    CHECK(cw / 8 <= 2 * std::sqrt(3.0) + 1e-12);
    if (w <= 0.05)
      CHECK(cw < iw);
  }
}

TEST_CASE("CROWN refuses Max of three non-constant inputs, naming the node", "[crown-ops]") {
  OnnxBuilder b(13);
  b.input("x", DType::kF32, {1, 3});
  b.input("y", DType::kF32, {1, 3});
  b.input("z", DType::kF32, {1, 3});
  b.node("Max", {"x", "y", "z"}, {"m"}, "max3_node");
  b.output("m");
  auto m = b.load();
  REQUIRE(m.has_value());
  const Tensor lo = Tensor::from_vector<double>({1, 3}, {-1, -1, -1});
  const Tensor hi = Tensor::from_vector<double>({1, 3}, {1, 1, 1});
  auto r = crown_bounds(m->graph, {{lo, hi}, {lo, hi}, {lo, hi}});
  REQUIRE_FALSE(r.has_value());
  CHECK(r.status().code() == ErrorCode::kUnsupported);
  CHECK_THAT(r.status().message(), Catch::Contains("max3_node"));
}

TEST_CASE("CROWN GELU written as x * 0.5 * (1 + Erf(x / sqrt 2))", "[crown-ops]") {
  Rng rng(701);
  Case c("gelu");
  c.input("x", {1, 4}, -0.5, 0.5, 0.05, 0.8);
  c.node("Gemm", {"x", c.init(rand_f32(rng, {4, 5}, -1, 1))}, {"h"});
  c.node("Div", {"h", c.init(Tensor::from_vector<float>({1}, {1.41421356f}))}, {"hs"});
  c.node("Erf", {"hs"}, {"e"});
  c.node("Add", {"e", c.init(Tensor::from_vector<float>({1}, {1.0f}))}, {"e1"});
  c.node("Mul", {"h", "e1"}, {"g0"});
  c.node("Mul", {"g0", c.init(Tensor::from_vector<float>({1}, {0.5f}))}, {"g"});
  c.node("Gemm", {"g", c.init(rand_f32(rng, {5, 3}, -1, 1))}, {"y"});
  c.output("y");
  check_case(c, rng);
}

// A transformer block exported by torch (LayerNormalization or its decomposition with Div by a
// square root, attention with Softmax and MatMul of activations, GELU with Erf).
TEST_CASE("CROWN on a torch transformer block is sound", "[crown-ops]") {
  Rng rng(901);
  for (const char* file :
       {"torch_block_opset11.onnx", "torch_block_opset13.onnx", "torch_block_opset17.onnx"}) {
    INFO(file);
    auto m = load_onnx(test::data_path(std::string("models/") + file));
    REQUIRE(m.has_value());
    Graph& g = m->graph;
    REQUIRE(specialize_inputs(g, {Shape{1, 32}}).is_ok());
    for (double w : {0.01, 0.05}) {
      Interval box{Tensor(DType::kF64, {1, 32}), Tensor(DType::kF64, {1, 32})};
      for (int64_t i = 0; i < 32; ++i) {
        const double c = uniform(rng, -1, 1);
        box.lo.set(i, c - w);
        box.hi.set(i, c + w);
      }
      auto r = crown_bounds(g, {box});
      INFO("crown: " << (r ? "ok" : r.status().to_string()));
      REQUIRE(r.has_value());
      auto ib = ibp_outputs(g, {box});
      REQUIRE(ib.has_value());
      RunOptions ro;
      ro.dtype = DType::kF64;
      ro.threads = 1;
      auto ex = Executor::create(g, ro);
      REQUIRE(ex.has_value());
      int64_t violations = 0;
      for (int s = 0; s < kSamples; ++s) {
        Tensor x(DType::kF64, {1, 32});
        const bool vertex = s % 3 == 0;
        for (int64_t i = 0; i < 32; ++i)
          x.set(i,
                vertex ? (uniform(rng, 0, 1) < 0.5 ? box.lo.get(i) : box.hi.get(i))
                       : uniform(rng, box.lo.get(i), box.hi.get(i)));
        auto y = ex->run({x});
        REQUIRE(y.has_value());
        for (int64_t k = 0; k < (*y)[0].numel(); ++k) {
          const double v = (*y)[0].get(k), lo = r->bounds.lo.get(k), hi = r->bounds.hi.get(k);
          if (!(v >= lo - slack(lo) && v <= hi + slack(hi)))
            ++violations;
        }
      }
      CHECK(violations == 0);
      double cw = 0, iw = 0;
      for (int64_t k = 0; k < r->bounds.lo.numel(); ++k) {
        cw += r->bounds.hi.get(k) - r->bounds.lo.get(k);
        iw += (*ib)[0].hi.get(k) - (*ib)[0].lo.get(k);
      }
      INFO(file << " half-width " << w << ": CROWN width " << cw << ", IBP width " << iw);
      CHECK(cw < iw);
    }
  }
}

// alpha-CROWN optimises the element-wise activations' lines around the fixed relaxations of the
// rules here: sound and never looser than CROWN.
TEST_CASE("alpha-CROWN through MaxPool, Softmax, MatMul, Mul and LayerNormalization",
          "[crown-ops]") {
  Rng rng(1001);
  for (int trial = 0; trial < 2; ++trial) {
    Case c("alpha: conv-relu-maxpool and attention #" + std::to_string(trial));
    c.input("x", {1, 1, 4, 4}, -0.5, 0.5, 0.05, 0.3);
    const std::string a = conv_relu(c, rng, "x", 1, 2);
    c.node("MaxPool", {a}, {"p"}).attr("kernel_shape", I{2, 2}).attr("strides", I{1, 1});
    c.node("Reshape", {"p", c.ints({1, 3, 6})}, {"t"});
    c.node("MatMul", {"t", c.init(rand_f32(rng, {6, 4}, -1, 1))}, {"q"});
    c.node("MatMul", {"t", c.init(rand_f32(rng, {6, 4}, -1, 1))}, {"k"});
    c.node("Transpose", {"k"}, {"kt"}).attr("perm", I{0, 2, 1});
    c.node("MatMul", {"q", "kt"}, {"sc"});
    c.node("Softmax", {"sc"}, {"pr"});
    c.node("MatMul", {"pr", "q"}, {"o"});
    c.node("LayerNormalization", {"o", c.init(rand_f32(rng, {4}, 0.5, 1.5))}, {"ln"});
    c.node("Mul", {"ln", "o"}, {"g"});
    c.node("Tanh", {"g"}, {"h"});
    flatten_gemm(c, rng, "h", 12, 3);
    const Checked r = check_case(c, rng);
    auto m = c.b->load();
    REQUIRE(m.has_value());
    CrownOptions opts;
    opts.alpha = true;
    auto ra = crown_bounds(m->graph, r.boxes, {}, {}, opts);
    INFO("alpha: " << (ra ? "ok" : ra.status().to_string()));
    REQUIRE(ra.has_value());
    RunOptions ro;
    ro.dtype = DType::kF64;
    auto ex = Executor::create(m->graph, ro);
    REQUIRE(ex.has_value());
    for (int64_t k = 0; k < 3; ++k) {
      CHECK(ra->bounds.lo.get(k) >= r.crown.lo.get(k) - 1e-12);
      CHECK(ra->bounds.hi.get(k) <= r.crown.hi.get(k) + 1e-12);
    }
    int64_t violations = 0;
    for (int s = 0; s < kSamples; ++s) {
      Tensor x(DType::kF64, {1, 1, 4, 4});
      for (int64_t i = 0; i < 16; ++i)
        x.set(i, uniform(rng, r.boxes[0].lo.get(i), r.boxes[0].hi.get(i)));
      auto y = ex->run({x});
      REQUIRE(y.has_value());
      for (int64_t k = 0; k < 3; ++k) {
        const double v = (*y)[0].get(k);
        if (!(v >= ra->bounds.lo.get(k) - slack(v) && v <= ra->bounds.hi.get(k) + slack(v)))
          ++violations;
      }
    }
    CHECK(violations == 0);
  }
}

// auto_LiRPA's default (sparse intermediate bounds; a ReLU output feeding the MaxPool is bounded
// by one IBP step) against `crown` and `crown_margin`, all-CROWN intermediate bounds against
// `crown_dense_interm`; 1e-6 * max(1, |ref|) as the fixtures' README suggests (measured: ~1e-14).
TEST_CASE("CROWN on cnn_bn_pool equals auto_LiRPA's MaxPool bounds", "[crown-ops][fixtures]") {
  const std::string dir = test::data_path("fixtures/cnn_bn_pool");
  auto m = load_onnx(dir + "/model.onnx");
  REQUIRE(m.has_value());
  const auto cases = test::read_json(dir + "/cases.json");
  const Shape shape = cases["input_shape"].get<Shape>();
  auto rel = [](double a, double b) {
    return std::abs(a - b) / std::max(1.0, std::abs(b));
  };
  for (const bool dense : {false, true}) {
    for (const auto& c : cases["cases"]) {
      INFO("case " << c["id"] << (dense ? ", all-CROWN intermediate bounds" : ", sparse"));
      std::vector<Interval> box{
          {Tensor::from_vector<double>(shape, c["x_lower"].get<std::vector<double>>()),
           Tensor::from_vector<double>(shape, c["x_upper"].get<std::vector<double>>())}};
      CrownOptions opts;
      opts.sparse_intermediate = !dense;
      auto r = crown_bounds(m->graph, box, {}, {}, opts);
      REQUIRE(r.has_value());
      const char* key = dense ? "crown_dense_interm" : "crown";
      const auto ref_lo = c[key]["lower"].get<std::vector<double>>();
      const auto ref_hi = c[key]["upper"].get<std::vector<double>>();
      const auto smin = c["sampled_min"].get<std::vector<double>>();
      const auto smax = c["sampled_max"].get<std::vector<double>>();
      double max_rel = 0;
      for (size_t i = 0; i < smin.size(); ++i) {
        const auto k = static_cast<int64_t>(i);
        CHECK(r->bounds.lo.get(k) <= smin[i] + 1e-12);
        CHECK(r->bounds.hi.get(k) >= smax[i] - 1e-12);
        max_rel = std::max(
            {max_rel, rel(r->bounds.lo.get(k), ref_lo[i]), rel(r->bounds.hi.get(k), ref_hi[i])});
      }
      INFO("max relative difference to " << key << ": " << max_rel);
      CHECK(max_rel <= 1e-6);
      if (dense)
        continue;
      const auto& cm = c["crown_margin"];
      auto rm = crown_bounds(m->graph, box, cm["C"].get<std::vector<std::vector<double>>>());
      REQUIRE(rm.has_value());
      const auto ref_m = cm["lower"].get<std::vector<double>>();
      const auto smin_m = cm["sampled_min"].get<std::vector<double>>();
      double max_rel_m = 0;
      for (size_t i = 0; i < ref_m.size(); ++i) {
        const auto k = static_cast<int64_t>(i);
        CHECK(rm->bounds.lo.get(k) <= smin_m[i] + 1e-12);
        max_rel_m = std::max(max_rel_m, rel(rm->bounds.lo.get(k), ref_m[i]));
      }
      INFO("max relative difference to crown_margin: " << max_rel_m);
      CHECK(max_rel_m <= 1e-6);
    }
  }
}

}  // namespace nncert
