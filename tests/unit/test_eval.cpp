// Robustness evaluation (lib/verify/eval.h): on random ReLU networks, each method's verdicts
// equal the pipeline's with that method alone, verified samples have no sampled violation,
// misclassified and PGD-falsified samples are never verified, eps = 0 verifies every clean
// sample, results do not depend on the thread count; bad input, stops and the consistency check.
#include <random>

#include <catch2/catch.hpp>

#include "spec/robustness.h"
#include "tests/support/random_nets.h"
#include "verify/eval.h"

using namespace nncert;

namespace {

// n random samples in [0, 1]^d; labels: the clean prediction, except every fourth sample's.
std::vector<Property> random_props(const AttackModel& m, std::mt19937& rng, int n, double eps) {
  std::uniform_real_distribution<double> u(0, 1);
  RobustnessOptions ro;
  ro.eps = eps;
  ro.clip_lo = 0;
  ro.clip_hi = 1;
  std::vector<Property> props;
  for (int k = 0; k < n; ++k) {
    std::vector<double> x(static_cast<size_t>(m.num_inputs()));
    for (double& v : x)
      v = u(rng);
    auto y = m.evaluate(x);
    REQUIRE(y.has_value());
    int64_t label = std::max_element(y->begin(), y->end()) - y->begin();
    if (k % 4 == 3)
      label = (label + 1) % m.num_outputs();
    auto p = robustness_property(x, label, m.num_outputs(), 100 + k, ro);
    REQUIRE(p.has_value());
    props.push_back(std::move(*p));
  }
  return props;
}

}  // namespace

TEST_CASE("eval: per-method verdicts agree with the pipeline and are sound", "[eval]") {
  std::mt19937 rng(11);
  const AttackModel m = test::random_relu_mlp(rng, 4, 12, 3);
  const std::vector<Property> props = random_props(m, rng, 24, 0.02);
  EvalOptions o;
  o.threads = 2;
  auto r = evaluate_robustness(m, props, o);
  REQUIRE(r.has_value());
  REQUIRE(r->samples.size() == props.size());
  CHECK_FALSE(r->interrupted);
  int verified = 0, clean = 0;
  for (size_t k = 0; k < props.size(); ++k) {
    const EvalSample& s = r->samples[k];
    CHECK(s.index == 100 + static_cast<int64_t>(k));
    CHECK(s.label == *props[k].label);
    clean += s.clean;
    if (k % 4 == 3) {
      CHECK_FALSE(s.clean);
    }
    if (!s.pgd_robust) {
      CHECK(s.verified_by.empty());
      continue;
    }
    // IBP and CROWN alone, as verify_property runs them.
    for (Method meth : {Method::kIbp, Method::kCrown}) {
      VerifyOptions vo;
      vo.methods = {meth};
      const PropertyResult pr = verify_property(m, props[k], vo);
      CHECK(s.verified[static_cast<size_t>(eval_method_index(meth))] ==
            (pr.verdict == Verdict::kVerified));
    }
    if (s.verified[1]) {
      CHECK(s.verified[2]);  // alpha-CROWN is never looser than CROWN
    }
    if (s.verified_by.empty())
      continue;
    ++verified;
    // No sampled point of the ball changes the class.
    std::uniform_real_distribution<double> u(-1, 1);
    const Perturbation& in = props[k].cases[0].input;
    for (int t = 0; t < 300; ++t) {
      std::vector<double> x = in.center;
      for (size_t i = 0; i < x.size(); ++i)
        x[i] = std::clamp(x[i] + in.eps * u(rng), in.lo[i], in.hi[i]);
      auto y = m.evaluate(x);
      REQUIRE(y.has_value());
      for (size_t j = 0; j < y->size(); ++j)
        if (static_cast<int64_t>(j) != s.label)
          REQUIRE((*y)[static_cast<size_t>(s.label)] > (*y)[j]);
    }
  }
  CHECK(clean == 18);
  CHECK(verified > 0);
  REQUIRE(check_eval_consistency(*r).is_ok());

  SECTION("one thread gives the same results") {
    o.threads = 1;
    auto r1 = evaluate_robustness(m, props, o);
    REQUIRE(r1.has_value());
    for (size_t k = 0; k < props.size(); ++k) {
      CHECK(r1->samples[k].verified == r->samples[k].verified);
      CHECK(r1->samples[k].pgd_robust == r->samples[k].pgd_robust);
      CHECK(r1->samples[k].verified_by == r->samples[k].verified_by);
    }
  }
  SECTION("the consistency check refuses a verified sample PGD falsified") {
    EvalResult bad = *r;
    for (EvalSample& s : bad.samples)
      if (!s.verified_by.empty()) {
        s.pgd_robust = false;
        break;
      }
    CHECK(check_eval_consistency(bad).code() == ErrorCode::kInternal);
  }
}

TEST_CASE("eval: eps 0 verifies every clean sample", "[eval]") {
  std::mt19937 rng(5);
  const AttackModel m = test::random_relu_mlp(rng, 5, 10, 4);
  const std::vector<Property> props = random_props(m, rng, 12, 0.0);
  EvalOptions o;
  o.methods = {Method::kIbp};
  auto r = evaluate_robustness(m, props, o);
  REQUIRE(r.has_value());
  for (const EvalSample& s : r->samples) {
    CHECK(s.pgd_robust == s.clean);
    CHECK(s.verified_by == (s.clean ? "ibp" : ""));
  }
}

TEST_CASE("eval: bad input, stops", "[eval]") {
  std::mt19937 rng(7);
  const AttackModel m = test::random_relu_mlp(rng, 3, 8, 2);
  std::vector<Property> props = random_props(m, rng, 4, 0.05);
  EvalOptions o;
  SECTION("a method that is not a bound method") {
    o.methods = {Method::kAttack};
    CHECK(evaluate_robustness(m, props, o).status().code() == ErrorCode::kInvalidArgument);
  }
  SECTION("a property of the wrong size") {
    std::mt19937 rng2(8);
    const AttackModel other = test::random_relu_mlp(rng2, 5, 8, 2);
    CHECK(evaluate_robustness(other, props, o).status().code() == ErrorCode::kShapeMismatch);
  }
  SECTION("a stop before anything runs") {
    o.should_stop = [] {
      return true;
    };
    auto r = evaluate_robustness(m, props, o);
    REQUIRE(r.has_value());
    CHECK(r->interrupted);
    for (const EvalSample& s : r->samples)
      CHECK(s.verified_by.empty());
  }
}
