// ReLU-split branch and bound (lib/verify/relu_bab.h) and the split-domain CROWN it rests on:
// split-domain bounds hold for every sampled input that satisfies the splits (CROWN, alpha-CROWN,
// beta-CROWN); BaB verdicts on random 4-8-8-2 networks with properties built barely true and
// barely false agree with an exhaustive grid search; BaB decides properties alpha-CROWN leaves
// unknown; the pipeline reports "bab" and its domain count.
#include <algorithm>
#include <cmath>
#include <optional>
#include <random>

#include <catch2/catch.hpp>

#include "tests/support/onnx_builder.h"
#include "verify/relu_bab.h"
#include "verify/verifier.h"

using namespace nncert;

namespace {

// y = W3 relu(W2 relu(W1 x + b1) + b2) + b3, weights kept (as float) for a reference forward.
struct Mlp {
  int64_t d = 4, h = 8, out = 2;
  std::vector<float> w1, b1, w2, b2, w3, b3;  // row-major [in, out]
  std::optional<AttackModel> model;

  // Pre-activations of both hidden layers and the outputs, in float64.
  void forward(const std::vector<double>& x,
               std::vector<double>& z1,
               std::vector<double>& z2,
               std::vector<double>& y) const {
    auto layer = [](const std::vector<double>& in,
                    const std::vector<float>& w,
                    const std::vector<float>& b,
                    int64_t n_out,
                    bool relu_in) {
      std::vector<double> o(static_cast<size_t>(n_out));
      for (int64_t j = 0; j < n_out; ++j) {
        double acc = b[static_cast<size_t>(j)];
        for (size_t i = 0; i < in.size(); ++i)
          acc += (relu_in ? std::max(in[i], 0.0) : in[i]) * w[i * static_cast<size_t>(n_out) + j];
        o[static_cast<size_t>(j)] = acc;
      }
      return o;
    };
    z1 = layer(x, w1, b1, h, false);
    z2 = layer(z1, w2, b2, h, true);
    y = layer(z2, w3, b3, out, true);
  }
};

Mlp random_mlp(std::mt19937& rng) {
  Mlp m;
  std::normal_distribution<double> nd(0, 1);
  auto fill = [&](std::vector<float>& v, int64_t n, double scale) {
    v.resize(static_cast<size_t>(n));
    for (auto& e : v)
      e = static_cast<float>(nd(rng) * scale);
  };
  fill(m.w1, m.d * m.h, 1.0 / std::sqrt(double(m.d)));
  fill(m.b1, m.h, 0.3);
  fill(m.w2, m.h * m.h, 1.0 / std::sqrt(double(m.h)));
  fill(m.b2, m.h, 0.3);
  fill(m.w3, m.h * m.out, 1.0 / std::sqrt(double(m.h)));
  fill(m.b3, m.out, 0.3);
  auto t = [](const std::vector<float>& v, const Shape& s) {
    return Tensor::from_vector<float>(s, v);
  };
  test::OnnxBuilder b(13);
  b.input("x", DType::kF32, {1, m.d});
  b.initializer("w1", t(m.w1, {m.d, m.h})).initializer("b1", t(m.b1, {m.h}));
  b.initializer("w2", t(m.w2, {m.h, m.h})).initializer("b2", t(m.b2, {m.h}));
  b.initializer("w3", t(m.w3, {m.h, m.out})).initializer("b3", t(m.b3, {m.out}));
  b.node("MatMul", {"x", "w1"}, {"m1"}).node("Add", {"m1", "b1"}, {"z1"});
  b.node("Relu", {"z1"}, {"a1"});
  b.node("MatMul", {"a1", "w2"}, {"m2"}).node("Add", {"m2", "b2"}, {"z2"});
  b.node("Relu", {"z2"}, {"a2"});
  b.node("MatMul", {"a2", "w3"}, {"m3"}).node("Add", {"m3", "b3"}, {"y"});
  b.output("y");
  auto loaded = b.load();
  REQUIRE(loaded.has_value());
  auto am = AttackModel::create(loaded->graph);
  REQUIRE(am.has_value());
  m.model = std::move(*am);
  return m;
}

// min over a grid (n per axis) of the box plus local refinement around the best points: an
// upper estimate of min_x c . y(x) that is close for 4 inputs.
double grid_min(const Mlp& m,
                const std::vector<double>& lo,
                const std::vector<double>& hi,
                const std::vector<double>& c,
                int n = 13) {
  std::vector<double> z1, z2, y, x(4);
  auto val = [&](const std::vector<double>& p) {
    m.forward(p, z1, z2, y);
    return c[0] * y[0] + c[1] * y[1];
  };
  double best = 1e300;
  std::vector<double> best_x(4);
  for (int i0 = 0; i0 < n; ++i0)
    for (int i1 = 0; i1 < n; ++i1)
      for (int i2 = 0; i2 < n; ++i2)
        for (int i3 = 0; i3 < n; ++i3) {
          const int ix[4] = {i0, i1, i2, i3};
          for (int k = 0; k < 4; ++k)
            x[static_cast<size_t>(k)] =
                lo[static_cast<size_t>(k)] +
                (hi[static_cast<size_t>(k)] - lo[static_cast<size_t>(k)]) * ix[k] / (n - 1);
          const double v = val(x);
          if (v < best) {
            best = v;
            best_x = x;
          }
        }
  // Coordinate search from the best grid point with shrinking steps.
  double step = (hi[0] - lo[0]) / (n - 1);
  for (int it = 0; it < 60; ++it, step *= 0.8)
    for (int k = 0; k < 4; ++k)
      for (double s : {-step, step}) {
        std::vector<double> p = best_x;
        p[static_cast<size_t>(k)] = std::clamp(
            p[static_cast<size_t>(k)] + s, lo[static_cast<size_t>(k)], hi[static_cast<size_t>(k)]);
        const double v = val(p);
        if (v < best) {
          best = v;
          best_x = p;
        }
      }
  return best;
}

// Unsafe when c . y <= rhs (one region, one term).
Property below(const std::vector<double>& lo,
               const std::vector<double>& hi,
               const std::vector<double>& c,
               double rhs) {
  Property p;
  p.name = "bab";
  p.num_inputs = 4;
  p.num_outputs = 2;
  OutputConstraint oc;
  oc.coeffs = c;
  oc.rhs = rhs;
  p.cases.push_back({Perturbation::box(lo, hi), {UnsafeTerm{{oc}}}});
  return p;
}

}  // namespace

TEST_CASE("relu bab: split-domain CROWN bounds hold inside the domain", "[bab]") {
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> u(0, 1);
  int checked_domains = 0;
  for (int net = 0; net < 6; ++net) {
    const Mlp m = random_mlp(rng);
    const Graph& g = m.model->single();
    const ValueId z1 = g.find_value("z1"), z2 = g.find_value("z2");
    REQUIRE(z1 >= 0);
    REQUIRE(z2 >= 0);
    std::vector<double> lo(4), hi(4);
    for (int k = 0; k < 4; ++k) {
      lo[static_cast<size_t>(k)] = -1 + 0.5 * u(rng);
      hi[static_cast<size_t>(k)] = lo[static_cast<size_t>(k)] + 1.0 + u(rng);
    }
    const std::vector<std::vector<double>> c = {{1, -1}, {0, 1}};
    BoundOptions bo;
    bo.dtype = DType::kF64;
    auto root = crown_bounds(g, std::vector<Perturbation>{Perturbation::box(lo, hi)}, c, bo, {});
    REQUIRE(root.has_value());
    std::vector<ReluSplit> unstable;
    for (ValueId v : {z1, z2}) {
      const Interval& b = root->intermediate[static_cast<size_t>(v)];
      for (int64_t j = 0; j < b.lo.numel(); ++j)
        if (b.lo.get(j) < 0 && b.hi.get(j) > 0)
          unstable.push_back({v, j, true});
    }
    for (int trial = 0; trial < 6 && !unstable.empty(); ++trial) {
      std::vector<ReluSplit> splits;
      for (ReluSplit s : unstable)
        if (u(rng) < 0.4) {
          s.active = u(rng) < 0.5;
          splits.push_back(s);
        }
      for (int mode = 0; mode < 3; ++mode) {
        CrownOptions co;
        co.splits = splits;
        co.alpha = mode > 0;
        co.beta = mode == 2;
        co.reuse_bounds = mode == 1 ? &root->intermediate : nullptr;
        auto r = crown_bounds(g, std::vector<Perturbation>{Perturbation::box(lo, hi)}, c, bo, co);
        REQUIRE(r.has_value());
        if (r->infeasible)
          continue;
        ++checked_domains;
        std::vector<double> z1v, z2v, y, x(4);
        int inside = 0;
        for (int s = 0; s < 3000; ++s) {
          for (int k = 0; k < 4; ++k)
            x[static_cast<size_t>(k)] =
                lo[static_cast<size_t>(k)] +
                (hi[static_cast<size_t>(k)] - lo[static_cast<size_t>(k)]) * u(rng);
          m.forward(x, z1v, z2v, y);
          bool ok = true;
          for (const ReluSplit& sp : splits) {
            const double zv = (sp.relu_input == z1 ? z1v : z2v)[static_cast<size_t>(sp.index)];
            ok = ok && (sp.active ? zv >= 0 : zv <= 0);
          }
          if (!ok)
            continue;
          ++inside;
          for (size_t row = 0; row < c.size(); ++row) {
            const double v = c[row][0] * y[0] + c[row][1] * y[1];
            CHECK(v >= r->bounds.lo.get(static_cast<int64_t>(row)) - 1e-6);
            CHECK(v <= r->bounds.hi.get(static_cast<int64_t>(row)) + 1e-6);
          }
          // Split neurons' intermediate bounds hold too.
          for (ValueId v : {z1, z2}) {
            const Interval& b = r->intermediate[static_cast<size_t>(v)];
            const auto& zz = v == z1 ? z1v : z2v;
            for (int64_t j = 0; j < b.lo.numel(); ++j) {
              CHECK(zz[static_cast<size_t>(j)] >= b.lo.get(j) - 1e-6);
              CHECK(zz[static_cast<size_t>(j)] <= b.hi.get(j) + 1e-6);
            }
          }
        }
        (void)inside;
      }
    }
  }
  CHECK(checked_domains > 20);
}

// A child domain bounded the way BaB does: alpha / beta warm-started from the parent's optimised
// parameters (CrownOptions::alpha_init), with the parent's intermediate bounds recomputed after
// the split or kept fixed. Every variant must hold for sampled inputs satisfying the splits and
// be no looser than plain CROWN under the same intermediate bounds; so must one pass at the
// parent's parameters (iterations 0, FSB's estimate), looser or not.
TEST_CASE("relu bab: warm-started and fixed-intermediate split bounds", "[bab]") {
  std::mt19937 rng(23);
  std::uniform_real_distribution<double> u(0, 1);
  int checked = 0;
  for (int net = 0; net < 6; ++net) {
    const Mlp m = random_mlp(rng);
    const Graph& g = m.model->single();
    const ValueId z1 = g.find_value("z1"), z2 = g.find_value("z2");
    std::vector<double> lo(4), hi(4);
    for (int k = 0; k < 4; ++k) {
      lo[static_cast<size_t>(k)] = -1 + 0.5 * u(rng);
      hi[static_cast<size_t>(k)] = lo[static_cast<size_t>(k)] + 1.0 + u(rng);
    }
    const std::vector<Perturbation> in = {Perturbation::box(lo, hi)};
    const std::vector<std::vector<double>> c = {{1, -1}, {0, 1}};
    BoundOptions bo;
    bo.dtype = DType::kF64;
    CrownOptions ro;
    ro.alpha = true;
    ro.lower_only = true;
    ro.keep_alpha = true;
    auto root = crown_bounds(g, in, c, bo, ro);
    REQUIRE(root.has_value());
    REQUIRE(root->alpha_state.alpha.size() == g.num_nodes());
    std::vector<ReluSplit> unstable;
    for (ValueId v : {z1, z2}) {
      const Interval& b = root->intermediate[static_cast<size_t>(v)];
      for (int64_t j = 0; j < b.lo.numel(); ++j)
        if (b.lo.get(j) < 0 && b.hi.get(j) > 0)
          unstable.push_back({v, j, u(rng) < 0.5});
    }
    if (unstable.size() < 2)
      continue;
    std::shuffle(unstable.begin(), unstable.end(), rng);
    // A parent with one split (its parameters kept), then a child with a second one.
    CrownOptions po = ro;
    po.beta = true;
    po.splits = {unstable[0]};
    po.reuse_bounds = &root->intermediate;
    po.alpha_init = &root->alpha_state;
    auto parent = crown_bounds(g, in, c, bo, po);
    REQUIRE(parent.has_value());
    if (parent->infeasible)
      continue;
    CHECK(parent->alpha_state.beta.dim(0) == 2);
    CHECK(parent->alpha_state.beta.dim(1) == 1);
    const std::vector<ReluSplit> splits = {unstable[0], unstable[1]};
    for (bool fixed : {false, true}) {
      CrownOptions plain;
      plain.lower_only = true;
      plain.splits = splits;
      plain.reuse_bounds = &parent->intermediate;
      plain.fixed_intermediate = fixed;
      auto pr = crown_bounds(g, in, c, bo, plain);
      REQUIRE(pr.has_value());
      CrownOptions wo = plain;
      wo.alpha = true;
      wo.beta = true;
      wo.alpha_init = &parent->alpha_state;
      wo.keep_alpha = true;
      auto wr = crown_bounds(g, in, c, bo, wo);
      REQUIRE(wr.has_value());
      CHECK(wr->infeasible == pr->infeasible);
      if (wr->infeasible)
        continue;
      ++checked;
      for (int64_t r = 0; r < 2; ++r)
        CHECK(wr->bounds.lo.get(r) >= pr->bounds.lo.get(r) - 1e-9);
      CHECK(wr->alpha_state.beta.dim(1) == 2);
      // One pass at the parent's parameters (FSB's estimate): sound, not optimised.
      CrownOptions eo = wo;
      eo.alpha_options.iterations = 0;
      eo.keep_alpha = false;
      auto er = crown_bounds(g, in, c, bo, eo);
      REQUIRE(er.has_value());
      // Precomputed constants and rounding magnitudes (CrownShared) change nothing.
      for (bool safe : {false, true}) {
        BoundOptions so = bo;
        so.safe_rounding = safe;
        auto sh = crown_shared(g, in, so);
        REQUIRE(sh.has_value());
        CrownOptions with = wo;
        with.shared = &*sh;
        auto a = crown_bounds(g, in, c, so, wo);
        auto b = crown_bounds(g, in, c, so, with);
        REQUIRE(a.has_value());
        REQUIRE(b.has_value());
        for (int64_t r = 0; r < 2; ++r)
          CHECK(a->bounds.lo.get(r) == b->bounds.lo.get(r));
      }
      std::vector<double> z1v, z2v, y, x(4);
      for (int s = 0; s < 3000; ++s) {
        for (int k = 0; k < 4; ++k)
          x[static_cast<size_t>(k)] =
              lo[static_cast<size_t>(k)] +
              (hi[static_cast<size_t>(k)] - lo[static_cast<size_t>(k)]) * u(rng);
        m.forward(x, z1v, z2v, y);
        bool inside = true;
        for (const ReluSplit& sp : splits) {
          const double zv = (sp.relu_input == z1 ? z1v : z2v)[static_cast<size_t>(sp.index)];
          inside = inside && (sp.active ? zv >= 0 : zv <= 0);
        }
        if (!inside)
          continue;
        for (size_t row = 0; row < c.size(); ++row) {
          const double v = c[row][0] * y[0] + c[row][1] * y[1];
          CHECK(v >= wr->bounds.lo.get(static_cast<int64_t>(row)) - 1e-6);
          CHECK(v >= pr->bounds.lo.get(static_cast<int64_t>(row)) - 1e-6);
          CHECK(v >= er->bounds.lo.get(static_cast<int64_t>(row)) - 1e-6);
        }
      }
    }
    // Parameters of another shape (one row instead of two) are ignored, not misread.
    CrownOptions one = ro;
    auto r1 = crown_bounds(g, in, {c[0]}, bo, one);
    REQUIRE(r1.has_value());
    CrownOptions mis = po;
    mis.alpha_init = &r1->alpha_state;
    auto rm = crown_bounds(g, in, c, bo, mis);
    REQUIRE(rm.has_value());
    if (!rm->infeasible)
      for (int64_t r = 0; r < 2; ++r)
        CHECK(std::isfinite(rm->bounds.lo.get(r)));
  }
  CHECK(checked >= 6);
}

TEST_CASE("relu bab: verdicts agree with an exhaustive grid on barely true/false properties",
          "[bab]") {
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> u(0, 1);
  int decided = 0, total = 0, alpha_unknown_decided = 0, verified = 0, falsified = 0;
  for (int net = 0; net < 6; ++net) {
    const Mlp m = random_mlp(rng);
    std::vector<double> lo(4), hi(4);
    for (int k = 0; k < 4; ++k) {
      lo[static_cast<size_t>(k)] = -1 + 0.5 * u(rng);
      hi[static_cast<size_t>(k)] = lo[static_cast<size_t>(k)] + 1.0 + u(rng);
    }
    const std::vector<double> c = net % 2 ? std::vector<double>{1, -1} : std::vector<double>{0, 1};
    const double mn = grid_min(m, lo, hi, c);
    const double scale = std::max(0.1, std::abs(mn));
    for (double rel : {-0.03, 0.03}) {
      // rel < 0: rhs below the minimum -> barely true; rel > 0: barely false.
      const double rhs = mn + rel * scale;
      const Property p = below(lo, hi, c, rhs);
      VerifyOptions base;
      base.methods = {Method::kIbp, Method::kCrown, Method::kAlphaCrown};
      const PropertyResult ra = verify_property(*m.model, p, base);
      VerifyOptions o = base;
      o.methods.push_back(Method::kReluBab);
      o.timeout_s = 3;
      const PropertyResult r = verify_property(*m.model, p, o);
      ++total;
      INFO("net " << net << " rel " << rel << " min " << mn << " verdict "
                  << verdict_name(r.verdict) << " domains " << r.domains << " " << r.message);
      if (rel > 0) {
        CHECK(r.verdict != Verdict::kVerified);  // the grid point violates it
      }
      if (r.verdict == Verdict::kFalsified) {
        REQUIRE(r.counterexample.has_value());
        std::vector<double> z1, z2, y;
        m.forward(r.counterexample->x, z1, z2, y);
        CHECK(c[0] * y[0] + c[1] * y[1] <= rhs + 1e-6);
        ++falsified;
      }
      if (r.verdict == Verdict::kVerified) {
        CHECK(rel < 0);
        ++verified;
      }
      if (r.verdict == Verdict::kVerified || r.verdict == Verdict::kFalsified) {
        ++decided;
        if (ra.verdict == Verdict::kUnknown)
          ++alpha_unknown_decided;
      }
      if (rel < 0)
        CHECK(r.verdict != Verdict::kFalsified);
    }
  }
  WARN("bab decided " << decided << "/" << total << " (" << verified << " verified, " << falsified
                      << " falsified); " << alpha_unknown_decided
                      << " of them alpha-CROWN left unknown");
  // Leaves without unstable neurons are LPs that beta solves only approximately (no exact leaf
  // solver here), so a few barely-true ones stay unknown; never a wrong answer.
  CHECK(decided * 3 >= total * 2);
  CHECK(alpha_unknown_decided >= 4);
}

TEST_CASE("relu bab: the loop's own verdicts, limits and beta", "[bab]") {
  std::mt19937 rng(8);
  const Mlp m = random_mlp(rng);
  const std::vector<double> lo = {-1, -1, -1, -1}, hi = {1, 1, 1, 1};
  const std::vector<double> c = {1, -1};
  const double mn = grid_min(m, lo, hi, c);
  const Property p = below(lo, hi, c, mn - 0.03 * std::max(0.1, std::abs(mn)));
  ReluBabOptions with_beta, no_beta;
  no_beta.beta = false;
  no_beta.max_domains = 400;
  auto rb = relu_bab(*m.model, p, 0, with_beta);
  auto rn = relu_bab(*m.model, p, 0, no_beta);
  REQUIRE(rb.has_value());
  REQUIRE(rn.has_value());
  CHECK(rb->outcome != ReluBabResult::Outcome::kFalsified);
  CHECK(rb->domains >= 1);
  // Without beta, leaves without unstable neurons can stay open (no LP): never a wrong answer.
  CHECK(rn->outcome != ReluBabResult::Outcome::kFalsified);
  WARN("domains with beta " << rb->domains << ", without " << rn->domains << " ("
                            << static_cast<int>(rn->outcome) << ")");
  ReluBabOptions tiny;
  tiny.max_domains = 1;
  auto rt = relu_bab(*m.model, p, 0, tiny);
  REQUIRE(rt.has_value());
  CHECK((rt->outcome == ReluBabResult::Outcome::kVerified || rt->domains <= 1));
  // A leaf solver sees open domains once they have few unstable neurons (none when every
  // domain is refuted before that).
  ReluBabOptions leaf;
  int calls = 0;
  int64_t limit = 3;
  leaf.leaf_max_unstable = limit;
  leaf.leaf_solver = [&](const LeafProblem& lp) -> Expected<LeafAnswer> {
    ++calls;
    CHECK(lp.unstable <= limit);
    return LeafAnswer{};
  };
  auto rl = relu_bab(*m.model, p, 0, leaf);
  REQUIRE(rl.has_value());
  CHECK(rl->outcome != ReluBabResult::Outcome::kFalsified);
  CHECK((calls > 0 || rl->outcome == ReluBabResult::Outcome::kVerified));
  // Every open domain goes to the solver when the threshold is high: it is called.
  ReluBabOptions all = leaf;
  all.leaf_max_unstable = limit = 1000;
  calls = 0;
  auto ra = relu_bab(*m.model, p, 0, all);
  REQUIRE(ra.has_value());
  CHECK((calls > 0 || ra->domains == 1));
}

// Every branching / warm-start / memory variant is a complete decision procedure: on barely true
// and barely false properties they may differ in effort, never in a decided verdict, and the
// memory-capped run (one open domain at most, then depth-first) still decides.
TEST_CASE("relu bab: BaBSR, FSB, inheritance, fixed bounds and the memory cap agree", "[bab]") {
  std::mt19937 rng(31);
  std::uniform_real_distribution<double> u(0, 1);
  int decided[5] = {0, 0, 0, 0, 0};
  int64_t depth_first = 0, fsb_bounds = 0;
  for (int net = 0; net < 4; ++net) {
    const Mlp m = random_mlp(rng);
    const std::vector<double> lo = {-1, -1, -1, -1}, hi = {1, 1, 1, 1};
    const std::vector<double> c = net % 2 ? std::vector<double>{1, -1} : std::vector<double>{0, 1};
    const double mn = grid_min(m, lo, hi, c);
    for (double rel : {-0.03, 0.03}) {
      const Property p = below(lo, hi, c, mn + rel * std::max(0.1, std::abs(mn)));
      std::optional<ReluBabResult::Outcome> first;
      for (int k = 0; k < 5; ++k) {
        ReluBabOptions o;
        o.timeout_s = 5;
        if (k == 1) {
          o.inherit_alpha = false;
        } else if (k == 2) {
          o.branching = ReluBabOptions::Branching::kFsb;
        } else if (k == 3) {
          o.fixed_intermediate = true;
        } else if (k == 4) {
          o.max_queue = 1;
          o.max_queue_bytes = 1;
        }
        auto r = relu_bab(*m.model, p, 0, o);
        REQUIRE(r.has_value());
        INFO("net " << net << " rel " << rel << " variant " << k << " outcome "
                    << static_cast<int>(r->outcome) << " domains " << r->domains);
        const bool dec = r->outcome == ReluBabResult::Outcome::kVerified ||
                         r->outcome == ReluBabResult::Outcome::kFalsified;
        if (rel > 0)
          CHECK(r->outcome != ReluBabResult::Outcome::kVerified);
        if (!dec)
          continue;
        ++decided[k];
        if (first)
          CHECK(*first == r->outcome);
        else
          first = r->outcome;
        if (k == 4)
          depth_first += r->depth_first;
        if (k == 2)
          fsb_bounds += r->fsb_bounds;
      }
    }
  }
  WARN("decided of 8: default " << decided[0] << ", cold " << decided[1] << ", fsb " << decided[2]
                                << ", fixed " << decided[3] << ", capped " << decided[4]
                                << "; depth-first children " << depth_first << ", FSB bounds "
                                << fsb_bounds);
  for (int k = 0; k < 5; ++k)
    CHECK(decided[k] >= 5);
  CHECK(depth_first > 0);
  CHECK(fsb_bounds > 0);
}
