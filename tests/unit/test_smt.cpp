// Exact SMT checks (lib/smt): the encoding agrees with the runtime on random convolutional
// graphs (input pinned to a point by linear constraints, so the big-M disjunctions are live);
// exact rational weights (a float weight's boundary is hit exactly); soundness against sampling
// and CROWN on random ReLU networks with barely true and barely false properties; fixed ReLU
// phases; timeouts, interruption and unsupported ops; the pipeline's `smt` method.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>

#include <catch2/catch.hpp>

#include "bounds/crown.h"
#include "passes/passes.h"
#include "runtime/executor.h"
#include "smt/smt.h"
#include "tests/support/onnx_builder.h"
#include "verify/verifier.h"

using namespace nncert;

namespace {

Tensor rand_t(std::mt19937& rng, const Shape& s, double lo = -1, double hi = 1) {
  std::uniform_real_distribution<double> u(lo, hi);
  Tensor t(DType::kF32, s);
  for (int64_t i = 0; i < t.numel(); ++i)
    t.set(i, u(rng));
  return t;
}

AttackModel model_of(const test::OnnxBuilder& b) {
  auto m = b.load();
  REQUIRE(m.has_value());
  auto am = AttackModel::create(m->graph);
  REQUIRE(am.has_value());
  return std::move(*am);
}

// d inputs, `layers` hidden ReLU layers of width h, `out` outputs (Gemm layers).
AttackModel random_mlp(std::mt19937& rng, int64_t d, int64_t h, int layers, int64_t out) {
  test::OnnxBuilder b(13);
  b.input("x", DType::kF32, {1, d});
  std::string prev = "x";
  int64_t width = d;
  for (int l = 0; l <= layers; ++l) {
    const int64_t next = l == layers ? out : h;
    const std::string w = "w" + std::to_string(l), bias = "b" + std::to_string(l);
    const std::string z = "z" + std::to_string(l), a = "a" + std::to_string(l);
    b.initializer(w, rand_t(rng, {width, next})).initializer(bias, rand_t(rng, {next}, -0.5, 0.5));
    b.node("Gemm", {prev, w, bias}, {l == layers ? "y" : z});
    if (l < layers)
      b.node("Relu", {z}, {a});
    prev = a;
    width = next;
  }
  b.output("y");
  return model_of(b);
}

OutputConstraint row(std::vector<double> c, double rhs, bool strict = false) {
  OutputConstraint oc;
  oc.coeffs = std::move(c);
  oc.rhs = rhs;
  oc.strict = strict;
  return oc;
}

Property one_case(int64_t n_in, int64_t n_out, PropertyCase pc) {
  Property p;
  p.name = "smt";
  p.num_inputs = n_in;
  p.num_outputs = n_out;
  p.cases.push_back(std::move(pc));
  return p;
}

Perturbation random_box(std::mt19937& rng, int64_t d, double width) {
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<double> lo(static_cast<size_t>(d)), hi(static_cast<size_t>(d));
  for (size_t i = 0; i < lo.size(); ++i) {
    lo[i] = u(rng);
    hi[i] = lo[i] + width;
  }
  return Perturbation::box(lo, hi);
}

// A convolutional graph with every op the encoding test covers; the input is [1, 2, 5, 5].
AttackModel random_cnn(std::mt19937& rng, int variant) {
  struct ConvCfg {
    int64_t group, stride, pad, dil;
  };
  static const ConvCfg kCfg[] = {
      {1, 1, 0, 1}, {2, 1, 1, 1}, {1, 2, 1, 1}, {2, 1, 1, 2}, {1, 1, 1, 2}, {2, 2, 0, 1}};
  const ConvCfg c = kCfg[variant % 6];
  const int64_t s = (5 + 2 * c.pad - c.dil * 2 - 1) / c.stride + 1;  // conv output extent
  test::OnnxBuilder b(13);
  b.input("x", DType::kF32, {1, 2, 5, 5});
  b.initializer("w1", rand_t(rng, {4, 2 / c.group, 3, 3})).initializer("b1", rand_t(rng, {4}));
  b.node("Conv", {"x", "w1", "b1"}, {"c1"})
      .attr("group", c.group)
      .attr("strides", std::vector<int64_t>{c.stride, c.stride})
      .attr("pads", std::vector<int64_t>{c.pad, c.pad, c.pad, c.pad})
      .attr("dilations", std::vector<int64_t>{c.dil, c.dil});
  b.initializer("sc", rand_t(rng, {4}, 0.5, 1.5)).initializer("bb", rand_t(rng, {4}));
  b.initializer("mu", rand_t(rng, {4})).initializer("var", rand_t(rng, {4}, 0.5, 2));
  b.node("BatchNormalization", {"c1", "sc", "bb", "mu", "var"}, {"n1"});
  b.node("Relu", {"n1"}, {"r1"});
  b.node("MaxPool", {"r1"}, {"mp"})
      .attr("kernel_shape", std::vector<int64_t>{2, 2})
      .attr("pads", std::vector<int64_t>{0, 0, 1, 1});
  b.node("AveragePool", {"r1"}, {"ap"})
      .attr("kernel_shape", std::vector<int64_t>{2, 2})
      .attr("pads", std::vector<int64_t>{0, 0, 1, 1})
      .attr("count_include_pad", static_cast<int64_t>(variant % 2));
  b.node("Concat", {"mp", "ap"}, {"cat"}).attr("axis", static_cast<int64_t>(1));
  b.initializer("off", rand_t(rng, {8, 1, 1}));
  b.node("Add", {"cat", "off"}, {"sh"});
  b.node("Flatten", {"sh"}, {"fl"});
  b.initializer("w2", rand_t(rng, {3, 8 * s * s})).initializer("b2", rand_t(rng, {3}));
  b.node("Gemm", {"fl", "w2", "b2"}, {"y"}).attr("transB", static_cast<int64_t>(1));
  b.output("y");
  return model_of(b);
}

}  // namespace

TEST_CASE("smt: float weights are exact rationals", "[smt]") {
  // y = w x on x = 1 with w = float(0.1): y >= w holds exactly, y > w and y >= next(w) do not.
  test::OnnxBuilder b(13);
  b.input("x", DType::kF32, {1, 1});
  b.initializer("w", Tensor::from_vector<float>({1, 1}, {0.1f}));
  b.node("MatMul", {"x", "w"}, {"y"});
  b.output("y");
  const AttackModel m = model_of(b);
  const double w = static_cast<double>(0.1f);
  const Perturbation box = Perturbation::box({1.0}, {1.0});
  auto run = [&](double rhs, bool strict) {
    auto r = smt_check(m.single(), {box, {UnsafeTerm{{row({-1.0}, rhs, strict)}}}}, {});
    REQUIRE(r.has_value());
    return r->answer;
  };
  CHECK(run(-w, false) == SmtResult::Answer::kSat);
  CHECK(run(-w, true) == SmtResult::Answer::kUnsat);
  CHECK(run(-std::nextafter(w, 1.0), false) == SmtResult::Answer::kUnsat);
}

TEST_CASE("smt: the encoding equals the runtime (Conv, BatchNorm, pools, Concat, Gemm)", "[smt]") {
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> u(-1, 1);
  const double kRadius = 0.05;
  for (int variant = 0; variant < 12; ++variant) {
    INFO("variant " << variant);
    const AttackModel m = random_cnn(rng, variant);
    const int64_t n = m.num_inputs(), k = m.num_outputs();
    std::vector<double> x(static_cast<size_t>(n));
    for (double& v : x)
      v = std::ldexp(std::round(std::ldexp(u(rng), 10)), -10);  // dyadic: exact in float64
    auto y = m.evaluate(x);
    REQUIRE(y.has_value());
    // The box [-1, 1]^n keeps IBP loose (unstable ReLUs, live MaxPool disjunctions); linear
    // constraints pin x to the point. Unsafe: some output outside y_j +- 1e-9.
    std::vector<double> lo = x, hi = x;
    for (size_t i = 0; i < x.size(); ++i) {
      lo[i] -= kRadius;
      hi[i] += kRadius;
    }
    Perturbation region = Perturbation::box(lo, hi);
    for (size_t i = 0; i < x.size(); ++i) {
      std::vector<double> e(x.size(), 0.0);
      e[i] = 1;
      region.constraints.g.push_back(e);
      region.constraints.h.push_back(x[i]);
      e[i] = -1;
      region.constraints.g.push_back(e);
      region.constraints.h.push_back(-x[i]);
    }
    PropertyCase pc{region, {}};
    for (int64_t j = 0; j < k; ++j) {
      std::vector<double> c(static_cast<size_t>(k), 0.0);
      c[static_cast<size_t>(j)] = 1;
      const double yj = (*y)[static_cast<size_t>(j)];
      pc.unsafe.push_back({{row(c, yj - 1e-9)}});
      c[static_cast<size_t>(j)] = -1;
      pc.unsafe.push_back({{row(c, -(yj + 1e-9))}});
    }
    SmtOptions so;
    so.timeout_s = 20;
    auto r = smt_check(m.single(), pc, so);
    REQUIRE(r.has_value());
    CHECK(r->unsafe_neurons > 0);
    CHECK(r->answer == SmtResult::Answer::kUnsat);
  }
}

TEST_CASE("smt: sound against sampling and CROWN on random ReLU networks", "[smt]") {
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> u(0, 1);
  int sat = 0, unsat = 0, barely_false = 0, unknown = 0;
  for (int net = 0; net < 40; ++net) {
    const int64_t d = 2 + net % 3, out = 2;
    const AttackModel m = random_mlp(rng, d, 4 + net % 4, 1 + net % 2, out);
    const Perturbation box = random_box(rng, d, 0.3 + u(rng));
    const std::vector<double> c = {1.0, -1.0};  // margin y0 - y1
    // Sampled minimum of the margin, and a point attaining it.
    // One batched float64 run over 256 uniform points.
    const int64_t kSamples = 256;
    Graph gb = m.single();
    gb.value(gb.inputs()[0]).shape = {-1, d};
    REQUIRE(specialize_inputs(gb, {{kSamples, d}}).is_ok());
    auto ex = Executor::create(gb, {DType::kF64, 1});
    REQUIRE(ex.has_value());
    std::vector<double> xs(static_cast<size_t>(kSamples * d));
    for (size_t i = 0; i < xs.size(); ++i)
      xs[i] = box.lo[i % static_cast<size_t>(d)] +
              (box.hi[i % static_cast<size_t>(d)] - box.lo[i % static_cast<size_t>(d)]) * u(rng);
    auto ys = ex->run({Tensor::from_vector<double>({kSamples, d}, xs)});
    REQUIRE(ys.has_value());
    double best = INFINITY;
    for (int64_t s = 0; s < kSamples; ++s)
      best = std::min(best, (*ys)[0].get(2 * s) - (*ys)[0].get(2 * s + 1));
    // Unsafe: margin <= t, for t barely below, barely above the sampled minimum, and far below.
    for (double t : {best - 1e-4, best + 1e-7, best - 0.05}) {
      const Property p = one_case(d, out, {box, {UnsafeTerm{{row(c, t)}}}});
      auto r = smt_check(m.single(), p.cases[0], {});
      REQUIRE(r.has_value());
      INFO("net " << net << " t - best " << t - best);
      if (r->answer == SmtResult::Answer::kUnknown) {
        ++unknown;  // a boundary model that did not re-check in float64
        continue;
      }
      if (r->answer == SmtResult::Answer::kSat) {
        ++sat;
        auto ce = check_counterexample(m, p, 0, r->x);
        REQUIRE(ce.has_value());
        CHECK(ce->has_value());
      } else {
        ++unsat;
        CHECK(t < best);  // a sampled point violates margin <= t otherwise
        if (t > best - 1e-3)
          ++barely_false;  // proved although sampling came within 1e-4
      }
      // Where CROWN verifies, Z3 must not find a counterexample.
      BoundOptions bo;
      bo.safe_rounding = true;
      auto cr = crown_bounds(m.single(), std::vector<Perturbation>{box}, {c}, bo, {});
      REQUIRE(cr.has_value());
      if (cr->bounds.lo.get(0) > t)
        CHECK(r->answer == SmtResult::Answer::kUnsat);
    }
  }
  INFO("sat " << sat << " unsat " << unsat << " unknown " << unknown);
  CHECK(unknown <= 3);
  CHECK(sat > 40);
  CHECK(unsat > 10);
  CHECK(barely_false > 0);
}

TEST_CASE("smt: fixed ReLU phases split the problem", "[smt]") {
  std::mt19937 rng(8);
  int checked = 0;
  for (int net = 0; net < 16; ++net) {
    const AttackModel m = random_mlp(rng, 3, 6, 1, 2);
    const Perturbation box = random_box(rng, 3, 1.0);
    const Graph& g = m.single();
    // The first ReLU's input value and its interval; pick an unstable neuron.
    ValueId relu_in = kNoValue;
    for (const Node& n : g.nodes())
      if (n.op == "Relu") {
        relu_in = n.inputs[0];
        break;
      }
    REQUIRE(relu_in != kNoValue);
    auto ib = enclosing_box(box, g.value(g.inputs()[0]).shape);
    REQUIRE(ib.has_value());
    BoundOptions bo;
    bo.safe_rounding = true;
    auto all = ibp_all(g, {*ib}, bo);
    REQUIRE(all.has_value());
    int64_t k = -1;
    for (int64_t i = 0; i < (*all)[static_cast<size_t>(relu_in)].lo.numel(); ++i)
      if ((*all)[static_cast<size_t>(relu_in)].lo.get(i) < 0 &&
          (*all)[static_cast<size_t>(relu_in)].hi.get(i) > 0)
        k = i;
    if (k < 0)
      continue;
    for (double t : {-0.5, 0.0, 0.5}) {
      const PropertyCase pc{box, {UnsafeTerm{{row({1.0, -1.0}, t)}}}};
      SmtOptions whole, on, off;
      on.active = {{relu_in, k}};
      off.inactive = {{relu_in, k}};
      auto rw = smt_check(g, pc, whole), ron = smt_check(g, pc, on), roff = smt_check(g, pc, off);
      REQUIRE((rw && ron && roff));
      const bool leaf_sat =
          ron->answer == SmtResult::Answer::kSat || roff->answer == SmtResult::Answer::kSat;
      CHECK((rw->answer == SmtResult::Answer::kSat) == leaf_sat);
      CHECK(ron->unsafe_neurons < rw->unsafe_neurons);
      ++checked;
    }
    SmtOptions both;
    both.active = {{relu_in, k}};
    both.inactive = {{relu_in, k}};
    auto rb = smt_check(g, {box, {UnsafeTerm{}}}, both);
    REQUIRE(rb.has_value());
    CHECK(rb->answer == SmtResult::Answer::kUnsat);  // contradictory phases: an empty leaf
  }
  CHECK(checked > 10);
}

TEST_CASE("smt: timeouts and interruption give unknown", "[smt]") {
  std::mt19937 rng(3);
  const AttackModel m = random_mlp(rng, 5, 24, 3, 2);
  const Perturbation box =
      Perturbation::box(std::vector<double>(5, -1.0), std::vector<double>(5, 1.0));
  // A wide box and many unstable ReLUs: not decided within 50 ms.
  const PropertyCase pc{box, {UnsafeTerm{{row({1.0, -1.0}, -3.0)}}}};
  SmtOptions o;
  o.timeout_s = 0.05;
  const auto t0 = std::chrono::steady_clock::now();
  auto r = smt_check(m.single(), pc, o);
  REQUIRE(r.has_value());
  CHECK(r->answer != SmtResult::Answer::kSat);
  CHECK(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < 5);
  SmtOptions stop;
  stop.should_stop = [] {
    return true;
  };
  auto rs = smt_check(m.single(), pc, stop);
  REQUIRE(rs.has_value());
  CHECK(rs->answer == SmtResult::Answer::kUnknown);
  SmtOptions bad;
  bad.timeout_s = -1;
  CHECK(smt_check(m.single(), pc, bad).status().code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("smt: unsupported ops and L2 balls are refused", "[smt]") {
  test::OnnxBuilder b(13);
  b.input("x", DType::kF32, {1, 2});
  b.node("Sigmoid", {"x"}, {"y"}, "squash");
  b.output("y");
  const AttackModel m = model_of(b);
  const Perturbation box = Perturbation::box({0.0, 0.0}, {1.0, 1.0});
  auto r = smt_check(m.single(), {box, {UnsafeTerm{{row({1.0, 0.0}, 0.0)}}}}, {});
  REQUIRE_FALSE(r.has_value());
  CHECK(r.status().code() == ErrorCode::kUnsupported);
  CHECK(r.status().message().find("squash") != std::string::npos);
  std::mt19937 rng(1);
  const AttackModel mlp = random_mlp(rng, 2, 3, 1, 2);
  const Perturbation l2 = Perturbation::ball(Perturbation::Kind::kL2, {0.0, 0.0}, 0.1);
  CHECK(smt_check(mlp.single(), {l2, {UnsafeTerm{{row({1.0, 0.0}, 0.0)}}}}, {}).status().code() ==
        ErrorCode::kUnsupported);
  // L1 and Linf balls are exact: the margin at the sampled optimum is found.
  const Perturbation l1 = Perturbation::ball(Perturbation::Kind::kL1, {0.2, -0.1}, 0.3);
  auto r1 = smt_check(mlp.single(), {l1, {UnsafeTerm{}}}, {});
  REQUIRE(r1.has_value());
  CHECK(r1->answer == SmtResult::Answer::kSat);
}

TEST_CASE("smt: the pipeline's smt method decides both ways", "[smt]") {
  std::mt19937 rng(21);
  int verified = 0, falsified = 0;
  for (int net = 0; net < 20; ++net) {
    const AttackModel m = random_mlp(rng, 3, 6, 2, 2);
    const Perturbation box = random_box(rng, 3, 0.5);
    for (double t : {-5.0, 0.0}) {
      const Property p = one_case(3, 2, {box, {UnsafeTerm{{row({1.0, -1.0}, t)}}}});
      VerifyOptions o;
      o.methods = {Method::kSmt};
      o.timeout_s = 20;
      const PropertyResult r = verify_property(m, p, o);
      INFO(r.message);
      REQUIRE((r.verdict == Verdict::kVerified || r.verdict == Verdict::kFalsified));
      CHECK(r.method == "smt");
      if (r.verdict == Verdict::kFalsified) {
        ++falsified;
        REQUIRE(r.counterexample.has_value());
        CHECK(std::string(r.counterexample->found_by) == "smt");
      } else {
        ++verified;
      }
    }
  }
  CHECK(verified > 0);
  CHECK(falsified > 0);
}

// Not run by default (`nncert_tests "[smt-bench]"`): unsat proof time against the number of
// unstable ReLUs (after CROWN's intermediate bounds) on random 3-input networks, for docs/smt.md.
TEST_CASE("smt: proof time against unstable ReLUs", "[.][smt-bench]") {
  std::mt19937 rng(99);
  std::uniform_real_distribution<double> u(0, 1);
  const int kBuckets[] = {5, 10, 15, 20, 25};
  std::vector<std::vector<double>> times(5);
  std::vector<int> unknowns(5, 0);
  for (int trial = 0; trial < 400; ++trial) {
    bool full = true;
    for (const auto& t : times)
      full = full && t.size() >= 3;
    if (full)
      break;
    const int64_t h = 6 + trial % 10;
    const AttackModel m = random_mlp(rng, 3, h, 2, 2);
    const Perturbation box = random_box(rng, 3, 0.2 + 1.5 * u(rng));
    double best = INFINITY;
    for (int s = 0; s < 500; ++s) {
      std::vector<double> x(3);
      for (size_t i = 0; i < 3; ++i)
        x[i] = box.lo[i] + (box.hi[i] - box.lo[i]) * u(rng);
      auto y = m.evaluate(x);
      REQUIRE(y.has_value());
      best = std::min(best, (*y)[0] - (*y)[1]);
    }
    BoundOptions bo;
    bo.safe_rounding = true;
    CrownOptions co;
    co.lower_only = true;
    auto cr = crown_bounds(m.single(), std::vector<Perturbation>{box}, {{1.0, -1.0}}, bo, co);
    REQUIRE(cr.has_value());
    const double t = best - 0.01 * (1 + std::fabs(best));
    if (cr->bounds.lo.get(0) > t)
      continue;  // CROWN alone proves it
    SmtOptions o;
    o.bounds = &cr->intermediate;
    o.timeout_s = 20;
    auto r = smt_check(m.single(), {box, {UnsafeTerm{{row({1.0, -1.0}, t)}}}}, o);
    REQUIRE(r.has_value());
    std::printf("unstable %lld answer %s seconds %.3f\n",
                static_cast<long long>(r->unsafe_neurons),
                smt_answer_name(r->answer),
                r->seconds);
    std::fflush(stdout);
    for (size_t b = 0; b < 5; ++b)
      if (std::abs(r->unsafe_neurons - kBuckets[b]) <= 1 && times[b].size() < 3) {
        if (r->answer == SmtResult::Answer::kUnsat)
          times[b].push_back(r->seconds);
        else if (r->answer == SmtResult::Answer::kUnknown)
          ++unknowns[b];
      }
  }
  for (size_t b = 0; b < 5; ++b) {
    std::sort(times[b].begin(), times[b].end());
    std::string line = std::to_string(kBuckets[b]) + " unstable:";
    for (double s : times[b])
      line += " " + std::to_string(s);
    line += "  timeouts " + std::to_string(unknowns[b]);
    WARN(line);
  }
}

// BaB (input splits for these low-dimensional nets, ReLU splits forced explicitly) and Z3 are
// independent deciders: wherever both decide, they must agree. Thresholds are put right at the
// sampled extreme of a margin (a little above: barely false; a little below the certified bound:
// barely true) so that neither side can decide by a wide margin. ReLU BaB takes its variants in
// turn, one per property: the defaults (BaBSR, alpha / beta inherited), FSB, fixed intermediate
// bounds, a memory cap of one open domain (depth-first), no inheritance.
namespace {

ReluBabOptions relu_bab_variant(int k) {
  ReluBabOptions o;
  switch (k % 5) {
    case 1:
      o.branching = ReluBabOptions::Branching::kFsb;
      break;
    case 2:
      o.fixed_intermediate = true;
      break;
    case 3:
      o.max_queue = 1;
      break;
    case 4:
      o.inherit_alpha = false;
      break;
    default:
      break;
  }
  return o;
}

void bab_vs_z3(int nets) {
  std::mt19937 rng(2027);
  std::uniform_real_distribution<double> u(0, 1);
  int both = 0, agree = 0, bab_decided = 0, smt_decided = 0, total = 0;
  for (int net = 0; net < nets; ++net) {
    const int64_t d = 2 + net % 3;
    const AttackModel m = random_mlp(rng, d, 6, 2, 2);
    std::vector<double> lo(static_cast<size_t>(d)), hi(static_cast<size_t>(d));
    for (int64_t i = 0; i < d; ++i) {
      lo[static_cast<size_t>(i)] = -1 + 0.5 * u(rng);
      hi[static_cast<size_t>(i)] = lo[static_cast<size_t>(i)] + 0.5 + u(rng);
    }
    // The sampled minimum of y0 - y1 over the box.
    double mn = 1e300;
    for (int k = 0; k < 3000; ++k) {
      std::vector<double> x(static_cast<size_t>(d));
      for (int64_t i = 0; i < d; ++i)
        x[static_cast<size_t>(i)] =
            lo[static_cast<size_t>(i)] +
            (hi[static_cast<size_t>(i)] - lo[static_cast<size_t>(i)]) * u(rng);
      auto y = m.evaluate(x);
      REQUIRE(y.has_value());
      mn = std::min(mn, (*y)[0] - (*y)[1]);
    }
    for (double rel : {-0.05, -0.01, 0.002, 0.02}) {
      // Unsafe: y0 - y1 <= rhs. rel > 0: above the sampled minimum, so false (a point exists);
      // rel < 0: below it, true or false depending on the exact minimum.
      const double rhs = mn + rel * std::max(0.1, std::abs(mn));
      Property p;
      p.name = "cross";
      p.num_inputs = d;
      p.num_outputs = 2;
      OutputConstraint oc;
      oc.coeffs = {1, -1};
      oc.rhs = rhs;
      p.cases.push_back({Perturbation::box(lo, hi), {UnsafeTerm{{oc}}}});
      ++total;
      SmtOptions so;
      so.timeout_s = 10;
      auto s = smt_check(m.single(), p.cases[0], so);
      REQUIRE(s.has_value());
      for (Method bab : {Method::kInputBab, Method::kReluBab}) {
        VerifyOptions o;
        o.methods = {Method::kAttack, Method::kCrown, bab};
        o.timeout_s = 4;
        o.smt_leaves = false;  // independent of Z3
        o.relu_bab = relu_bab_variant(total);
        const PropertyResult r = verify_property(m, p, o);
        const bool bd = r.verdict == Verdict::kVerified || r.verdict == Verdict::kFalsified;
        const bool sd = s->answer != SmtResult::Answer::kUnknown;
        bab_decided += bd;
        smt_decided += sd;
        INFO("net " << net << " rel " << rel << " bab " << method_name(bab) << " variant "
                    << total % 5 << " verdict " << verdict_name(r.verdict) << " smt "
                    << smt_answer_name(s->answer));
        if (rel > 0)
          CHECK(r.verdict != Verdict::kVerified);
        if (bd && sd) {
          ++both;
          const bool same =
              (r.verdict == Verdict::kVerified) == (s->answer == SmtResult::Answer::kUnsat);
          CHECK(same);
          agree += same;
        }
      }
    }
  }
  WARN("BaB vs Z3: " << total << " properties x 2 BaB kinds; BaB decided " << bab_decided
                     << ", Z3 decided " << smt_decided << ", both " << both << ", agree " << agree);
  CHECK(both >= total);  // most properties are decided by both kinds of BaB and by Z3
}

}  // namespace

TEST_CASE("smt: BaB verdicts equal Z3's on random properties, barely true and barely false",
          "[smt][bab]") {
  bab_vs_z3(4);  // 16 properties x 2 kinds of BaB
}

// The same over 240 properties (480 comparisons; about 10 min): nncert_tests "[long]".
TEST_CASE("smt: BaB vs Z3, 240 random properties", "[.][long][smt][bab]") {
  bab_vs_z3(60);
}
