// The verification pipeline (lib/verify): verdicts on the toy network with known bounds, the
// method that decides, checked counterexamples, soundness of verdicts on random networks and
// properties (a "verified" property has no sampled violation; a counterexample re-evaluates as
// unsafe), regions that are balls or several boxes, timeouts and external stops.
#include <cmath>
#include <random>

#include <catch2/catch.hpp>

#include "frontends/onnx/onnx_loader.h"
#include "passes/passes.h"
#include "tests/support/onnx_builder.h"
#include "tests/support/random_nets.h"
#include "tests/support/test_paths.h"
#include "verify/verifier.h"

using namespace nncert;

namespace {

AttackModel toy_model() {
  auto m = load_onnx(test::data_path("fixtures/toy/model.onnx"));
  REQUIRE(m.has_value());
  auto am = AttackModel::create(m->graph);
  REQUIRE(am.has_value());
  return std::move(*am);
}

Perturbation toy_box() {
  const auto c = test::read_json(test::data_path("fixtures/toy/cases.json"))["cases"][0];
  return Perturbation::box(c["x_lower"].get<std::vector<double>>(),
                           c["x_upper"].get<std::vector<double>>());
}

// One region, one term: sign * y_j <= rhs.
Property single(const Perturbation& in, int64_t n_out, int64_t j, double sign, double rhs) {
  Property p;
  p.name = "test";
  p.num_inputs = in.size();
  p.num_outputs = n_out;
  OutputConstraint oc;
  oc.coeffs.assign(static_cast<size_t>(n_out), 0.0);
  oc.coeffs[static_cast<size_t>(j)] = sign;
  oc.rhs = rhs;
  p.cases.push_back({in, {UnsafeTerm{{oc}}}});
  return p;
}

// Sampled min/max of output j over a box.
std::pair<double, double> sampled_range(const AttackModel& m,
                                        const Perturbation& box,
                                        int64_t j,
                                        int n = 4000) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> u(0, 1);
  double lo = 1e300, hi = -1e300;
  for (int k = 0; k < n; ++k) {
    std::vector<double> x(box.lo.size());
    for (size_t i = 0; i < x.size(); ++i)
      x[i] = box.lo[i] + (box.hi[i] - box.lo[i]) * u(rng);
    auto y = m.evaluate(x);
    REQUIRE(y.has_value());
    lo = std::min(lo, (*y)[static_cast<size_t>(j)]);
    hi = std::max(hi, (*y)[static_cast<size_t>(j)]);
  }
  return {lo, hi};
}

AttackModel random_mlp(std::mt19937& rng, int64_t d, int64_t h, int64_t out) {
  return test::random_relu_mlp(rng, d, h, out);
}

}  // namespace

TEST_CASE("verify: the toy network is decided by the first method that can", "[verify]") {
  const AttackModel m = toy_model();
  const Perturbation box = toy_box();
  // IBP [-6, 4], CROWN [-3, 3], alpha-CROWN [-3, 2] for the single output.
  SECTION("y >= 3.5 is unreachable: IBP cannot show it, CROWN can") {
    const PropertyResult r = verify_property(m, single(box, 1, 0, -1, -3.5), {});
    CHECK(r.verdict == Verdict::kVerified);
    CHECK(r.method == "crown");
    REQUIRE(r.regions.size() == 1);
    CHECK(r.regions[0].lower[0] == Approx(-3.0).margin(1e-9));  // lower bound of -y
  }
  SECTION("y >= 4.5 is refuted by IBP already") {
    const PropertyResult r = verify_property(m, single(box, 1, 0, -1, -4.5), {});
    CHECK(r.verdict == Verdict::kVerified);
    CHECK(r.method == "ibp");
  }
  SECTION("y >= 2.5 needs alpha-CROWN") {
    const PropertyResult r = verify_property(m, single(box, 1, 0, -1, -2.5), {});
    CHECK(r.verdict == Verdict::kVerified);
    CHECK(r.method == "alpha-crown");
    VerifyOptions o;
    o.methods = {Method::kIbp, Method::kCrown};
    const PropertyResult r2 = verify_property(m, single(box, 1, 0, -1, -2.5), o);
    CHECK(r2.verdict == Verdict::kUnknown);
    CHECK(r2.method.empty());
  }
  SECTION("a reachable value is falsified with a checked counterexample") {
    const auto [lo, hi] = sampled_range(m, box, 0);
    const PropertyResult r = verify_property(m, single(box, 1, 0, -1, -(hi - 0.05)), {});
    REQUIRE(r.verdict == Verdict::kFalsified);
    REQUIRE(r.counterexample.has_value());
    const Counterexample& ce = *r.counterexample;
    CHECK(region_contains(box, ce.x));
    auto y = m.evaluate(ce.x);
    REQUIRE(y.has_value());
    CHECK((*y)[0] == ce.y[0]);
    CHECK(ce.y[0] >= hi - 0.05);
    CHECK((r.method == "random" || r.method == "pgd"));
    (void)lo;
  }
}

TEST_CASE("verify: external stop and timeouts", "[verify]") {
  const AttackModel m = toy_model();
  const Perturbation box = toy_box();
  VerifyOptions o;
  o.should_stop = [] {
    return true;
  };
  CHECK(verify_property(m, single(box, 1, 0, -1, -2.5), o).verdict == Verdict::kNotRun);
  VerifyOptions t;
  t.timeout_s = 1e-9;
  CHECK(verify_property(m, single(box, 1, 0, -1, -2.5), t).verdict == Verdict::kTimeout);
}

TEST_CASE("verify: errors are verdicts", "[verify]") {
  const AttackModel m = toy_model();
  Property p = single(toy_box(), 1, 0, -1, -2.5);
  p.num_outputs = 3;
  p.cases[0].unsafe[0].all[0].coeffs.assign(3, 1.0);
  const PropertyResult r = verify_property(m, p, {});
  CHECK(r.verdict == Verdict::kError);
  CHECK_THAT(r.message, Catch::Contains("outputs"));
}

TEST_CASE("verify: a misclassified dataset sample is falsified by the clean point", "[verify]") {
  std::mt19937 rng(11);
  const AttackModel m = random_mlp(rng, 4, 8, 3);
  const std::vector<double> x{0.1, -0.2, 0.3, 0.05};
  auto y = m.evaluate(x);
  REQUIRE(y.has_value());
  const auto wrong = static_cast<int64_t>(std::min_element(y->begin(), y->end()) - y->begin());
  Property p;
  p.name = "sample 0";
  p.num_inputs = 4;
  p.num_outputs = 3;
  p.sample_index = 0;
  p.label = wrong;
  PropertyCase c;
  c.input = Perturbation::ball(Perturbation::Kind::kLinf, x, 0.01);
  for (int64_t j = 0; j < 3; ++j) {
    if (j == wrong)
      continue;
    OutputConstraint oc;
    oc.coeffs.assign(3, 0.0);
    oc.coeffs[static_cast<size_t>(wrong)] = 1;
    oc.coeffs[static_cast<size_t>(j)] = -1;
    c.unsafe.push_back({{oc}});
  }
  p.cases.push_back(c);
  const PropertyResult r = verify_property(m, p, {});
  CHECK(r.verdict == Verdict::kFalsified);
  CHECK(r.method == "clean");
  REQUIRE(r.counterexample.has_value());
  CHECK(r.counterexample->x == x);
}

TEST_CASE("verify: verdicts on random networks and properties are sound", "[verify]") {
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> u(0, 1);
  int verified = 0, falsified = 0, other = 0;
  for (int trial = 0; trial < 40; ++trial) {
    const int64_t d = 2 + trial % 4, out = 2 + trial % 3;
    const AttackModel m = random_mlp(rng, d, 6, out);
    // Region: a box, an L2 ball or an L1 ball (clipped), or two boxes.
    std::vector<double> center(static_cast<size_t>(d));
    for (double& v : center)
      v = u(rng) - 0.5;
    const double eps = 0.05 + 0.3 * u(rng);
    Property p;
    p.name = "random";
    p.num_inputs = d;
    p.num_outputs = out;
    std::vector<Perturbation> regions;
    const int kind = trial % 4;
    if (kind == 0 || kind == 3) {
      std::vector<double> lo(center), hi(center);
      for (size_t i = 0; i < lo.size(); ++i) {
        lo[i] -= eps;
        hi[i] += eps;
      }
      regions.push_back(Perturbation::box(lo, hi));
      if (kind == 3) {
        for (size_t i = 0; i < lo.size(); ++i) {
          lo[i] += 2 * eps;
          hi[i] += 2 * eps;
        }
        regions.push_back(Perturbation::box(lo, hi));
      }
    } else {
      std::vector<double> clo(center.size(), -0.4), chi(center.size(), 0.4);
      for (size_t i = 0; i < center.size(); ++i)
        center[i] = std::clamp(center[i], -0.4, 0.4);
      regions.push_back(Perturbation::ball(
          kind == 1 ? Perturbation::Kind::kL2 : Perturbation::Kind::kL1, center, eps, clo, chi));
    }
    // Unsafe: y_a - y_b <= t, with t near the sampled minimum so that both verdicts occur.
    const int64_t a = static_cast<int64_t>(rng() % out);
    const int64_t b = (a + 1) % out;
    auto margin = [&](const std::vector<double>& y) {
      return y[static_cast<size_t>(a)] - y[static_cast<size_t>(b)];
    };
    auto y0 = m.evaluate(regions[0].kind == Perturbation::Kind::kBox ? regions[0].lo : center);
    REQUIRE(y0.has_value());
    const double t = margin(*y0) - (u(rng) - 0.3) * 2 * eps;
    OutputConstraint oc;
    oc.coeffs.assign(static_cast<size_t>(out), 0.0);
    oc.coeffs[static_cast<size_t>(a)] = 1;
    oc.coeffs[static_cast<size_t>(b)] = -1;
    oc.rhs = t;
    for (const Perturbation& r : regions)
      p.cases.push_back({r, {UnsafeTerm{{oc}}}});
    const PropertyResult r = verify_property(m, p, {});
    INFO("trial " << trial << " verdict " << verdict_name(r.verdict) << " " << r.message);
    REQUIRE(r.verdict != Verdict::kError);
    if (r.verdict == Verdict::kFalsified) {
      ++falsified;
      REQUIRE(r.counterexample.has_value());
      const Counterexample& ce = *r.counterexample;
      CHECK(region_contains(p.cases[static_cast<size_t>(ce.case_index)].input, ce.x));
      auto y = m.evaluate(ce.x);
      REQUIRE(y.has_value());
      CHECK(margin(*y) <= t);
    } else if (r.verdict == Verdict::kVerified) {
      ++verified;
      // No sampled point of any region is unsafe.
      for (const PropertyCase& pc : p.cases)
        for (int k = 0; k < 300; ++k) {
          std::vector<double> x(static_cast<size_t>(d));
          for (size_t i = 0; i < x.size(); ++i) {
            const double lo =
                pc.input.kind == Perturbation::Kind::kBox ? pc.input.lo[i] : center[i] - eps;
            const double hi =
                pc.input.kind == Perturbation::Kind::kBox ? pc.input.hi[i] : center[i] + eps;
            x[i] = lo + (hi - lo) * u(rng);
          }
          if (!region_contains(pc.input, x))
            continue;
          auto y = m.evaluate(x);
          REQUIRE(y.has_value());
          CHECK(margin(*y) > t);
        }
    } else {
      ++other;
    }
  }
  INFO("verified " << verified << " falsified " << falsified << " other " << other);
  CHECK(verified >= 5);
  CHECK(falsified >= 5);
}
