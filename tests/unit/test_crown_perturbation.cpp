// CROWN and alpha-CROWN over general input sets: L2 / L1 balls, clipped Linf balls and linear
// constraints. Sampled points of each set stay within the bounds; an Linf ball gives the same
// bounds as the equivalent box; constraints never loosen a bound.
#include <cmath>
#include <random>

#include <catch2/catch.hpp>

#include "bounds/crown.h"
#include "frontends/onnx/onnx_loader.h"
#include "tests/support/onnx_builder.h"
#include "tests/support/test_paths.h"

using namespace nncert;

namespace {

Tensor rand_t(std::mt19937& rng, const Shape& s) {
  std::uniform_real_distribution<double> u(-1, 1);
  Tensor t(DType::kF32, s);
  for (int64_t i = 0; i < t.numel(); ++i)
    t.set(i, u(rng));
  return t;
}

// x -> Gemm -> act -> Gemm -> Relu -> (+ skip) -> MatMul: 3 outputs.
OnnxModel random_net(std::mt19937& rng, int64_t d, const char* act) {
  test::OnnxBuilder b(13);
  b.input("x", DType::kF32, {1, d});
  b.initializer("w1", rand_t(rng, {d, 8})).initializer("b1", rand_t(rng, {8}));
  b.initializer("w2", rand_t(rng, {8, 8})).initializer("w3", rand_t(rng, {8, 3}));
  b.node("MatMul", {"x", "w1"}, {"h1"}).node("Add", {"h1", "b1"}, {"h2"});
  b.node(act, {"h2"}, {"a1"});
  b.node("MatMul", {"a1", "w2"}, {"h3"}).node("Relu", {"h3"}, {"a2"});
  b.node("Add", {"a2", "a1"}, {"r"});
  b.node("MatMul", {"r", "w3"}, {"y"});
  b.output("y");
  auto m = b.load();
  REQUIRE(m.has_value());
  return std::move(*m);
}

// A point of the set: kind 0 = L2 ball, 1 = L1 ball (uniform-ish, incl. the surface).
std::vector<double> sample_ball(std::mt19937& rng,
                                const std::vector<double>& c,
                                double eps,
                                Perturbation::Kind kind,
                                bool surface) {
  std::normal_distribution<double> nd(0, 1);
  std::uniform_real_distribution<double> ud(0, 1);
  const size_t n = c.size();
  std::vector<double> d(n);
  double norm = 0;
  for (auto& x : d) {
    x = kind == Perturbation::Kind::kL2 ? nd(rng) : -std::log(ud(rng) + 1e-300);
    if (kind == Perturbation::Kind::kL1 && ud(rng) < 0.5)
      x = -x;
    norm += kind == Perturbation::Kind::kL2 ? x * x : std::abs(x);
  }
  norm = kind == Perturbation::Kind::kL2 ? std::sqrt(norm) : norm;
  const double r = surface ? eps : eps * std::pow(ud(rng), 1.0 / static_cast<double>(n));
  std::vector<double> x(n);
  for (size_t i = 0; i < n; ++i)
    x[i] = c[i] + r * d[i] / norm;
  return x;
}

}  // namespace

TEST_CASE("CROWN over L2 and L1 balls contains sampled outputs", "[crown][perturbation]") {
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> u(-1, 1);
  for (int trial = 0; trial < 8; ++trial) {
    const int64_t d = 3 + trial % 4;
    auto m = random_net(rng, d, trial % 2 ? "Relu" : "Tanh");
    std::vector<double> c(static_cast<size_t>(d));
    for (auto& x : c)
      x = u(rng);
    const double eps = 0.2 + 0.3 * (u(rng) + 1);
    for (auto kind : {Perturbation::Kind::kL2, Perturbation::Kind::kL1}) {
      INFO("trial " << trial << " kind " << perturbation_kind_name(kind));
      const Perturbation p = Perturbation::ball(kind, c, eps);
      auto crown = crown_bounds(m.graph, std::vector<Perturbation>{p});
      REQUIRE(crown.has_value());
      CrownOptions ao;
      ao.alpha = true;
      ao.alpha_options.iterations = 10;
      auto alpha = crown_bounds(m.graph, std::vector<Perturbation>{p}, {}, {}, ao);
      REQUIRE(alpha.has_value());
      // The enclosing box is a superset: CROWN over it is sound but looser in total.
      auto over_box = crown_bounds(m.graph, std::vector<Interval>{*enclosing_box(p, {1, d})});
      REQUIRE(over_box.has_value());
      double w_ball = 0, w_box = 0;
      for (int64_t k = 0; k < 3; ++k) {
        CHECK(alpha->bounds.lo.get(k) >= crown->bounds.lo.get(k) - 1e-12);
        CHECK(alpha->bounds.hi.get(k) <= crown->bounds.hi.get(k) + 1e-12);
        w_ball += crown->bounds.hi.get(k) - crown->bounds.lo.get(k);
        w_box += over_box->bounds.hi.get(k) - over_box->bounds.lo.get(k);
      }
      CHECK(w_ball <= w_box + 1e-9);
      for (int s = 0; s < 2000; ++s) {
        const auto x = sample_ball(rng, c, eps, kind, s % 4 == 0);
        auto y = test::run_graph(m.graph, {Tensor::from_vector<double>({1, d}, x)});
        for (int64_t k = 0; k < 3; ++k) {
          REQUIRE(y[0].get(k) >= alpha->bounds.lo.get(k) - 1e-9);
          REQUIRE(y[0].get(k) <= alpha->bounds.hi.get(k) + 1e-9);
        }
      }
    }
  }
}

TEST_CASE("an Linf ball clipped to a range gives the same CROWN bounds as its box",
          "[crown][perturbation]") {
  std::mt19937 rng(6);
  auto m = random_net(rng, 5, "Relu");
  std::vector<double> c{0.1, 0.5, 0.9, 0.3, 0.0};
  const double eps = 0.15;
  const Perturbation p = Perturbation::ball(
      Perturbation::Kind::kLinf, c, eps, std::vector<double>(5, 0.0), std::vector<double>(5, 1.0));
  std::vector<double> lo(5), hi(5);
  for (size_t i = 0; i < 5; ++i) {
    lo[i] = std::max(0.0, c[i] - eps);
    hi[i] = std::min(1.0, c[i] + eps);
  }
  auto a = crown_bounds(m.graph, std::vector<Perturbation>{p});
  auto b = crown_bounds(m.graph,
                        std::vector<Interval>{{Tensor::from_vector<double>({1, 5}, lo),
                                               Tensor::from_vector<double>({1, 5}, hi)}});
  REQUIRE(a.has_value());
  REQUIRE(b.has_value());
  for (int64_t k = 0; k < 3; ++k) {
    CHECK(a->bounds.lo.get(k) == Approx(b->bounds.lo.get(k)).epsilon(1e-12).margin(1e-12));
    CHECK(a->bounds.hi.get(k) == Approx(b->bounds.hi.get(k)).epsilon(1e-12).margin(1e-12));
  }
}

// (Not "never looser than without": tighter intermediate bounds can flip CROWN's adaptive ReLU
// slopes, and CROWN is not monotone in its intermediate bounds.)
TEST_CASE("CROWN with linear input constraints contains sampled outputs", "[crown][perturbation]") {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(0, 1);
  for (int trial = 0; trial < 6; ++trial) {
    INFO("trial " << trial);
    const int64_t d = 3;
    auto m = random_net(rng, d, "Relu");
    Perturbation p = Perturbation::box({-1, -1, -1}, {1, 1, 1});
    auto free_b = crown_bounds(m.graph, std::vector<Perturbation>{p});
    // x0 + x1 + x2 <= 0.5 and x0 - x2 <= 0.2.
    p.constraints.g = {{1, 1, 1}, {1, 0, -1}};
    p.constraints.h = {0.5, 0.2};
    auto cons_b = crown_bounds(m.graph, std::vector<Perturbation>{p});
    REQUIRE(free_b.has_value());
    REQUIRE(cons_b.has_value());
    double w_free = 0, w_cons = 0;
    for (int64_t k = 0; k < 3; ++k) {
      w_free += free_b->bounds.hi.get(k) - free_b->bounds.lo.get(k);
      w_cons += cons_b->bounds.hi.get(k) - cons_b->bounds.lo.get(k);
    }
    INFO("mean width without constraints " << w_free / 3 << ", with " << w_cons / 3);
    int kept = 0;
    for (int s = 0; s < 20000 && kept < 2000; ++s) {
      std::vector<double> x{2 * u(rng) - 1, 2 * u(rng) - 1, 2 * u(rng) - 1};
      if (x[0] + x[1] + x[2] > 0.5 || x[0] - x[2] > 0.2)
        continue;
      ++kept;
      auto y = test::run_graph(m.graph, {Tensor::from_vector<double>({1, d}, x)});
      for (int64_t k = 0; k < 3; ++k) {
        REQUIRE(y[0].get(k) >= cons_b->bounds.lo.get(k) - 1e-9);
        REQUIRE(y[0].get(k) <= cons_b->bounds.hi.get(k) + 1e-9);
      }
    }
  }
}
