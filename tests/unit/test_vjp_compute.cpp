// Finite-difference checks of the compute ops' VJP rules (OpDef::vjp) through nncert::gradient:
// one-node models (OnnxBuilder) with every operand a float64 graph input, seeded random inputs
// kept away from kinks, a random output seed gy and loss L = <gy, y>; every gradient entry must
// match the central difference (L(x + h) - L(x - h)) / 2h, h = 1e-6, within 1e-6 relative +
// 1e-7 absolute. A small graph reading a value twice checks gradient accumulation.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "runtime/autodiff.h"
#include "runtime/executor.h"
#include "tests/support/onnx_builder.h"

namespace nncert {
namespace {

using test::OnnxBuilder;
using Rng = std::mt19937;

constexpr double kH = 1e-6;

// Uniform values in [a, b] whose magnitude is at least `gap` (away from the kink at 0 when a < 0 <
// b).
Tensor rand_f64(Rng& r, const Shape& s, double a = -2, double b = 2, double gap = 0.05) {
  std::uniform_real_distribution<double> u(a, b);
  std::vector<double> v(static_cast<size_t>(shape_numel(s)));
  for (double& x : v) {
    do
      x = u(r);
    while (std::abs(x) < gap);
  }
  return Tensor::from_vector<double>(s, v);
}

double loss(const std::vector<Tensor>& ys, const std::vector<Tensor>& gys) {
  double l = 0;
  for (size_t k = 0; k < ys.size(); ++k)
    for (int64_t i = 0; i < ys[k].numel(); ++i)
      l += ys[k].get(i) * gys[k].get(i);
  return l;
}

// Checks the gradients of all graph inputs of the model against central differences; returns
// the largest absolute error.
double check_fd(OnnxBuilder& b, const std::vector<Tensor>& xs, Rng& rng, const std::string& name) {
  INFO("case: " << name);
  auto m = b.load();
  INFO("load: " << (m ? "ok" : m.status().to_string()));
  REQUIRE(m.has_value());
  const Graph& g = m->graph;
  REQUIRE(g.inputs().size() == xs.size());
  const std::vector<Tensor> ys = test::run_graph(g, xs);
  std::vector<Tensor> gys;
  for (const Tensor& y : ys)
    gys.push_back(rand_f64(rng, y.shape(), -1, 1, 0));
  RunOptions opt;
  opt.dtype = DType::kF64;
  auto r = gradient(g, xs, gys, opt);
  INFO("gradient: " << (r ? "ok" : r.status().to_string()));
  REQUIRE(r.has_value());
  double max_err = 0;
  for (size_t k = 0; k < xs.size(); ++k) {
    const Tensor& grad = r->value_grads[static_cast<size_t>(g.inputs()[k])];
    if (grad.is_valid()) {
      REQUIRE(grad.shape() == xs[k].shape());
    }
    for (int64_t j = 0; j < xs[k].numel(); ++j) {
      std::vector<Tensor> xp = xs;
      std::vector<Tensor> xm = xs;
      xp[k] = xs[k].clone();
      xm[k] = xs[k].clone();
      xp[k].set(j, xs[k].get(j) + kH);
      xm[k].set(j, xs[k].get(j) - kH);
      const double fd =
          (loss(test::run_graph(g, xp), gys) - loss(test::run_graph(g, xm), gys)) / (2 * kH);
      const double an = grad.is_valid() ? grad.get(j) : 0.0;
      const double err = std::abs(an - fd);
      max_err = std::max(max_err, err);
      INFO("input " << k << " element " << j << ": analytic " << an << ", fd " << fd);
      CHECK(err <= 1e-6 * std::abs(fd) + 1e-7);
    }
  }
  if (std::getenv("NNCERT_VJP_REPORT") != nullptr)
    std::printf("vjp FD %-40s max abs error %.3g\n", name.c_str(), max_err);
  return max_err;
}

// One-node model over float64 graph inputs x0, x1, ... with the given shapes.
struct Case {
  OnnxBuilder b;
  std::vector<Tensor> xs;
  std::vector<std::string> names;
  Case(const std::string& op, const std::vector<Tensor>& inputs) : xs(inputs) {
    for (size_t i = 0; i < xs.size(); ++i) {
      static const char* const kNames[] = {"x0", "x1", "x2", "x3", "x4", "x5"};
      names.emplace_back(kNames[i]);
      b.input(names.back(), DType::kF64, xs[i].shape());
    }
    b.node(op, names, {"y"});
    b.output("y");
  }
};

void run_case(Case& c, Rng& rng, const std::string& name) {
  check_fd(c.b, c.xs, rng, name);
}

TEST_CASE("vjp: elementwise unary ops match finite differences", "[vjp]") {
  Rng rng(1);
  struct U {
    const char* op;
    double a, b;
  };
  for (const U& u : {U{"Relu", -2, 2},
                     U{"Neg", -2, 2},
                     U{"Exp", -2, 2},
                     U{"Log", 0.2, 3},
                     U{"Sqrt", 0.2, 3},
                     U{"Reciprocal", 0.3, 3},
                     U{"Sigmoid", -3, 3},
                     U{"Tanh", -2, 2},
                     U{"Abs", -2, 2},
                     U{"Sign", -2, 2},
                     U{"Softplus", -3, 3},
                     U{"Erf", -2, 2}}) {
    Case c(u.op, {rand_f64(rng, {2, 3}, u.a, u.b)});
    run_case(c, rng, u.op);
  }
  Case lr("LeakyRelu", {rand_f64(rng, {2, 3})});
  lr.b.attr("alpha", 0.2);
  run_case(lr, rng, "LeakyRelu");
}

TEST_CASE("vjp: Clip passes gradient inside the bounds only", "[vjp]") {
  Rng rng(2);
  OnnxBuilder b;
  b.input("x", DType::kF64, {3, 4});
  b.initializer("lo", Tensor::scalar(DType::kF64, -0.5));
  b.initializer("hi", Tensor::scalar(DType::kF64, 0.7));
  b.node("Clip", {"x", "lo", "hi"}, {"y"});
  b.output("y");
  Tensor x = rand_f64(rng, {3, 4});
  for (int64_t i = 0; i < x.numel(); ++i)  // keep away from the bounds
    if (std::abs(x.get(i) + 0.5) < 0.01 || std::abs(x.get(i) - 0.7) < 0.01)
      x.set(i, 0.1);
  check_fd(b, {x}, rng, "Clip");
}

TEST_CASE("vjp: broadcasting binary ops match finite differences", "[vjp]") {
  Rng rng(3);
  for (const char* op : {"Add", "Sub", "Mul", "Div"}) {
    for (const Shape& bs : {Shape{2, 3}, Shape{3}, Shape{2, 1}, Shape{}}) {
      Case c(op, {rand_f64(rng, {2, 3}), rand_f64(rng, bs, 0.5, 2)});
      run_case(c, rng, std::string(op) + " b" + shape_to_string(bs));
      Case d(op, {rand_f64(rng, bs, 0.5, 2), rand_f64(rng, {2, 3}, 0.5, 2)});
      run_case(d, rng, std::string(op) + " a" + shape_to_string(bs));
    }
  }
  Case p("Pow", {rand_f64(rng, {2, 3}, 0.5, 2), rand_f64(rng, {3}, -1.5, 2)});
  run_case(p, rng, "Pow");
}

TEST_CASE("vjp: Max and Min send the gradient to the first input attaining them", "[vjp]") {
  Rng rng(4);
  for (const char* op : {"Max", "Min"}) {
    Case c(op, {rand_f64(rng, {2, 3}), rand_f64(rng, {3}), rand_f64(rng, {2, 1})});
    run_case(c, rng, op);
    Case one(op, {rand_f64(rng, {2, 3})});
    run_case(one, rng, std::string(op) + " single");
  }
  // Ties: the first input gets the whole gradient.
  OnnxBuilder b;
  b.input("a", DType::kF64, {3});
  b.input("c", DType::kF64, {3});
  b.node("Max", {"a", "c"}, {"y"});
  b.output("y");
  auto m = b.load();
  REQUIRE(m.has_value());
  const Tensor v = Tensor::from_vector<double>({3}, {1, 2, 3});
  RunOptions opt;
  opt.dtype = DType::kF64;
  auto r = gradient(m->graph, {v, v}, {Tensor::from_vector<double>({3}, {1, 1, 1})}, opt);
  REQUIRE(r.has_value());
  const Tensor& ga = r->value_grads[static_cast<size_t>(m->graph.find_value("a"))];
  const Tensor& gc = r->value_grads[static_cast<size_t>(m->graph.find_value("c"))];
  for (int64_t i = 0; i < 3; ++i) {
    CHECK(ga.get(i) == 1.0);
    CHECK((!gc.is_valid() || gc.get(i) == 0.0));
  }
}

TEST_CASE("vjp: Gemm and MatMul match finite differences", "[vjp]") {
  Rng rng(5);
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb)
      for (const Shape& cs : {Shape{2, 4}, Shape{4}, Shape{2, 1}, Shape{}}) {
        const Shape as = ta ? Shape{3, 2} : Shape{2, 3};
        const Shape bs = tb ? Shape{4, 3} : Shape{3, 4};
        Case c("Gemm", {rand_f64(rng, as), rand_f64(rng, bs), rand_f64(rng, cs)});
        c.b.attr("transA", ta).attr("transB", tb).attr("alpha", 0.7).attr("beta", 1.3);
        run_case(c, rng, "Gemm " + std::to_string(ta) + std::to_string(tb) + shape_to_string(cs));
      }
  Case g2("Gemm", {rand_f64(rng, {2, 3}), rand_f64(rng, {3, 2})});
  run_case(g2, rng, "Gemm no C");
  struct MM {
    Shape a, b;
  };
  for (const MM& mm : {MM{{2, 3}, {3, 4}},
                       MM{{2, 2, 3}, {3, 4}},
                       MM{{3}, {2, 3, 2}},
                       MM{{2, 1, 2, 3}, {3, 3, 2}},
                       MM{{2, 3}, {3}},
                       MM{{3}, {3}}}) {
    Case c("MatMul", {rand_f64(rng, mm.a), rand_f64(rng, mm.b)});
    run_case(c, rng, "MatMul " + shape_to_string(mm.a) + shape_to_string(mm.b));
  }
}

TEST_CASE("vjp: Conv matches finite differences", "[vjp]") {
  Rng rng(6);
  {
    Case c("Conv", {rand_f64(rng, {2, 2, 5, 4}), rand_f64(rng, {3, 2, 3, 2}), rand_f64(rng, {3})});
    c.b.attr("pads", std::vector<int64_t>{1, 0, 1, 1}).attr("strides", std::vector<int64_t>{2, 1});
    run_case(c, rng, "Conv 2d");
  }
  {
    Case c("Conv", {rand_f64(rng, {1, 4, 6}), rand_f64(rng, {2, 2, 2})});
    c.b.attr("group", 2).attr("dilations", std::vector<int64_t>{2});
    run_case(c, rng, "Conv 1d grouped dilated");
  }
  {
    Case c("Conv", {rand_f64(rng, {1, 1, 3, 3, 3}), rand_f64(rng, {2, 1, 2, 2, 2})});
    c.b.attr("auto_pad", "SAME_UPPER");
    run_case(c, rng, "Conv 3d same");
  }
}

TEST_CASE("vjp: pooling ops match finite differences", "[vjp]") {
  Rng rng(8);
  using I = std::vector<int64_t>;
  {
    Case c("MaxPool", {rand_f64(rng, {2, 2, 5, 5})});
    c.b.attr("kernel_shape", I{3, 2}).attr("strides", I{2, 1}).attr("pads", I{1, 0, 1, 1});
    run_case(c, rng, "MaxPool 2d");
  }
  {
    Case c("MaxPool", {rand_f64(rng, {1, 2, 7})});
    c.b.attr("kernel_shape", I{2})
        .attr("dilations", I{2})
        .attr("ceil_mode", 1)
        .attr("strides", I{2});
    run_case(c, rng, "MaxPool 1d dilated ceil");
  }
  for (int include = 0; include < 2; ++include) {
    Case c("AveragePool", {rand_f64(rng, {2, 2, 5, 4})});
    c.b.attr("kernel_shape", I{3, 2})
        .attr("strides", I{2, 2})
        .attr("pads", I{1, 1, 1, 0})
        .attr("count_include_pad", include)
        .attr("ceil_mode", 1);
    run_case(c, rng, "AveragePool include_pad " + std::to_string(include));
  }
  {
    Case c("AveragePool", {rand_f64(rng, {1, 1, 3, 3, 4})});
    c.b.attr("kernel_shape", I{2, 2, 2});
    run_case(c, rng, "AveragePool 3d");
  }
  {
    Case c("GlobalAveragePool", {rand_f64(rng, {2, 3, 2, 3})});
    run_case(c, rng, "GlobalAveragePool");
  }
}

TEST_CASE("vjp: ConvTranspose matches finite differences", "[vjp]") {
  Rng rng(9);
  using I = std::vector<int64_t>;
  {
    Case c("ConvTranspose",
           {rand_f64(rng, {2, 2, 3, 2}), rand_f64(rng, {2, 3, 2, 3}), rand_f64(rng, {3})});
    c.b.attr("strides", I{2, 1}).attr("pads", I{1, 0, 0, 1}).attr("output_padding", I{1, 0});
    run_case(c, rng, "ConvTranspose 2d");
  }
  {
    Case c("ConvTranspose", {rand_f64(rng, {1, 4, 3}), rand_f64(rng, {4, 1, 2})});
    c.b.attr("group", 2).attr("dilations", I{2});
    run_case(c, rng, "ConvTranspose 1d grouped dilated");
  }
}

TEST_CASE("vjp: normalisation ops match finite differences", "[vjp]") {
  Rng rng(10);
  for (int64_t axis : {-1, 1, 0}) {
    Case c("Softmax", {rand_f64(rng, {2, 3, 4})});
    c.b.attr("axis", axis);
    run_case(c, rng, "Softmax axis " + std::to_string(axis));
  }
  {
    Case c("Softmax", {rand_f64(rng, {2, 3, 2})});
    c.b.attr("axis", 1).attr("legacy_2d", 1);
    run_case(c, rng, "Softmax legacy_2d");
  }
  {
    Case c("BatchNormalization",
           {rand_f64(rng, {2, 3, 2, 2}),
            rand_f64(rng, {3}),
            rand_f64(rng, {3}),
            rand_f64(rng, {3}),
            rand_f64(rng, {3}, 0.5, 2)});
    c.b.attr("epsilon", 1e-3);
    run_case(c, rng, "BatchNormalization");
  }
  for (int64_t axis : {-1, 1}) {
    Case c("LayerNormalization",
           {rand_f64(rng, {2, 3, 4}),
            rand_f64(rng, axis == -1 ? Shape{4} : Shape{3, 4}),
            rand_f64(rng, axis == -1 ? Shape{4} : Shape{3, 4})});
    c.b.attr("axis", axis);
    run_case(c, rng, "LayerNormalization axis " + std::to_string(axis));
  }
  {
    Case c("LayerNormalization", {rand_f64(rng, {3, 5}), rand_f64(rng, {5})});
    run_case(c, rng, "LayerNormalization no bias");
  }
}

TEST_CASE("vjp: gradients accumulate over a small graph", "[vjp]") {
  Rng rng(7);
  OnnxBuilder b;
  b.input("x", DType::kF64, {2, 3});
  b.input("w1", DType::kF64, {3, 4});
  b.input("b1", DType::kF64, {4});
  b.input("w2", DType::kF64, {4, 2});
  b.node("Gemm", {"x", "w1", "b1"}, {"h"});
  b.node("Relu", {"h"}, {"r"});
  b.node("Add", {"h", "r"}, {"s"});  // h read twice
  b.node("Gemm", {"s", "w2"}, {"y"});
  b.output("y");
  const std::vector<Tensor> xs{
      rand_f64(rng, {2, 3}), rand_f64(rng, {3, 4}), rand_f64(rng, {4}), rand_f64(rng, {4, 2})};
  // h = x w1 + b1 enters Relu: keep it away from the kink at 0 for the finite differences.
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 4; ++j) {
      double h = xs[2].get(j);
      for (int64_t k = 0; k < 3; ++k)
        h += xs[0].get(i * 3 + k) * xs[1].get(k * 4 + j);
      REQUIRE(std::abs(h) >= 1e-3);
    }
  check_fd(b, xs, rng, "Gemm-Relu-Gemm");
}

TEST_CASE("vjp: float32 gradients of weights (constants) agree with float64", "[vjp]") {
  Rng rng(11);
  OnnxBuilder b;
  b.input("x", DType::kF32, {1, 2, 4, 4});
  std::vector<float> wv(2 * 2 * 3 * 3), gv(8 * 3);
  std::uniform_real_distribution<float> u(-1, 1);
  for (float& v : wv)
    v = u(rng);
  for (float& v : gv)
    v = u(rng);
  b.initializer("w", Tensor::from_vector<float>({2, 2, 3, 3}, wv));
  b.initializer("g", Tensor::from_vector<float>({8, 3}, gv));
  b.node("Conv", {"x", "w"}, {"c"}).attr("pads", std::vector<int64_t>{1, 1, 1, 1});
  b.node("MaxPool", {"c"}, {"p"})
      .attr("kernel_shape", std::vector<int64_t>{2, 2})
      .attr("strides", std::vector<int64_t>{2, 2});
  b.node("Flatten", {"p"}, {"f"});
  b.node("Gemm", {"f", "g"}, {"z"});
  b.node("Softmax", {"z"}, {"y"});
  b.output("y");
  auto m = b.load();
  INFO("load: " << (m ? "ok" : m.status().to_string()));
  REQUIRE(m.has_value());
  const Tensor x = rand_f64(rng, {1, 2, 4, 4});
  const Tensor gy = rand_f64(rng, {1, 3}, -1, 1, 0);
  std::vector<Tensor> grads[2];
  for (int k = 0; k < 2; ++k) {
    RunOptions opt;
    opt.dtype = k == 0 ? DType::kF32 : DType::kF64;
    auto r = gradient(m->graph, {x.to(DType::kF32)}, {gy}, opt);
    INFO("gradient: " << (r ? "ok" : r.status().to_string()));
    REQUIRE(r.has_value());
    for (const char* v : {"x", "w", "g"}) {
      const ValueId id = m->graph.find_value(v);
      REQUIRE(id >= 0);
      const Tensor& t = r->value_grads[static_cast<size_t>(id)];
      REQUIRE(t.is_valid());
      grads[k].push_back(t);
    }
  }
  for (size_t i = 0; i < grads[0].size(); ++i) {
    REQUIRE(grads[0][i].shape() == grads[1][i].shape());
    for (int64_t j = 0; j < grads[0][i].numel(); ++j)
      CHECK(std::abs(grads[0][i].get(j) - grads[1][i].get(j)) <=
            1e-4 * (1 + std::abs(grads[1][i].get(j))));
  }
}

}  // namespace
}  // namespace nncert
