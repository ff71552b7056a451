// The dense ReLU-chain bound engine (lib/bounds/dense_chain.h): extraction of Gemm/MatMul/Add/
// Sub/Mul/Div/Neg/BatchNormalization/Relu chains (and refusal of anything else, naming the node),
// its float64 forward pass equal to the runtime's, and soundness of its lower bounds: for random
// boxes and spec rows, no sampled point of the box has c . y below the bound; a box shrunk to a
// point gives a bound equal to the value there; bounds of a batch of boxes equal those of the
// boxes one by one; safe rounding only lowers bounds.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>

#include <catch2/catch.hpp>

#include "bounds/crown.h"
#include "bounds/dense_chain.h"
#include "frontends/onnx/onnx_loader.h"
#include "tests/support/onnx_builder.h"
#include "tests/support/random_nets.h"
#include "tests/support/test_paths.h"

using namespace nncert;

namespace {

struct Case {
  std::vector<double> lo, hi;
};

Case random_box(std::mt19937& rng, int64_t d, double max_w) {
  std::uniform_real_distribution<double> c(-1, 1), w(0, max_w);
  Case k;
  for (int64_t i = 0; i < d; ++i) {
    const double m = c(rng), r = w(rng);
    k.lo.push_back(m - r);
    k.hi.push_back(m + r);
  }
  return k;
}

std::vector<double> random_rows(std::mt19937& rng, int64_t rows, int64_t n_out) {
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<double> c(static_cast<size_t>(rows * n_out));
  for (double& v : c)
    v = u(rng);
  return c;
}

// Every sampled point of every box satisfies c_r . y >= lower[b, r].
void check_sound(const AttackModel& m,
                 const DenseChain& chain,
                 std::mt19937& rng,
                 int64_t boxes,
                 int64_t rows,
                 double max_w,
                 int samples) {
  const int64_t d = chain.num_inputs(), no = chain.num_outputs();
  std::vector<double> lo, hi;
  for (int64_t b = 0; b < boxes; ++b) {
    Case k = random_box(rng, d, max_w);
    lo.insert(lo.end(), k.lo.begin(), k.lo.end());
    hi.insert(hi.end(), k.hi.begin(), k.hi.end());
  }
  const std::vector<double> c = random_rows(rng, rows, no);
  std::vector<double> lower(static_cast<size_t>(boxes * rows)),
      coeffs(static_cast<size_t>(boxes * rows * d));
  chain.lower_bounds(
      lo.data(), hi.data(), boxes, c.data(), rows, true, lower.data(), coeffs.data());
  std::uniform_real_distribution<double> u(0, 1);
  for (int64_t b = 0; b < boxes; ++b)
    for (int s = 0; s < samples; ++s) {
      std::vector<double> x(static_cast<size_t>(d));
      for (int64_t i = 0; i < d; ++i) {
        const double l = lo[static_cast<size_t>(b * d + i)], h = hi[static_cast<size_t>(b * d + i)];
        // Corners now and then: where linear bounds are attained.
        x[static_cast<size_t>(i)] = s % 4 == 0 ? (u(rng) < 0.5 ? l : h) : l + (h - l) * u(rng);
      }
      auto y = m.evaluate(x);
      REQUIRE(y.has_value());
      for (int64_t r = 0; r < rows; ++r) {
        double v = 0;
        for (int64_t j = 0; j < no; ++j)
          v += c[static_cast<size_t>(r * no + j)] * (*y)[static_cast<size_t>(j)];
        REQUIRE(v >= lower[static_cast<size_t>(b * rows + r)]);
      }
    }
}

}  // namespace

TEST_CASE("dense chain: bounds of random ReLU MLPs hold on samples", "[dense_chain]") {
  std::mt19937 rng(11);
  for (auto [d, h, out] : {std::tuple{2, 8, 3}, {5, 30, 5}, {20, 16, 4}, {3, 50, 2}}) {
    AttackModel m = test::random_relu_mlp(rng, d, h, out);
    auto chain = DenseChain::extract(m.single());
    REQUIRE(chain.has_value());
    CHECK((*chain)->num_inputs() == d);
    CHECK((*chain)->num_outputs() == out);
    CHECK((*chain)->num_relu() == 2 * h);
    for (double w : {0.01, 0.2, 1.0})
      check_sound(m, **chain, rng, 5, 3, w, 200);
  }
}

TEST_CASE("dense chain: forward equals the runtime; a point box bounds tightly", "[dense_chain]") {
  std::mt19937 rng(3);
  AttackModel m = test::random_relu_mlp(rng, 4, 20, 3);
  auto chain = DenseChain::extract(m.single());
  REQUIRE(chain.has_value());
  std::uniform_real_distribution<double> u(-1, 1);
  for (int k = 0; k < 20; ++k) {
    std::vector<double> x(4), y(3);
    for (double& v : x)
      v = u(rng);
    (*chain)->forward(x.data(), y.data());
    auto ref = m.evaluate(x);
    REQUIRE(ref.has_value());
    for (size_t j = 0; j < 3; ++j)
      CHECK(y[j] == Approx((*ref)[j]).margin(1e-9));
    // The box [x, x]: the bound of y_j is y_j up to the rounding slack.
    const std::vector<double> c = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    std::vector<double> lower(3);
    (*chain)->lower_bounds(x.data(), x.data(), 1, c.data(), 3, true, lower.data(), nullptr);
    for (size_t j = 0; j < 3; ++j) {
      CHECK(lower[j] <= (*ref)[j]);
      CHECK(lower[j] >= (*ref)[j] - 1e-9);
    }
  }
}

TEST_CASE("dense chain: a batch of boxes equals the boxes one by one; rounding slack only lowers",
          "[dense_chain]") {
  std::mt19937 rng(5);
  AttackModel m = test::random_relu_mlp(rng, 5, 24, 4);
  auto chain = DenseChain::extract(m.single());
  REQUIRE(chain.has_value());
  const int64_t boxes = 9, rows = 2, d = 5;
  std::vector<double> lo, hi;
  for (int64_t b = 0; b < boxes; ++b) {
    Case k = random_box(rng, d, 0.3);
    lo.insert(lo.end(), k.lo.begin(), k.lo.end());
    hi.insert(hi.end(), k.hi.begin(), k.hi.end());
  }
  const std::vector<double> c = random_rows(rng, rows, 4);
  std::vector<double> all(boxes * rows), loose(boxes * rows);
  (*chain)->lower_bounds(lo.data(), hi.data(), boxes, c.data(), rows, true, all.data(), nullptr);
  (*chain)->lower_bounds(lo.data(), hi.data(), boxes, c.data(), rows, false, loose.data(), nullptr);
  for (int64_t b = 0; b < boxes; ++b) {
    std::vector<double> one(rows);
    (*chain)->lower_bounds(
        lo.data() + b * d, hi.data() + b * d, 1, c.data(), rows, true, one.data(), nullptr);
    for (int64_t r = 0; r < rows; ++r) {
      CHECK(one[static_cast<size_t>(r)] ==
            Approx(all[static_cast<size_t>(b * rows + r)]).epsilon(1e-12).margin(1e-12));
      CHECK(all[static_cast<size_t>(b * rows + r)] <= loose[static_cast<size_t>(b * rows + r)]);
      CHECK(all[static_cast<size_t>(b * rows + r)] >=
            loose[static_cast<size_t>(b * rows + r)] - 1e-9);
    }
  }
}

TEST_CASE("dense chain: equals CROWN's bound on a one-hidden-layer net", "[dense_chain]") {
  // With one ReLU layer the intermediate bounds are exact intervals for both engines, so the
  // backward pass (same relaxation) gives the same bound.
  std::mt19937 rng(9);
  test::OnnxBuilder b(13);
  b.input("x", DType::kF32, {1, 3});
  b.initializer("w1", test::uniform_tensor(rng, {3, 10}))
      .initializer("b1", test::uniform_tensor(rng, {10}));
  b.initializer("w2", test::uniform_tensor(rng, {10, 2}));
  b.node("MatMul", {"x", "w1"}, {"h"}).node("Add", {"h", "b1"}, {"z"});
  b.node("Relu", {"z"}, {"a"}).node("MatMul", {"a", "w2"}, {"y"});
  b.output("y");
  auto om = b.load();
  REQUIRE(om.has_value());
  auto chain = DenseChain::extract(om->graph);
  REQUIRE(chain.has_value());
  const std::vector<double> lo = {-0.5, -0.2, 0.1}, hi = {0.3, 0.4, 0.6};
  const std::vector<double> c = {1, -1, 0.5, 1};
  std::vector<double> lower(2);
  (*chain)->lower_bounds(lo.data(), hi.data(), 1, c.data(), 2, false, lower.data(), nullptr);
  BoundOptions bo;
  bo.dtype = DType::kF64;
  CrownOptions co;
  co.lower_only = true;
  auto cr = crown_bounds(om->graph, {Perturbation::box(lo, hi)}, {{1, -1}, {0.5, 1}}, bo, co);
  REQUIRE(cr.has_value());
  const std::vector<double> ref = cr->bounds.lo.to_double_vector();
  CHECK(lower[0] == Approx(ref[0]).margin(1e-9));
  CHECK(lower[1] == Approx(ref[1]).margin(1e-9));
}

TEST_CASE("dense chain: normalisation, Gemm transB, BatchNorm, Div and Neg steps",
          "[dense_chain]") {
  std::mt19937 rng(21);
  test::OnnxBuilder b(13);
  b.input("x", DType::kF32, {1, 1, 1, 4});
  b.initializer("mean", test::uniform_tensor(rng, {1, 1, 1, 4}));
  Tensor sd(DType::kF32, {4});
  for (int64_t i = 0; i < 4; ++i)
    sd.set(i, 0.5 + 0.25 * static_cast<double>(i));
  b.initializer("sd", sd);
  b.initializer("w1", test::uniform_tensor(rng, {12, 4}))
      .initializer("b1", test::uniform_tensor(rng, {12}));
  Tensor var(DType::kF32, {12});
  for (int64_t i = 0; i < 12; ++i)
    var.set(i, 0.3 + 0.1 * static_cast<double>(i));
  b.initializer("g", test::uniform_tensor(rng, {12}))
      .initializer("be", test::uniform_tensor(rng, {12}))
      .initializer("mu", test::uniform_tensor(rng, {12}))
      .initializer("va", var);
  b.initializer("w2", test::uniform_tensor(rng, {12, 3}));
  b.node("Sub", {"x", "mean"}, {"c"}).node("Div", {"c", "sd"}, {"n"});
  b.node("Flatten", {"n"}, {"f"});
  b.node("Gemm", {"f", "w1", "b1"}, {"h"}).attr("transB", 1);
  b.node("BatchNormalization", {"h", "g", "be", "mu", "va"}, {"bn"});
  b.node("Relu", {"bn"}, {"a"}).node("Neg", {"a"}, {"na"});
  b.node("MatMul", {"na", "w2"}, {"y"});
  b.output("y");
  auto om = b.load();
  REQUIRE(om.has_value());
  auto am = AttackModel::create(om->graph);
  REQUIRE(am.has_value());
  auto chain = DenseChain::extract(am->single());
  REQUIRE(chain.has_value());
  std::vector<double> x = {0.1, -0.3, 0.7, 0.2}, y(3);
  (*chain)->forward(x.data(), y.data());
  auto ref = am->evaluate(x);
  REQUIRE(ref.has_value());
  for (size_t j = 0; j < 3; ++j)
    CHECK(y[j] == Approx((*ref)[j]).margin(1e-9));
  check_sound(*am, **chain, rng, 6, 3, 0.5, 300);
}

TEST_CASE("dense chain: other graphs are refused with the node named", "[dense_chain]") {
  std::mt19937 rng(2);
  {
    // A residual branch.
    test::OnnxBuilder b(13);
    b.input("x", DType::kF32, {1, 4});
    b.initializer("w", test::uniform_tensor(rng, {4, 4}));
    b.node("MatMul", {"x", "w"}, {"h"}).node("Relu", {"h"}, {"a"});
    b.node("Add", {"a", "x"}, {"y"});
    b.output("y");
    auto om = b.load();
    REQUIRE(om.has_value());
    auto chain = DenseChain::extract(om->graph);
    REQUIRE_FALSE(chain.has_value());
    CHECK(chain.status().code() == ErrorCode::kUnsupported);
  }
  {
    test::OnnxBuilder b(13);
    b.input("x", DType::kF32, {1, 4});
    b.initializer("w", test::uniform_tensor(rng, {4, 4}));
    b.node("MatMul", {"x", "w"}, {"h"}).node("Sigmoid", {"h"}, {"y"}, "squash");
    b.output("y");
    auto om = b.load();
    REQUIRE(om.has_value());
    auto chain = DenseChain::extract(om->graph);
    REQUIRE_FALSE(chain.has_value());
    INFO(chain.status().message());
    CHECK(chain.status().message().find("(Sigmoid)") != std::string::npos);
  }
}

TEST_CASE("dense chain: ACAS Xu networks extract and run like the runtime",
          "[dense_chain][shared]") {
  auto shared = test::shared_dir();
  if (!shared) {
    WARN("../shared not found: skipped");
    return;
  }
  const auto f = std::filesystem::path(*shared) /
                 "benchmarks/vnncomp/acasxu/onnx/ACASXU_run2a_1_1_batch_2000.onnx";
  if (!std::filesystem::exists(f)) {
    WARN("ACAS Xu model not found: skipped");
    return;
  }
  auto om = load_onnx(f.string());
  REQUIRE(om.has_value());
  auto am = AttackModel::create(om->graph);
  REQUIRE(am.has_value());
  auto chain = DenseChain::extract(am->single());
  REQUIRE(chain.has_value());
  CHECK((*chain)->num_inputs() == 5);
  CHECK((*chain)->num_relu() == 300);
  std::mt19937 rng(1);
  std::uniform_real_distribution<double> u(-0.5, 0.5);
  for (int k = 0; k < 10; ++k) {
    std::vector<double> x(5), y(5);
    for (double& v : x)
      v = u(rng);
    (*chain)->forward(x.data(), y.data());
    auto ref = am->evaluate(x);
    REQUIRE(ref.has_value());
    for (size_t j = 0; j < 5; ++j)
      CHECK(y[j] == Approx((*ref)[j]).margin(1e-9));
  }
  check_sound(*am, **chain, rng, 4, 4, 0.1, 300);
}

TEST_CASE("dense chain: ReLU states proven on a box hold on its sub-boxes", "[dense_chain]") {
  std::mt19937 rng(17);
  AttackModel m = test::random_relu_mlp(rng, 3, 30, 2);
  auto chain = DenseChain::extract(m.single());
  REQUIRE(chain.has_value());
  const int64_t nr = (*chain)->num_relu();
  std::uniform_real_distribution<double> u(0, 1);
  for (int trial = 0; trial < 20; ++trial) {
    Case parent = random_box(rng, 3, 0.4);
    const std::vector<double> c = random_rows(rng, 2, 2);
    std::vector<uint8_t> state(static_cast<size_t>(nr), DenseChain::kUnknown);
    std::vector<double> lower(2);
    (*chain)->lower_bounds(parent.lo.data(),
                           parent.hi.data(),
                           1,
                           c.data(),
                           2,
                           true,
                           lower.data(),
                           nullptr,
                           true,
                           state.data());
    // Some neurons are proven stable on the parent; a child gets the parent's states.
    CHECK(std::count(state.begin(), state.end(), DenseChain::kUnknown) < nr);
    Case child = parent;
    const auto dim = static_cast<size_t>(trial % 3);
    (trial % 2 ? child.lo[dim] : child.hi[dim]) = 0.5 * (parent.lo[dim] + parent.hi[dim]);
    std::vector<uint8_t> child_state = state;
    std::vector<double> child_lower(2), fresh_lower(2);
    (*chain)->lower_bounds(child.lo.data(),
                           child.hi.data(),
                           1,
                           c.data(),
                           2,
                           true,
                           child_lower.data(),
                           nullptr,
                           true,
                           child_state.data());
    (*chain)->lower_bounds(child.lo.data(),
                           child.hi.data(),
                           1,
                           c.data(),
                           2,
                           true,
                           fresh_lower.data(),
                           nullptr,
                           true,
                           nullptr);
    // What the parent proved stays proved.
    for (int64_t i = 0; i < nr; ++i)
      if (state[static_cast<size_t>(i)] != DenseChain::kUnknown)
        CHECK(child_state[static_cast<size_t>(i)] == state[static_cast<size_t>(i)]);
    // Sound on samples of the child.
    for (int s = 0; s < 300; ++s) {
      std::vector<double> x(3);
      for (size_t i = 0; i < 3; ++i)
        x[i] = child.lo[i] + (child.hi[i] - child.lo[i]) * u(rng);
      auto y = m.evaluate(x);
      REQUIRE(y.has_value());
      for (size_t r = 0; r < 2; ++r)
        REQUIRE(c[r * 2] * (*y)[0] + c[r * 2 + 1] * (*y)[1] >= child_lower[r]);
    }
    (void)fresh_lower;
  }
}

TEST_CASE("dense chain: the baseline and the AVX2 builds of the engine agree", "[dense_chain]") {
  // On a CPU without AVX2 + FMA both are the baseline build and agree trivially.
  std::mt19937 rng(23);
  AttackModel m = test::random_relu_mlp(rng, 5, 40, 4);
  auto fast = DenseChain::extract(m.single(), true);
  auto base = DenseChain::extract(m.single(), false);
  REQUIRE(fast.has_value());
  REQUIRE(base.has_value());
  const int64_t boxes = 12, rows = 3, d = 5;
  std::vector<double> lo, hi;
  for (int64_t b = 0; b < boxes; ++b) {
    Case k = random_box(rng, d, 0.4);
    lo.insert(lo.end(), k.lo.begin(), k.lo.end());
    hi.insert(hi.end(), k.hi.begin(), k.hi.end());
  }
  const std::vector<double> c = random_rows(rng, rows, 4);
  std::vector<double> a(boxes * rows), b(boxes * rows);
  (*fast)->lower_bounds(lo.data(), hi.data(), boxes, c.data(), rows, true, a.data(), nullptr);
  (*base)->lower_bounds(lo.data(), hi.data(), boxes, c.data(), rows, true, b.data(), nullptr);
  for (size_t i = 0; i < a.size(); ++i)
    CHECK(a[i] == Approx(b[i]).epsilon(1e-10).margin(1e-10));
  check_sound(m, **base, rng, 4, 3, 0.3, 200);
  check_sound(m, **fast, rng, 4, 3, 0.3, 200);
}
