// CROWN against auto_LiRPA's recorded bounds (all-CROWN intermediate bounds, i.e.
// `crown_dense_interm`) on every fixture whose ops have relaxations, the toy network's known
// values, soundness against sampled outputs, and refusal of ops without a relaxation.
#include <cmath>
#include <filesystem>
#include <random>

#include <catch2/catch.hpp>

#include "bounds/crown.h"
#include "frontends/onnx/onnx_loader.h"
#include "passes/passes.h"
#include "tests/support/onnx_builder.h"
#include "tests/support/test_paths.h"

using namespace nncert;
namespace fs = std::filesystem;

namespace {

double rel(double a, double b) {
  return std::abs(a - b) / std::max(1.0, std::abs(b));
}

// dense: every intermediate neuron by CROWN, compared with `crown_dense_interm`; otherwise
// auto_LiRPA's default sparse intermediate bounds, compared with `crown` and `crown_margin`.
void check_fixture(const std::string& name, bool dense) {
  INFO("fixture " << name);
  const std::string dir = test::data_path("fixtures/" + name);
  auto m = load_onnx(dir + "/model.onnx");
  REQUIRE(m.has_value());
  const auto cases = test::read_json(dir + "/cases.json");
  const Shape shape = cases["input_shape"].get<Shape>();
  for (const auto& c : cases["cases"]) {
    INFO("case " << c["id"]);
    std::vector<Interval> box{
        {Tensor::from_vector<double>(shape, c["x_lower"].get<std::vector<double>>()),
         Tensor::from_vector<double>(shape, c["x_upper"].get<std::vector<double>>())}};
    CrownOptions opts;
    opts.sparse_intermediate = !dense;
    auto r = crown_bounds(m->graph, box, {}, {}, opts);
    REQUIRE(r.has_value());
    const char* key = dense ? "crown_dense_interm" : "crown";
    const auto lo = c[key]["lower"].get<std::vector<double>>();
    const auto hi = c[key]["upper"].get<std::vector<double>>();
    const auto smin = c["sampled_min"].get<std::vector<double>>();
    const auto smax = c["sampled_max"].get<std::vector<double>>();
    for (size_t i = 0; i < lo.size(); ++i) {
      const auto k = static_cast<int64_t>(i);
      CHECK(rel(r->bounds.lo.get(k), lo[i]) <= 1e-9);
      CHECK(rel(r->bounds.hi.get(k), hi[i]) <= 1e-9);
      CHECK(r->bounds.lo.get(k) <= smin[i] + 1e-12);
      CHECK(r->bounds.hi.get(k) >= smax[i] - 1e-12);
    }
    if (dense)
      continue;
    const auto& cm = c["crown_margin"];
    auto rm = crown_bounds(m->graph, box, cm["C"].get<std::vector<std::vector<double>>>());
    REQUIRE(rm.has_value());
    const auto ref_m = cm["lower"].get<std::vector<double>>();
    const auto smin_m = cm["sampled_min"].get<std::vector<double>>();
    for (size_t i = 0; i < ref_m.size(); ++i) {
      const auto k = static_cast<int64_t>(i);
      CHECK(rel(rm->bounds.lo.get(k), ref_m[i]) <= 1e-9);
      CHECK(rm->bounds.lo.get(k) <= smin_m[i] + 1e-12);
    }
  }
}

}  // namespace

TEST_CASE("CROWN equals auto_LiRPA's bounds on the fixtures", "[crown][fixtures]") {
  for (const char* name : {"toy",
                           "mlp_relu",
                           "acas_like",
                           "cnn_small",
                           "resnet_small",
                           "concat_branch",
                           "normalize_layers"}) {
    check_fixture(name, false);
    check_fixture(name, true);
  }
}

TEST_CASE("CROWN on the pretrained MNIST CNN, sparse and all-CROWN intermediate bounds",
          "[crown]") {
  check_fixture("mnist_a_adv", false);
  check_fixture("mnist_a_adv", true);
}

TEST_CASE("the toy network's CROWN bounds are the known exact values", "[crown]") {
  auto m = load_onnx(test::data_path("fixtures/toy/model.onnx"));
  REQUIRE(m.has_value());
  const auto c = test::read_json(test::data_path("fixtures/toy/cases.json"))["cases"][0];
  std::vector<Interval> box{
      {Tensor::from_vector<double>({1, 2}, c["x_lower"].get<std::vector<double>>()),
       Tensor::from_vector<double>({1, 2}, c["x_upper"].get<std::vector<double>>())}};
  auto r = crown_bounds(m->graph, box);
  REQUIRE(r.has_value());
  CHECK(r->bounds.lo.get(0) == Approx(-3.0).margin(1e-12));
  CHECK(r->bounds.hi.get(0) == Approx(3.0).margin(1e-12));
}

TEST_CASE("CROWN bounds contain sampled outputs of random ReLU/LeakyReLU graphs", "[crown]") {
  std::mt19937 rng(17);
  std::uniform_real_distribution<double> u(-1, 1);
  auto rand_t = [&](const Shape& s) {
    Tensor t(DType::kF32, s);
    for (int64_t i = 0; i < t.numel(); ++i)
      t.set(i, u(rng));
    return t;
  };
  for (int trial = 0; trial < 12; ++trial) {
    test::OnnxBuilder b(13);
    const int64_t d = 4 + trial % 3;
    b.input("x", DType::kF32, {1, d});
    b.initializer("w1", rand_t({d, 8})).initializer("b1", rand_t({8}));
    b.initializer("w2", rand_t({8, 8})).initializer("w3", rand_t({16, 3}));
    b.initializer("scale", rand_t({8}));
    b.node("MatMul", {"x", "w1"}, {"h1"}).node("Add", {"h1", "b1"}, {"h2"});
    b.node(trial % 2 ? "Relu" : "LeakyRelu", {"h2"}, {"a1"});
    if (trial % 2 == 0)
      b.attr("alpha", 0.2);
    b.node("Gemm", {"a1", "w2"}, {"h3"}).attr("alpha", trial % 3 == 0 ? -0.7 : 1.1);
    b.node("Relu", {"h3"}, {"a2"});
    b.node("Mul", {"a1", "scale"}, {"s1"});
    b.node("Sub", {"a2", "s1"}, {"r"});  // residual-style join
    b.node("Concat", {"r", "a1"}, {"cat"}).attr("axis", int64_t{1});
    b.node("MatMul", {"cat", "w3"}, {"y"});
    b.output("y");
    auto m = b.load();
    REQUIRE(m.has_value());
    Tensor lo(DType::kF64, {1, d}), hi(DType::kF64, {1, d});
    for (int64_t i = 0; i < d; ++i) {
      const double c = u(rng), w = 0.05 + 0.5 * (u(rng) + 1);
      lo.set(i, c - w);
      hi.set(i, c + w);
    }
    auto r = crown_bounds(m->graph, {{lo, hi}});
    REQUIRE(r.has_value());
    std::uniform_real_distribution<double> unit(0, 1);
    for (int s = 0; s < 2000; ++s) {
      Tensor x(DType::kF64, {1, d});
      for (int64_t i = 0; i < d; ++i) {
        const double t = s < 64 ? static_cast<double>((s >> (i % 6)) & 1) : unit(rng);
        x.set(i, lo.get(i) + t * (hi.get(i) - lo.get(i)));
      }
      auto y = test::run_graph(m->graph, {x});
      for (int64_t k = 0; k < 3; ++k) {
        REQUIRE(y[0].get(k) >= r->bounds.lo.get(k) - 1e-9);
        REQUIRE(y[0].get(k) <= r->bounds.hi.get(k) + 1e-9);
      }
    }
  }
}

TEST_CASE("CROWN refuses nodes without a relaxation, naming them", "[crown]") {
  test::OnnxBuilder b(13);
  b.input("x", DType::kF32, {1, 3});
  b.node("Sign", {"x"}, {"s"}, "sign_node");
  b.node("Sign", {"s"}, {"y"}, "second_sign_node");
  b.output("y");
  auto m = b.load();
  REQUIRE(m.has_value());
  Tensor lo = Tensor::from_vector<double>({1, 3}, {-1, -1, -1});
  Tensor hi = Tensor::from_vector<double>({1, 3}, {1, 1, 1});
  auto r = crown_bounds(m->graph, {{lo, hi}});
  REQUIRE_FALSE(r.has_value());
  CHECK(r.status().code() == ErrorCode::kUnsupported);
  CHECK_THAT(r.status().message(),
             Catch::Contains("sign_node") && Catch::Contains("second_sign_node"));
}
