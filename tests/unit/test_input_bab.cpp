// Input-split branch and bound (lib/verify/input_bab.h): on random small ReLU networks with 2-5
// inputs, properties built barely true and barely false around the sampled extreme are decided,
// and the verdicts agree with dense sampling (verified: no sampled point violates; falsified: the
// counterexample re-executes to a violation inside the region). Also: conjunctions and
// disjunctions of constraints, the same result for 1 and 2 threads, stops and timeouts, and the
// pipeline escalating to input BaB.
#include <cmath>
#include <random>

#include <catch2/catch.hpp>

#include "tests/support/onnx_builder.h"
#include "tests/support/random_nets.h"
#include "verify/input_bab.h"
#include "verify/verifier.h"

using namespace nncert;

namespace {

AttackModel random_mlp(std::mt19937& rng, int64_t d, int64_t h, int64_t out) {
  return test::random_relu_mlp(rng, d, h, out);
}

// Dense uniform samples of the box (a fixed seed) and their outputs.
struct Samples {
  std::vector<std::vector<double>> x, y;
};

Samples sample(const AttackModel& m, const Perturbation& box, int n) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(0, 1);
  Samples s;
  for (int k = 0; k < n; ++k) {
    std::vector<double> x(box.lo.size());
    for (size_t i = 0; i < x.size(); ++i)
      x[i] = box.lo[i] + (box.hi[i] - box.lo[i]) * u(rng);
    auto y = m.evaluate(x);
    REQUIRE(y.has_value());
    s.x.push_back(std::move(x));
    s.y.push_back(std::move(*y));
  }
  return s;
}

OutputConstraint row(int64_t n_out, std::vector<std::pair<int64_t, double>> coef, double rhs) {
  OutputConstraint oc;
  oc.coeffs.assign(static_cast<size_t>(n_out), 0.0);
  for (auto [j, a] : coef)
    oc.coeffs[static_cast<size_t>(j)] = a;
  oc.rhs = rhs;
  return oc;
}

Property make_property(const Perturbation& box, int64_t n_out, std::vector<UnsafeTerm> terms) {
  Property p;
  p.name = "bab";
  p.num_inputs = box.size();
  p.num_outputs = n_out;
  p.cases.push_back({box, std::move(terms)});
  return p;
}

// The verdict agrees with the samples: verified -> no sample satisfies a term; falsified -> the
// counterexample lies in the box and satisfies a term when re-executed.
void check_against_samples(const AttackModel& m,
                           const Property& p,
                           const Samples& s,
                           const InputBabResult& r) {
  const PropertyCase& pc = p.cases[0];
  if (r.outcome == InputBabResult::Outcome::kVerified) {
    for (const auto& y : s.y)
      REQUIRE(unsafe_term_index(pc, y) < 0);
  } else {
    REQUIRE(r.outcome == InputBabResult::Outcome::kFalsified);
    REQUIRE(r.counterexample.has_value());
    CHECK(region_contains(pc.input, r.counterexample->x));
    auto y = m.evaluate(r.counterexample->x);
    REQUIRE(y.has_value());
    CHECK(unsafe_term_index(pc, *y) >= 0);
    CHECK(std::string(r.counterexample->found_by) == "input-bab");
  }
}

Perturbation random_box(std::mt19937& rng, int64_t d) {
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<double> lo(static_cast<size_t>(d)), hi(static_cast<size_t>(d));
  for (size_t i = 0; i < lo.size(); ++i) {
    const double c = 0.5 * u(rng), r = 0.3 + 0.2 * (u(rng) + 1);
    lo[i] = c - r;
    hi[i] = c + r;
  }
  return Perturbation::box(lo, hi);
}

// The maximum of y_0 - y_1 over the box up to `margin`: starting from the sampled maximum, the
// threshold rises to each counterexample's value until input BaB proves y_0 - y_1 < t + margin.
// Returns t, a value attained at a checked point (or the sampled maximum).
double bab_max(
    const AttackModel& m, const Perturbation& box, int64_t out, double t, double margin) {
  InputBabOptions o;
  o.max_domains = 200'000;  // a safety net: every property here needs far fewer
  for (int it = 0; it < 200; ++it) {
    const Property p =
        make_property(box, out, {UnsafeTerm{{row(out, {{0, -1.0}, {1, 1.0}}, -(t + margin))}}});
    auto r = input_bab(m, p, 0, o);
    REQUIRE(r.has_value());
    if (r->outcome == InputBabResult::Outcome::kVerified)
      return t;
    REQUIRE(r->outcome == InputBabResult::Outcome::kFalsified);
    const double v = r->counterexample->y[0] - r->counterexample->y[1];
    REQUIRE(v >= t + margin);
    t = v;
  }
  FAIL("bab_max did not converge");
  return t;
}

}  // namespace

TEST_CASE("input bab: barely true and barely false properties are decided soundly", "[bab]") {
  // Both bound engines: the dense one (these MLPs are dense ReLU chains) and the general CROWN.
  const bool dense = GENERATE(true, false);
  INFO("dense engine " << dense);
  std::mt19937 rng(21);
  int verified = 0, falsified = 0;
  for (int trial = 0; trial < 16; ++trial) {
    const int64_t d = 2 + trial % 4, out = 2 + trial % 2;
    const AttackModel m = random_mlp(rng, d, 8, out);
    const Perturbation box = random_box(rng, d);
    const Samples s = sample(m, box, 2000);
    // Objective y_0 - y_1 (a margin); its sampled maximum and range.
    double hi = -1e300, lo = 1e300;
    for (const auto& y : s.y) {
      hi = std::max(hi, y[0] - y[1]);
      lo = std::min(lo, y[0] - y[1]);
    }
    const double eps = 1e-3 * (hi - lo);
    // The sampled maximum misses the true one by far more than eps: raise it first.
    hi = bab_max(m, box, out, hi, eps);
    InputBabOptions o;
    o.max_domains = 200'000;  // a safety net: every property here needs far fewer
    o.dense_engine = dense;
    for (int sign : {-1, +1}) {
      // Unsafe: y_0 - y_1 >= hi + sign * eps, i.e. -(y_0 - y_1) <= -(hi + sign * eps).
      const Property p = make_property(
          box, out, {UnsafeTerm{{row(out, {{0, -1.0}, {1, 1.0}}, -(hi + sign * eps))}}});
      auto r = input_bab(m, p, 0, o);
      INFO("trial " << trial << " sign " << sign);
      REQUIRE(r.has_value());
      REQUIRE((r->outcome == InputBabResult::Outcome::kVerified ||
               r->outcome == InputBabResult::Outcome::kFalsified));
      check_against_samples(m, p, s, *r);
      // hi is attained at a checked point, so hi - eps must be falsified.
      CHECK((r->outcome == InputBabResult::Outcome::kFalsified) == (sign < 0));
      (r->outcome == InputBabResult::Outcome::kVerified ? verified : falsified)++;
      CHECK(r->domains >= 1);
    }
  }
  CHECK(verified == 16);   // hi + eps: bab_max proved it
  CHECK(falsified == 16);  // hi - eps: hi is attained
}

TEST_CASE("input bab: conjunctions and disjunctions of constraints", "[bab]") {
  std::mt19937 rng(5);
  for (int trial = 0; trial < 8; ++trial) {
    const int64_t d = 2 + trial % 3, out = 3;
    const AttackModel m = random_mlp(rng, d, 8, out);
    const Perturbation box = random_box(rng, d);
    const Samples s = sample(m, box, 2000);
    // Term A (conjunction): y_0 >= t0 and y_1 <= t1, with t0, t1 at a sampled point's values
    // shifted so that only few samples qualify; term B: y_2 >= sampled max + shift.
    const auto& y_ref = s.y[static_cast<size_t>(trial * 37 % 2000)];
    double y2max = -1e300;
    for (const auto& y : s.y)
      y2max = std::max(y2max, y[2]);
    const double shift = (trial % 2 == 0 ? 1 : -1) * 0.01;
    UnsafeTerm a{
        {row(out, {{0, -1.0}}, -(y_ref[0] + shift)), row(out, {{1, 1.0}}, y_ref[1] - shift)}};
    UnsafeTerm b{{row(out, {{2, -1.0}}, -(y2max + std::abs(shift)))}};
    const Property p = make_property(box, out, {a, b});
    InputBabOptions o;
    o.max_domains = 200'000;
    auto r = input_bab(m, p, 0, o);
    INFO("trial " << trial);
    REQUIRE(r.has_value());
    REQUIRE((r->outcome == InputBabResult::Outcome::kVerified ||
             r->outcome == InputBabResult::Outcome::kFalsified));
    check_against_samples(m, p, s, *r);
    if (shift < 0)  // the reference sample itself violates term A
      CHECK(r->outcome == InputBabResult::Outcome::kFalsified);
  }
}

TEST_CASE("input bab: results do not depend on the thread count", "[bab]") {
  std::mt19937 rng(9);
  const AttackModel m = random_mlp(rng, 4, 10, 2);
  const Perturbation box = random_box(rng, 4);
  const Samples s = sample(m, box, 1000);
  double hi = -1e300;
  for (const auto& y : s.y)
    hi = std::max(hi, y[0]);
  const Property p = make_property(box, 2, {UnsafeTerm{{row(2, {{0, -1.0}}, -(hi + 0.05))}}});
  InputBabOptions o1, o2;
  o1.threads = 1;
  o2.threads = 2;
  auto r1 = input_bab(m, p, 0, o1);
  auto r2 = input_bab(m, p, 0, o2);
  REQUIRE(r1.has_value());
  REQUIRE(r2.has_value());
  CHECK(r1->outcome == r2->outcome);
  CHECK(r1->domains == r2->domains);
  CHECK(r1->max_depth == r2->max_depth);
}

TEST_CASE("input bab: stops, limits and refused regions", "[bab]") {
  std::mt19937 rng(3);
  const AttackModel m = random_mlp(rng, 5, 16, 2);
  const Perturbation box = random_box(rng, 5);
  const Samples s = sample(m, box, 1000);
  double hi = -1e300;
  for (const auto& y : s.y)
    hi = std::max(hi, y[0]);
  const Property p = make_property(box, 2, {UnsafeTerm{{row(2, {{0, -1.0}}, -(hi + 1e-4))}}});
  SECTION("an external stop") {
    InputBabOptions o;
    int calls = 0;
    o.should_stop = [&] {
      return ++calls > 3;
    };
    auto r = input_bab(m, p, 0, o);
    REQUIRE(r.has_value());
    if (r->outcome != InputBabResult::Outcome::kFalsified &&
        r->outcome != InputBabResult::Outcome::kVerified)
      CHECK(r->outcome == InputBabResult::Outcome::kStopped);
    CHECK(r->domains <= 3 * o.batch);
  }
  SECTION("a domain limit gives unknown") {
    InputBabOptions o;
    o.max_domains = 1;
    auto r = input_bab(m, p, 0, o);
    REQUIRE(r.has_value());
    if (r->outcome == InputBabResult::Outcome::kUnknown)
      CHECK_THAT(r->message, Catch::Contains("domains"));
  }
  SECTION("balls are refused") {
    Property q = p;
    q.cases[0].input = Perturbation::ball(Perturbation::Kind::kLinf, box.lo, 0.1);
    CHECK_FALSE(input_bab(m, q, 0, {}).has_value());
  }
  SECTION("the pipeline: stop -> not_run, tiny timeout -> timeout") {
    VerifyOptions o;
    o.should_stop = [] {
      return true;
    };
    CHECK(verify_property(m, p, o).verdict == Verdict::kNotRun);
    VerifyOptions t;
    t.timeout_s = 1e-9;
    CHECK(verify_property(m, p, t).verdict == Verdict::kTimeout);
  }
}

TEST_CASE("input bab: the pipeline escalates to input BaB after alpha-CROWN", "[bab]") {
  std::mt19937 rng(17);
  int by_bab = 0;
  for (int trial = 0; trial < 6; ++trial) {
    const AttackModel m = random_mlp(rng, 3, 12, 2);
    const Perturbation box = random_box(rng, 3);
    const Samples s = sample(m, box, 2000);
    double hi = -1e300, lo = 1e300;
    for (const auto& y : s.y) {
      hi = std::max(hi, y[0] - y[1]);
      lo = std::min(lo, y[0] - y[1]);
    }
    const double eps = 1e-3 * (hi - lo);
    hi = bab_max(m, box, 2, hi, eps);
    const Property p =
        make_property(box, 2, {UnsafeTerm{{row(2, {{0, -1.0}, {1, 1.0}}, -(hi + 2 * eps))}}});
    VerifyOptions o;
    o.timeout_s = 20;
    const PropertyResult r = verify_property(m, p, o);
    INFO("trial " << trial << " " << verdict_name(r.verdict) << " " << r.message);
    REQUIRE((r.verdict == Verdict::kVerified || r.verdict == Verdict::kFalsified));
    if (r.method == "input-bab") {
      ++by_bab;
      CHECK(r.domains > 0);
      if (r.verdict == Verdict::kVerified)
        CHECK(r.regions[0].method == "input-bab");
    }
    VerifyOptions without = o;
    without.methods = {Method::kAttack, Method::kIbp, Method::kCrown, Method::kAlphaCrown};
    const PropertyResult w = verify_property(m, p, without);
    CHECK(w.domains == 0);
    if (w.verdict == Verdict::kVerified)
      CHECK(r.verdict == Verdict::kVerified);
  }
  CHECK(by_bab >= 3);
}
