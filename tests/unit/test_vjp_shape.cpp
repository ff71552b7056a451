// VJP rules of the shape / data-movement ops and reductions: finite-difference checks of
// nncert::gradient() on one-node models (float64), and a check that every op has a VJP rule.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "ops/op_def.h"
#include "runtime/autodiff.h"
#include "runtime/executor.h"
#include "tests/support/onnx_builder.h"

using namespace nncert;
using nncert::test::OnnxBuilder;

namespace {

struct FdCase {
  std::string name;
  std::unique_ptr<OnnxBuilder> b;
  std::vector<Shape> inputs;  // float graph inputs, in declaration order
  bool fold = true;
  std::vector<bool> zero_seed;  // outputs seeded with an invalid (zero) gradient
};

FdCase make_case(const std::string& name, int64_t opset = 17) {
  FdCase c;
  c.name = name;
  c.b = std::make_unique<OnnxBuilder>(opset);
  return c;
}

Tensor random_tensor(std::mt19937& rng, const Shape& s) {
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  Tensor t(DType::kF64, s);
  for (int64_t i = 0; i < t.numel(); ++i)
    t.set(i, u(rng));
  return t;
}

Tensor i64(const Shape& s, const std::vector<int64_t>& v) {
  return Tensor::from_vector<int64_t>(s, v);
}

// Runs the FD check; returns the largest absolute difference between the gradient and the
// central difference.
double check_fd(FdCase& c, uint32_t seed) {
  INFO("case: " << c.name);
  OnnxLoadOptions options;
  options.prepare_options.fold_constants = c.fold;
  auto model = c.b->load(options);
  INFO("load: " << (model ? "ok" : model.status().to_string()));
  REQUIRE(model.has_value());
  const Graph& g = model->graph;
  REQUIRE(g.inputs().size() == c.inputs.size());

  std::mt19937 rng(seed);
  std::vector<Tensor> x;
  for (const Shape& s : c.inputs)
    x.push_back(random_tensor(rng, s));
  const std::vector<Tensor> y = test::run_graph(g, x);
  std::vector<Tensor> gy;
  for (size_t k = 0; k < y.size(); ++k) {
    const bool zero = k < c.zero_seed.size() && c.zero_seed[k];
    gy.push_back(is_float(y[k].dtype()) && !zero ? random_tensor(rng, y[k].shape()) : Tensor());
  }
  auto loss = [&](const std::vector<Tensor>& xs) {
    const std::vector<Tensor> ys = test::run_graph(g, xs);
    double l = 0;
    for (size_t k = 0; k < ys.size(); ++k)
      if (gy[k].is_valid())
        for (int64_t i = 0; i < ys[k].numel(); ++i)
          l += gy[k].get(i) * ys[k].get(i);
    return l;
  };

  RunOptions ro;
  ro.dtype = DType::kF64;
  auto gr = gradient(g, x, gy, ro);
  INFO("gradient: " << (gr ? "ok" : gr.status().to_string()));
  REQUIRE(gr.has_value());

  const double h = 1e-6;
  double max_err = 0;
  for (size_t j = 0; j < x.size(); ++j) {
    const Tensor& gx = gr->value_grads[static_cast<size_t>(g.inputs()[j])];
    if (gx.is_valid()) {
      REQUIRE(gx.shape() == x[j].shape());
    }
    for (int64_t e = 0; e < x[j].numel(); ++e) {
      std::vector<Tensor> xp = x, xm = x;
      xp[j] = x[j].clone();
      xm[j] = x[j].clone();
      xp[j].set(e, x[j].get(e) + h);
      xm[j].set(e, x[j].get(e) - h);
      const double fd = (loss(xp) - loss(xm)) / (2 * h);
      const double an = gx.is_valid() ? gx.get(e) : 0.0;
      INFO("input " << j << " element " << e << ": vjp " << an << ", fd " << fd);
      CHECK(std::abs(an - fd) <= 1e-6 * std::abs(fd) + 1e-7);
      max_err = std::max(max_err, std::abs(an - fd));
    }
  }
  if (std::getenv("NNCERT_VJP_VERBOSE") != nullptr)
    std::printf("vjp fd %-28s max abs error %.3g\n", c.name.c_str(), max_err);
  return max_err;
}

std::vector<FdCase> shape_cases() {
  std::vector<FdCase> cs;
  auto add = [&](FdCase c) {
    cs.push_back(std::move(c));
  };
  {
    auto c = make_case("Identity");
    c.b->input("x", DType::kF32, {2, 3}).node("Identity", {"x"}, {"y"}).output("y");
    c.inputs = {{2, 3}};
    add(std::move(c));
  }
  {
    auto c = make_case("Dropout");
    c.b->input("x", DType::kF32, {2, 3}).node("Dropout", {"x"}, {"y"}).output("y");
    c.inputs = {{2, 3}};
    add(std::move(c));
  }
  for (int64_t to : {1, 11}) {
    auto c = make_case("Cast to " + std::to_string(to));
    c.b->input("x", DType::kF32, {2, 3}).node("Cast", {"x"}, {"y"}).attr("to", to).output("y");
    c.inputs = {{2, 3}};
    add(std::move(c));
  }
  {
    // Float -> int: no gradient flows (the int output takes no seed).
    auto c = make_case("Cast to int64 + Identity");
    c.b->input("x", DType::kF32, {2, 3});
    c.b->node("Cast", {"x"}, {"yi"}).attr("to", 7).node("Identity", {"x"}, {"y"});
    c.b->output("yi").output("y");
    c.inputs = {{2, 3}};
    add(std::move(c));
  }
  {
    auto c = make_case("Flatten axis 2");
    c.b->input("x", DType::kF32, {2, 3, 4}).node("Flatten", {"x"}, {"y"}).attr("axis", 2);
    c.b->output("y");
    c.inputs = {{2, 3, 4}};
    add(std::move(c));
  }
  {
    auto c = make_case("Reshape");
    c.b->input("x", DType::kF32, {2, 3, 4}).initializer("s", i64({2}, {4, -1}));
    c.b->node("Reshape", {"x", "s"}, {"y"}).output("y");
    c.inputs = {{2, 3, 4}};
    add(std::move(c));
  }
  {
    auto c = make_case("Transpose perm");
    c.b->input("x", DType::kF32, {2, 3, 4}).node("Transpose", {"x"}, {"y"});
    c.b->attr("perm", std::vector<int64_t>{2, 0, 1}).output("y");
    c.inputs = {{2, 3, 4}};
    add(std::move(c));
  }
  {
    auto c = make_case("Transpose default");
    c.b->input("x", DType::kF32, {2, 3, 4}).node("Transpose", {"x"}, {"y"}).output("y");
    c.inputs = {{2, 3, 4}};
    add(std::move(c));
  }
  {
    auto c = make_case("Squeeze axes");
    c.b->input("x", DType::kF32, {2, 1, 3, 1}).initializer("a", i64({1}, {1}));
    c.b->node("Squeeze", {"x", "a"}, {"y"}).output("y");
    c.inputs = {{2, 1, 3, 1}};
    add(std::move(c));
  }
  {
    auto c = make_case("Squeeze all");
    c.b->input("x", DType::kF32, {2, 1, 3, 1}).node("Squeeze", {"x"}, {"y"}).output("y");
    c.inputs = {{2, 1, 3, 1}};
    add(std::move(c));
  }
  {
    auto c = make_case("Unsqueeze");
    c.b->input("x", DType::kF32, {2, 3}).initializer("a", i64({2}, {0, -1}));
    c.b->node("Unsqueeze", {"x", "a"}, {"y"}).output("y");
    c.inputs = {{2, 3}};
    add(std::move(c));
  }
  {
    auto c = make_case("Concat axis 1");
    c.b->input("a", DType::kF32, {2, 2, 3}).input("b", DType::kF32, {2, 1, 3});
    c.b->input("c", DType::kF32, {2, 3, 3});
    c.b->node("Concat", {"a", "b", "c"}, {"y"}).attr("axis", 1).output("y");
    c.inputs = {{2, 2, 3}, {2, 1, 3}, {2, 3, 3}};
    add(std::move(c));
  }
  {
    auto c = make_case("Concat same input twice");
    c.b->input("a", DType::kF32, {2, 3});
    c.b->node("Concat", {"a", "a"}, {"y"}).attr("axis", -1).output("y");
    c.inputs = {{2, 3}};
    add(std::move(c));
  }
  {
    auto c = make_case("Slice negative steps");
    c.b->input("x", DType::kF32, {4, 5, 6});
    c.b->initializer("st", i64({2}, {3, -1})).initializer("en", i64({2}, {0, -7}));
    c.b->initializer("ax", i64({2}, {0, 2})).initializer("sp", i64({2}, {-1, -2}));
    c.b->node("Slice", {"x", "st", "en", "ax", "sp"}, {"y"}).output("y");
    c.inputs = {{4, 5, 6}};
    add(std::move(c));
  }
  {
    auto c = make_case("Slice clamped steps");
    c.b->input("x", DType::kF32, {4, 5, 6});
    c.b->initializer("st", i64({2}, {-100, 1})).initializer("en", i64({2}, {100, 5}));
    c.b->initializer("ax", i64({2}, {1, -1})).initializer("sp", i64({2}, {2, 3}));
    c.b->node("Slice", {"x", "st", "en", "ax", "sp"}, {"y"}).output("y");
    c.inputs = {{4, 5, 6}};
    add(std::move(c));
  }
  {
    auto c = make_case("Split sizes");
    c.b->input("x", DType::kF32, {2, 5, 3}).initializer("s", i64({2}, {2, 3}));
    c.b->node("Split", {"x", "s"}, {"y1", "y2"}).attr("axis", 1);
    c.b->output("y1").output("y2");
    c.inputs = {{2, 5, 3}};
    add(std::move(c));
  }
  {
    auto c = make_case("Split zero seed", 18);
    c.b->input("x", DType::kF32, {2, 7});
    c.b->node("Split", {"x"}, {"y1", "y2", "y3"}).attr("axis", -1).attr("num_outputs", 3);
    c.b->output("y1").output("y2").output("y3");
    c.inputs = {{2, 7}};
    c.zero_seed = {false, true, false};
    add(std::move(c));
  }
  {
    auto c = make_case("Gather repeated indices");
    c.b->input("x", DType::kF32, {3, 4, 2});
    c.b->initializer("i", i64({2, 3}, {0, 3, -1, 0, 0, 2}));
    c.b->node("Gather", {"x", "i"}, {"y"}).attr("axis", 1).output("y");
    c.inputs = {{3, 4, 2}};
    add(std::move(c));
  }
  {
    auto c = make_case("Gather axis 0");
    c.b->input("x", DType::kF32, {3, 2});
    c.b->initializer("i", i64({4}, {2, 2, 0, -1}));
    c.b->node("Gather", {"x", "i"}, {"y"}).output("y");
    c.inputs = {{3, 2}};
    add(std::move(c));
  }
  for (const char* mode : {"constant", "reflect", "edge", "wrap"}) {
    auto c = make_case(std::string("Pad ") + mode);
    c.b->input("x", DType::kF32, {3, 4}).initializer("p", i64({4}, {2, 1, 1, 3}));
    c.b->node("Pad", {"x", "p"}, {"y"}).attr("mode", mode).output("y");
    c.inputs = {{3, 4}};
    add(std::move(c));
  }
  {
    auto c = make_case("Pad constant value input");
    c.b->input("x", DType::kF32, {2, 3}).input("v", DType::kF32, {});
    c.b->initializer("p", i64({4}, {1, 0, 2, 1}));
    c.b->node("Pad", {"x", "p", "v"}, {"y"}).output("y");
    c.inputs = {{2, 3}, {}};
    add(std::move(c));
  }
  {
    auto c = make_case("Pad crop");
    c.b->input("x", DType::kF32, {3, 4}).initializer("p", i64({4}, {-1, 2, 1, -2}));
    c.b->node("Pad", {"x", "p"}, {"y"}).attr("mode", "edge").output("y");
    c.inputs = {{3, 4}};
    add(std::move(c));
  }
  for (const char* op : {"ReduceSum", "ReduceMean"}) {
    for (int64_t keep : {0, 1}) {
      const std::string tag = std::string(op) + " keepdims " + std::to_string(keep);
      {
        auto c = make_case(tag + " axes", 18);
        c.b->input("x", DType::kF32, {2, 3, 4}).initializer("a", i64({2}, {0, -1}));
        c.b->node(op, {"x", "a"}, {"y"}).attr("keepdims", keep).output("y");
        c.inputs = {{2, 3, 4}};
        add(std::move(c));
      }
      {
        auto c = make_case(tag + " all", 18);
        c.b->input("x", DType::kF32, {2, 3, 4});
        c.b->node(op, {"x"}, {"y"}).attr("keepdims", keep).output("y");
        c.inputs = {{2, 3, 4}};
        add(std::move(c));
      }
    }
  }
  {
    // No gradient flows through Shape, Constant, ConstantOfShape; kept unfolded.
    auto c = make_case("Shape Constant ConstantOfShape");
    c.b->input("x", DType::kF32, {2, 3});
    c.b->node("Identity", {"x"}, {"y"});
    c.b->node("Shape", {"x"}, {"s"});
    c.b->node("ConstantOfShape", {"s"}, {"z"})
        .attr("value", Tensor::from_vector<float>({1}, {2.f}));
    c.b->node("Constant", {}, {"k"}).attr("value", Tensor::from_vector<float>({2}, {1.f, 3.f}));
    c.b->output("y").output("s").output("z").output("k");
    c.inputs = {{2, 3}};
    c.fold = false;
    add(std::move(c));
  }
  return cs;
}

}  // namespace

TEST_CASE("VJP of shape ops matches finite differences", "[vjp]") {
  auto cs = shape_cases();
  double worst = 0;
  uint32_t seed = 1234;
  for (FdCase& c : cs)
    worst = std::max(worst, check_fd(c, seed++));
  if (std::getenv("NNCERT_VJP_VERBOSE") != nullptr)
    std::printf("vjp fd shape ops: %zu cases, max abs error %.3g\n", cs.size(), worst);
}

TEST_CASE("VJP of Cast from an integer input is empty", "[vjp]") {
  OnnxBuilder b;
  b.input("x", DType::kI64, {2, 3}).node("Cast", {"x"}, {"y"}).attr("to", 1).output("y");
  auto model = b.load();
  REQUIRE(model.has_value());
  const Graph& g = model->graph;
  RunOptions ro;
  ro.dtype = DType::kF64;
  auto gr = gradient(g,
                     {i64({2, 3}, {1, 2, 3, 4, 5, 6})},
                     {Tensor::from_vector<double>({2, 3}, {1, 1, 1, 1, 1, 1})},
                     ro);
  INFO("gradient: " << (gr ? "ok" : gr.status().to_string()));
  REQUIRE(gr.has_value());
  CHECK_FALSE(gr->value_grads[static_cast<size_t>(g.inputs()[0])].is_valid());
}

TEST_CASE("every op has a VJP rule", "[vjp]") {
  std::string missing;
  for (const OpDef* op : all_ops())
    if (op->vjp == nullptr)
      missing += (missing.empty() ? "" : ", ") + std::string(op->name);
  INFO("ops without a vjp: " << missing);
  CHECK(missing.empty());
}
