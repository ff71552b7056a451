// Perturbation sets (lib/bounds/perturbation.h): soundness of concretize against thousands of
// points sampled in every kind of set (surfaces included), exactness where it is exact (the
// returned point lies in the set and attains the bound), the Lagrangian dual bound for linear
// constraints against the exact LP optimum from Z3's Optimize, emptiness, the enclosing box, and
// the JSON reader's errors.
#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <z3++.h>

#include "bounds/perturbation.h"
#include "bounds/perturbation_json.h"

using namespace nncert;
using Kind = Perturbation::Kind;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

using Rng = std::mt19937_64;

double unif(Rng& rng, double lo, double hi) {
  return std::uniform_real_distribution<double>(lo, hi)(rng);
}

// A dyadic number k / 16, k in [lo*16, hi*16]: exact in float64 and as a Z3 rational.
double dyadic(Rng& rng, double lo, double hi) {
  const auto k = std::uniform_int_distribution<int>(static_cast<int>(std::ceil(lo * 16)),
                                                    static_cast<int>(std::floor(hi * 16)))(rng);
  return k / 16.0;
}

std::vector<double> random_vec(Rng& rng, int64_t n, double lo, double hi) {
  std::vector<double> v(static_cast<size_t>(n));
  for (auto& x : v)
    x = unif(rng, lo, hi);
  return v;
}

double dot(const double* a, const std::vector<double>& x) {
  double s = 0;
  for (size_t j = 0; j < x.size(); ++j)
    s += a[j] * x[j];
  return s;
}

double norm_p(const std::vector<double>& x, const std::vector<double>& c, Kind kind) {
  double s = 0;
  for (size_t j = 0; j < x.size(); ++j) {
    const double d = std::abs(x[j] - c[j]);
    if (kind == Kind::kLinf)
      s = std::max(s, d);
    else if (kind == Kind::kL2)
      s += d * d;
    else
      s += d;
  }
  return kind == Kind::kL2 ? std::sqrt(s) : s;
}

// Is x in the set (relative tolerance tol on each defining inequality)?
bool in_set(const Perturbation& p, const std::vector<double>& x, double tol) {
  const size_t n = x.size();
  if (p.kind == Kind::kBox || p.has_clip())
    for (size_t j = 0; j < n; ++j)
      if (x[j] < p.lo[j] - tol * (1 + std::abs(p.lo[j])) ||
          x[j] > p.hi[j] + tol * (1 + std::abs(p.hi[j])))
        return false;
  if (p.kind != Kind::kBox && norm_p(x, p.center, p.kind) > p.eps + tol * (1 + p.eps))
    return false;
  for (size_t i = 0; i < p.constraints.g.size(); ++i)
    if (dot(p.constraints.g[i].data(), x) >
        p.constraints.h[i] + tol * (1 + std::abs(p.constraints.h[i])))
      return false;
  return true;
}

// A point of the set without constraints: inside, or on the surface of the ball when `surface`.
std::vector<double> sample_base(const Perturbation& p, Rng& rng, bool surface) {
  const auto n = static_cast<size_t>(p.size());
  std::vector<double> x(n);
  if (p.kind == Kind::kBox) {
    for (size_t j = 0; j < n; ++j)
      x[j] = surface ? (rng() % 2 ? p.lo[j] : p.hi[j]) : unif(rng, p.lo[j], p.hi[j]);
    return x;
  }
  std::normal_distribution<double> gauss;
  std::exponential_distribution<double> expo;
  const double shrink = surface ? 1.0 : std::pow(unif(rng, 0, 1), 1.0 / static_cast<double>(n));
  if (p.kind == Kind::kLinf) {
    for (size_t j = 0; j < n; ++j)
      x[j] = p.center[j] + (surface ? (rng() % 2 ? p.eps : -p.eps) : unif(rng, -p.eps, p.eps));
  } else if (p.kind == Kind::kL2) {
    double s = 0;
    for (auto& v : x) {
      v = gauss(rng);
      s += v * v;
    }
    s = std::sqrt(s);
    for (size_t j = 0; j < n; ++j)
      x[j] = p.center[j] + p.eps * shrink * x[j] / s;
  } else {
    // Uniform on the L1 sphere: Dirichlet(1, ..., 1) weights with random signs.
    double s = 0;
    for (auto& v : x) {
      v = expo(rng);
      s += v;
    }
    for (size_t j = 0; j < n; ++j)
      x[j] = p.center[j] + (rng() % 2 ? 1 : -1) * p.eps * shrink * x[j] / s;
  }
  if (p.has_clip()) {
    // The centre lies in the clip box in the sampled instances, so clamping (the projection onto
    // the box) keeps the point in the ball.
    for (size_t j = 0; j < n; ++j)
      x[j] = std::min(std::max(x[j], p.lo[j]), p.hi[j]);
  }
  return x;
}

Perturbation random_set(Kind kind, int64_t n, bool clip, Rng& rng) {
  if (kind == Kind::kBox) {
    auto lo = random_vec(rng, n, -2, 1);
    auto hi = lo;
    for (auto& v : hi)
      v += unif(rng, 0, 2);
    return Perturbation::box(lo, hi);
  }
  auto c = random_vec(rng, n, -1, 1);
  const double eps = unif(rng, 0.1, 1.5);
  if (!clip)
    return Perturbation::ball(kind, c, eps);
  std::vector<double> lo(c.size()), hi(c.size());
  for (size_t j = 0; j < c.size(); ++j) {
    lo[j] = c[j] - unif(rng, 0, eps);  // tight enough to cut the ball
    hi[j] = c[j] + unif(rng, 0, eps);
  }
  return Perturbation::ball(kind, c, eps, lo, hi);
}

double row_scale(const double* a, const Perturbation& p) {
  double s = 0, m = 1;
  for (int64_t j = 0; j < p.size(); ++j)
    s += std::abs(a[j]);
  for (double v : p.center)
    m = std::max(m, std::abs(v) + p.eps);
  for (double v : p.lo)
    m = std::max(m, std::abs(v));
  for (double v : p.hi)
    m = std::max(m, std::abs(v));
  return s * m;
}

// Sound for sampled points; exact with attained argopt.
void check_kind(Kind kind, bool clip, int64_t n, uint64_t seed) {
  Rng rng(seed);
  const Perturbation p = random_set(kind, n, clip, rng);
  REQUIRE(p.validate(n).is_ok());
  const int64_t s = 6;
  auto a = random_vec(rng, s * n, -2, 2);
  for (int64_t j = 0; j < n; ++j)
    a[static_cast<size_t>(n + j)] = 0;  // a zero row
  a[static_cast<size_t>(2 * n)] = 0;    // a row with zeros
  std::vector<double> lo(s), hi(s), alo(static_cast<size_t>(s * n)), ahi(alo.size());
  REQUIRE(concretize(p, a.data(), s, n, true, lo.data(), alo.data()).is_ok());
  REQUIRE(concretize(p, a.data(), s, n, false, hi.data(), ahi.data()).is_ok());
  for (int64_t r = 0; r < s; ++r) {
    INFO(perturbation_kind_name(kind) << (clip ? " clipped" : "") << " n=" << n << " row " << r);
    const double* ar = a.data() + r * n;
    const double tol = 1e-12 * std::max(1.0, row_scale(ar, p));
    CHECK(lo[r] <= hi[r] + tol);
    // Exactness: the point lies in the set and attains the bound.
    std::vector<double> xl(alo.begin() + r * n, alo.begin() + (r + 1) * n);
    std::vector<double> xh(ahi.begin() + r * n, ahi.begin() + (r + 1) * n);
    CHECK(in_set(p, xl, 1e-12));
    CHECK(in_set(p, xh, 1e-12));
    CHECK(std::abs(dot(ar, xl) - lo[r]) <= tol);
    CHECK(std::abs(dot(ar, xh) - hi[r]) <= tol);
  }
  // Soundness over sampled points, half of them on the surface.
  for (int k = 0; k < 4000; ++k) {
    const auto x = sample_base(p, rng, k % 2 == 0);
    REQUIRE(in_set(p, x, 1e-12));
    for (int64_t r = 0; r < s; ++r) {
      const double* ar = a.data() + r * n;
      const double v = dot(ar, x);
      const double tol = 1e-12 * std::max(1.0, row_scale(ar, p));
      CHECK(v >= lo[r] - tol);
      CHECK(v <= hi[r] + tol);
    }
  }
  // The enclosing box holds every sample and is exact per coordinate (= concretize on e_j).
  auto box = enclosing_box(p, {n});
  REQUIRE(box.has_value());
  std::vector<double> eye(static_cast<size_t>(n * n), 0.0), elo(static_cast<size_t>(n)),
      ehi(static_cast<size_t>(n));
  for (int64_t j = 0; j < n; ++j)
    eye[static_cast<size_t>(j * n + j)] = 1;
  REQUIRE(concretize(p, eye.data(), n, n, true, elo.data()).is_ok());
  REQUIRE(concretize(p, eye.data(), n, n, false, ehi.data()).is_ok());
  for (int64_t j = 0; j < n; ++j) {
    CHECK(box->lo.get(j) == Approx(elo[static_cast<size_t>(j)]).margin(1e-12));
    CHECK(box->hi.get(j) == Approx(ehi[static_cast<size_t>(j)]).margin(1e-12));
  }
}

// ---- Z3: exact LP optimum of min/max a.x over a linear set (box, Linf, L1 ∩ clip) ∩ G x <= h --

z3::expr q(z3::context& ctx, double v) {
  // v is dyadic (k / 16): exact.
  return ctx.real_val(static_cast<int>(std::lround(v * 16)), 16);
}

// std::nullopt-like: returns false when infeasible.
bool z3_optimum(const Perturbation& p, const std::vector<double>& a, bool lower, double& out) {
  z3::context ctx;
  z3::optimize opt(ctx);
  const auto n = static_cast<size_t>(p.size());
  std::vector<z3::expr> x, t;
  for (size_t j = 0; j < n; ++j)
    x.push_back(ctx.real_const(("x" + std::to_string(j)).c_str()));
  if (p.kind == Kind::kBox || p.has_clip())
    for (size_t j = 0; j < n; ++j) {
      opt.add(x[j] >= q(ctx, p.lo[j]));
      opt.add(x[j] <= q(ctx, p.hi[j]));
    }
  if (p.kind == Kind::kLinf)
    for (size_t j = 0; j < n; ++j) {
      opt.add(x[j] >= q(ctx, p.center[j]) - q(ctx, p.eps));
      opt.add(x[j] <= q(ctx, p.center[j]) + q(ctx, p.eps));
    }
  if (p.kind == Kind::kL1) {
    z3::expr sum = ctx.real_val(0);
    for (size_t j = 0; j < n; ++j) {
      t.push_back(ctx.real_const(("t" + std::to_string(j)).c_str()));
      opt.add(t[j] >= x[j] - q(ctx, p.center[j]));
      opt.add(t[j] >= q(ctx, p.center[j]) - x[j]);
      sum = sum + t[j];
    }
    opt.add(sum <= q(ctx, p.eps));
  }
  for (size_t i = 0; i < p.constraints.g.size(); ++i) {
    z3::expr row = ctx.real_val(0);
    for (size_t j = 0; j < n; ++j)
      row = row + q(ctx, p.constraints.g[i][j]) * x[j];
    opt.add(row <= q(ctx, p.constraints.h[i]));
  }
  z3::expr obj = ctx.real_val(0);
  for (size_t j = 0; j < n; ++j)
    obj = obj + q(ctx, a[j]) * x[j];
  if (lower)
    opt.minimize(obj);
  else
    opt.maximize(obj);
  const z3::check_result r = opt.check();
  REQUIRE(r != z3::unknown);
  if (r == z3::unsat)
    return false;
  out = opt.get_model().eval(obj, true).as_double();
  return true;
}

// A small instance with dyadic data: a base set and m constraints satisfied by a random point of
// the base set (so the set is not empty), some of them cutting.
Perturbation dyadic_instance(Kind kind, int64_t n, int64_t m, Rng& rng) {
  Perturbation p;
  const auto un = static_cast<size_t>(n);
  if (kind == Kind::kBox) {
    std::vector<double> lo(un), hi(un);
    for (size_t j = 0; j < un; ++j) {
      lo[j] = dyadic(rng, -2, 0);
      hi[j] = lo[j] + dyadic(rng, 0.25, 2);
    }
    p = Perturbation::box(lo, hi);
  } else {
    std::vector<double> c(un), lo, hi;
    for (auto& v : c)
      v = dyadic(rng, -1, 1);
    const double eps = dyadic(rng, 0.25, 1.5);
    if (rng() % 2) {
      lo.resize(un);
      hi.resize(un);
      for (size_t j = 0; j < un; ++j) {
        lo[j] = c[j] - dyadic(rng, 0, eps);
        hi[j] = c[j] + dyadic(rng, 0, eps);
      }
    }
    p = Perturbation::ball(kind, c, eps, lo, hi);
  }
  const auto x0 = sample_base(p, rng, false);
  for (int64_t i = 0; i < m; ++i) {
    std::vector<double> g(un);
    for (auto& v : g)
      v = dyadic(rng, -2, 2);
    // h slightly above g.x0: x0 stays feasible, the constraint usually cuts the set.
    p.constraints.g.push_back(g);
    p.constraints.h.push_back(std::ceil((dot(g.data(), x0) + 0.0625) * 16) / 16);
  }
  return p;
}

}  // namespace

TEST_CASE("perturbation: box and balls are sound and exact, argopt attains the bound",
          "[perturbation]") {
  uint64_t seed = 1;
  for (Kind kind : {Kind::kBox, Kind::kLinf, Kind::kL2, Kind::kL1})
    for (bool clip : {false, true}) {
      if (kind == Kind::kBox && clip)
        continue;
      for (int64_t n : {1, 2, 5, 17, 64})
        check_kind(kind, clip, n, seed++);
    }
}

TEST_CASE("perturbation: closed forms (dual norms)", "[perturbation]") {
  const std::vector<double> c{1, -2, 0.5};
  const std::vector<double> a{3, -4, 0};
  double v = 0;
  std::vector<double> x(3);
  // L2: a.c -/+ eps ||a||_2 = 11 -/+ 0.5 * 5
  auto l2 = Perturbation::ball(Kind::kL2, c, 0.5);
  REQUIRE(concretize(l2, a.data(), 1, 3, true, &v, x.data()).is_ok());
  CHECK(v == Approx(8.5).margin(1e-14));
  CHECK(x[0] == Approx(1 - 0.3).margin(1e-14));
  CHECK(x[1] == Approx(-2 + 0.4).margin(1e-14));
  REQUIRE(concretize(l2, a.data(), 1, 3, false, &v).is_ok());
  CHECK(v == Approx(13.5).margin(1e-14));
  // L1: a.c -/+ eps ||a||_inf = 11 -/+ 0.5 * 4, moving x_1 only
  auto l1 = Perturbation::ball(Kind::kL1, c, 0.5);
  REQUIRE(concretize(l1, a.data(), 1, 3, true, &v, x.data()).is_ok());
  CHECK(v == 9);
  CHECK(x == std::vector<double>{1, -1.5, 0.5});
  // Linf: a.c -/+ eps ||a||_1 = 11 -/+ 3.5
  auto li = Perturbation::ball(Kind::kLinf, c, 0.5);
  REQUIRE(concretize(li, a.data(), 1, 3, false, &v).is_ok());
  CHECK(v == 14.5);
  // Linf clipped to [0, 1]^3... with centre -2 outside: refused (the clip box misses the ball).
  auto bad = Perturbation::ball(Kind::kLinf, c, 0.5, {0, 0, 0}, {1, 1, 1});
  CHECK(bad.validate().code() == ErrorCode::kInvalidArgument);
  // L2 clipped: c = 0, eps = 1, clip x_0 <= 0.1; min of -x_0 - x_1 reaches x_0 = 0.1,
  // x_1 = sqrt(1 - 0.01).
  auto l2c = Perturbation::ball(Kind::kL2, {0, 0}, 1, {-1, -1}, {0.1, 1});
  const std::vector<double> a2{-1, -1};
  REQUIRE(concretize(l2c, a2.data(), 1, 2, true, &v, x.data()).is_ok());
  CHECK(v == Approx(-0.1 - std::sqrt(0.99)).margin(1e-14));
  CHECK(x[0] == Approx(0.1).margin(1e-14));
  CHECK(x[1] == Approx(std::sqrt(0.99)).margin(1e-14));
  // L1 clipped: c = 0, eps = 1, x_0 <= 0.25: min of -2 x_0 - x_1 = -0.5 - 0.75
  auto l1c = Perturbation::ball(Kind::kL1, {0, 0}, 1, {-1, -1}, {0.25, 1});
  const std::vector<double> a3{-2, -1};
  REQUIRE(concretize(l1c, a3.data(), 1, 2, true, &v, x.data()).is_ok());
  CHECK(v == -1.25);
  // eps = 0: the centre.
  auto pt = Perturbation::ball(Kind::kL2, c, 0);
  REQUIRE(concretize(pt, a.data(), 1, 3, true, &v).is_ok());
  CHECK(v == 11);
}

TEST_CASE("perturbation: ball centre outside the clip box (L2, L1)", "[perturbation]") {
  Rng rng(77);
  for (Kind kind : {Kind::kL2, Kind::kL1})
    for (int trial = 0; trial < 20; ++trial) {
      const int64_t n = 4;
      auto c = random_vec(rng, n, -1, 1);
      // A clip box offset from the centre by a small distance the ball still covers.
      std::vector<double> lo(4), hi(4);
      for (size_t j = 0; j < 4; ++j) {
        lo[j] = c[j] + unif(rng, -0.3, 0.1);
        hi[j] = lo[j] + unif(rng, 0.2, 1);
      }
      Perturbation p = Perturbation::ball(kind, c, 1.0, lo, hi);
      if (!p.validate().is_ok())
        continue;
      auto a = random_vec(rng, n, -1, 1);
      double vl = 0, vh = 0;
      std::vector<double> xl(4), xh(4);
      REQUIRE(concretize(p, a.data(), 1, n, true, &vl, xl.data()).is_ok());
      REQUIRE(concretize(p, a.data(), 1, n, false, &vh, xh.data()).is_ok());
      CHECK(in_set(p, xl, 1e-12));
      CHECK(in_set(p, xh, 1e-12));
      CHECK(dot(a.data(), xl) == Approx(vl).margin(1e-12));
      CHECK(dot(a.data(), xh) == Approx(vh).margin(1e-12));
      auto box = enclosing_box(p, {n});
      REQUIRE(box.has_value());
      // Rejection sampling from the clip box.
      int kept = 0;
      for (int k = 0; k < 20000 && kept < 2000; ++k) {
        std::vector<double> x(4);
        for (size_t j = 0; j < 4; ++j)
          x[j] = unif(rng, lo[j], hi[j]);
        if (!in_set(p, x, 0))
          continue;
        ++kept;
        const double v = dot(a.data(), x);
        CHECK(v >= vl - 1e-12);
        CHECK(v <= vh + 1e-12);
        for (int64_t j = 0; j < n; ++j) {
          CHECK(x[static_cast<size_t>(j)] >= box->lo.get(j) - 1e-12);
          CHECK(x[static_cast<size_t>(j)] <= box->hi.get(j) + 1e-12);
        }
      }
    }
}

TEST_CASE("perturbation: linear constraints, dual bound vs the exact LP optimum (Z3)",
          "[perturbation]") {
  Rng rng(2024);
  ConcretizeOptions opt;
  opt.dual_iterations = 3000;
  double worst_gap = 0;
  int cases = 0, exact_points = 0;
  for (Kind kind : {Kind::kBox, Kind::kLinf, Kind::kL1})
    for (int trial = 0; trial < 12; ++trial) {
      const int64_t n = 2 + trial % 5;
      const int64_t m = 1 + trial % 3;
      const Perturbation p = dyadic_instance(kind, n, m, rng);
      REQUIRE(p.validate(n).is_ok());
      std::vector<double> a(static_cast<size_t>(n));
      for (auto& v : a)
        v = dyadic(rng, -2, 2);
      for (bool lower : {true, false}) {
        INFO(perturbation_kind_name(kind)
             << " n=" << n << " m=" << m << " trial " << trial << (lower ? " lower" : " upper"));
        double ref = 0;
        REQUIRE(z3_optimum(p, a, lower, ref));
        double v = 0;
        std::vector<double> x(static_cast<size_t>(n));
        REQUIRE(concretize(p, a.data(), 1, n, lower, &v, x.data(), opt).is_ok());
        // Sound always; close after enough iterations.
        const double gap = lower ? ref - v : v - ref;
        CHECK(gap >= -1e-9);
        CHECK(gap <= 5e-4 * (1 + std::abs(ref)));
        worst_gap = std::max(worst_gap, gap / (1 + std::abs(ref)));
        ++cases;
        if (!std::isnan(x[0])) {
          ++exact_points;
          CHECK(in_set(p, x, 1e-9));
          CHECK(dot(a.data(), x) == Approx(v).margin(1e-9));
        }
        // Never looser than without the constraints.
        Perturbation base = p;
        base.constraints = {};
        double vb = 0;
        REQUIRE(concretize(base, a.data(), 1, n, lower, &vb).is_ok());
        CHECK((lower ? v >= vb - 1e-12 : v <= vb + 1e-12));
        // Sampled points of the constrained set (rejection).
        int kept = 0;
        for (int k = 0; k < 20000 && kept < 500; ++k) {
          const auto xs = sample_base(p, rng, k % 2 == 0);
          if (!in_set(p, xs, 0))
            continue;
          ++kept;
          const double val = dot(a.data(), xs);
          CHECK((lower ? val >= v - 1e-9 : val <= v + 1e-9));
        }
      }
    }
  // Measured: worst relative gap 1e-5 here (7e-5 over 600 such bounds); an attaining point is
  // found for about a third of the bounds.
  CHECK(cases == 72);
  CHECK(worst_gap <= 5e-4);
  CHECK(exact_points > 0);
}

TEST_CASE("perturbation: one constraint on a larger clipped Linf ball, default budget (Z3)",
          "[perturbation]") {
  Rng rng(5);
  for (int trial = 0; trial < 4; ++trial) {
    const int64_t n = 40;
    const auto un = static_cast<size_t>(n);
    std::vector<double> c(un), a(un), g(un);
    for (size_t j = 0; j < un; ++j) {
      c[j] = dyadic(rng, 0, 1);
      a[j] = dyadic(rng, -1, 1);
      g[j] = dyadic(rng, 0, 1);  // e.g. a brightness budget: sum of weighted pixels
    }
    Perturbation p = Perturbation::ball(
        Kind::kLinf, c, 0.125, std::vector<double>(un, 0.0), std::vector<double>(un, 1.0));
    p.constraints.g = {g};
    p.constraints.h = {std::round(dot(g.data(), c) * 16) / 16};  // roughly halves the ball
    for (bool lower : {true, false}) {
      double ref = 0, v = 0;
      REQUIRE(z3_optimum(p, a, lower, ref));
      REQUIRE(concretize(p, a.data(), 1, n, lower, &v).is_ok());
      const double gap = lower ? ref - v : v - ref;
      CHECK(gap >= -1e-9);
      CHECK(gap <= 1e-3 * (1 + std::abs(ref)));
    }
  }
}

TEST_CASE("perturbation: L2 ball with linear constraints is sound", "[perturbation]") {
  Rng rng(99);
  for (int trial = 0; trial < 10; ++trial) {
    const int64_t n = 2 + trial % 4;
    const Perturbation p = dyadic_instance(Kind::kL2, n, 2, rng);
    auto a = random_vec(rng, 3 * n, -1, 1);
    std::vector<double> lo(3), hi(3), lo_base(3);
    REQUIRE(concretize(p, a.data(), 3, n, true, lo.data()).is_ok());
    REQUIRE(concretize(p, a.data(), 3, n, false, hi.data()).is_ok());
    Perturbation base = p;
    base.constraints = {};
    REQUIRE(concretize(base, a.data(), 3, n, true, lo_base.data()).is_ok());
    for (int r = 0; r < 3; ++r)
      CHECK(lo[static_cast<size_t>(r)] >= lo_base[static_cast<size_t>(r)] - 1e-12);
    int kept = 0;
    for (int k = 0; k < 40000 && kept < 2000; ++k) {
      const auto x = sample_base(p, rng, k % 2 == 0);
      if (!in_set(p, x, 0))
        continue;
      ++kept;
      for (int64_t r = 0; r < 3; ++r) {
        const double v = dot(a.data() + r * n, x);
        CHECK(v >= lo[static_cast<size_t>(r)] - 1e-12);
        CHECK(v <= hi[static_cast<size_t>(r)] + 1e-12);
      }
    }
    CHECK(kept > 0);
  }
}

TEST_CASE("perturbation: constraints that empty the set", "[perturbation]") {
  // x_0 + x_1 <= -3 over [-1, 1]^2: empty (Z3 agrees); the dual grows without bound.
  Perturbation p = Perturbation::box({-1, -1}, {1, 1});
  p.constraints.g = {{1, 1}};
  p.constraints.h = {-3};
  double ref = 0;
  CHECK_FALSE(z3_optimum(p, {1, 0}, true, ref));
  auto e = proven_empty(p);
  REQUIRE(e.has_value());
  CHECK(*e);
  const std::vector<double> a{1, -2};
  double v = 0;
  std::vector<double> x(2);
  REQUIRE(concretize(p, a.data(), 1, 2, true, &v, x.data()).is_ok());
  CHECK(v == kInf);
  CHECK(std::isnan(x[0]));
  REQUIRE(concretize(p, a.data(), 1, 2, false, &v).is_ok());
  CHECK(v == -kInf);
  CHECK(enclosing_box(p, {2}, true).status().code() == ErrorCode::kInvalidArgument);
  // Two half-planes that miss each other inside an L2 ball.
  Perturbation q = Perturbation::ball(Kind::kL2, {0, 0, 0}, 1);
  q.constraints.g = {{1, 0, 0}, {-1, 0, 0}};
  q.constraints.h = {-0.25, -0.25};  // x_0 <= -0.25 and x_0 >= 0.25
  auto eq = proven_empty(q);
  REQUIRE(eq.has_value());
  CHECK(*eq);
  // A feasible set is never called empty.
  q.constraints.h = {0.25, 0.25};
  auto fq = proven_empty(q);
  REQUIRE(fq.has_value());
  CHECK_FALSE(*fq);
}

TEST_CASE("perturbation: enclosing box with constraints", "[perturbation]") {
  // Linf ball |x - 0| <= 1 with x_0 + x_1 <= -1: x_0, x_1 <= 0.
  Perturbation p = Perturbation::ball(Kind::kLinf, {0, 0}, 1);
  p.constraints.g = {{1, 1}};
  p.constraints.h = {-1};
  auto loose = enclosing_box(p, {1, 2});
  REQUIRE(loose.has_value());
  CHECK(loose->hi.get(0) == 1);
  CHECK(loose->lo.shape() == Shape{1, 2});
  ConcretizeOptions o;
  o.dual_iterations = 2000;
  auto tight = enclosing_box(p, {1, 2}, true, o);
  REQUIRE(tight.has_value());
  CHECK(tight->hi.get(0) == Approx(0).margin(1e-4));
  CHECK(tight->hi.get(0) >= -1e-12);
  CHECK(tight->lo.get(0) == -1);
  CHECK(enclosing_box(p, {3}).status().code() == ErrorCode::kShapeMismatch);
}

TEST_CASE("perturbation: validation", "[perturbation]") {
  CHECK(Perturbation::box({0, 1}, {1, 2}).validate(2).is_ok());
  CHECK(Perturbation::box({0, 1}, {1, 2}).validate(3).code() == ErrorCode::kShapeMismatch);
  CHECK(Perturbation::box({0, 1}, {1}).validate().code() == ErrorCode::kShapeMismatch);
  CHECK(Perturbation::box({0, 3}, {1, 2}).validate().code() == ErrorCode::kInvalidArgument);
  CHECK(Perturbation::box({0, std::nan("")}, {1, 2}).validate().code() ==
        ErrorCode::kInvalidArgument);
  CHECK(Perturbation::ball(Kind::kL2, {0}, -1).validate().code() == ErrorCode::kInvalidArgument);
  CHECK(Perturbation::ball(Kind::kL2, {0}, kInf).validate().code() == ErrorCode::kInvalidArgument);
  CHECK(Perturbation::ball(Kind::kL1, {kInf}, 1).validate().code() == ErrorCode::kInvalidArgument);
  CHECK(Perturbation::ball(Kind::kL2, {0, 0}, 1, {0}, {1}).validate().code() ==
        ErrorCode::kShapeMismatch);
  // L2 ball of radius 1 around 0 vs the clip box [0.8, 1]^2: distance sqrt(1.28) > 1.
  CHECK(Perturbation::ball(Kind::kL2, {0, 0}, 1, {0.8, 0.8}, {1, 1}).validate().code() ==
        ErrorCode::kInvalidArgument);
  CHECK(Perturbation::ball(Kind::kL1, {0, 0}, 1, {0.6, 0.6}, {1, 1}).validate().code() ==
        ErrorCode::kInvalidArgument);
  CHECK(Perturbation::ball(Kind::kL2, {0, 0}, 1, {0.6, 0.6}, {1, 1}).validate().is_ok());
  Perturbation p = Perturbation::box({0, 0}, {1, 1});
  p.constraints.g = {{1, 1}};
  CHECK(p.validate().code() == ErrorCode::kShapeMismatch);
  p.constraints.h = {1};
  CHECK(p.validate().is_ok());
  p.constraints.g = {{1}};
  CHECK(p.validate().code() == ErrorCode::kShapeMismatch);
  p.constraints.g = {{0, 0}};
  p.constraints.h = {-1};
  CHECK(p.validate().code() == ErrorCode::kInvalidArgument);
  p.constraints.h = {0};  // 0 <= 0: vacuous
  CHECK(p.validate().is_ok());
  double v = 0;
  const double a[2] = {1, 1};
  CHECK(concretize(p, a, 1, 2, true, &v).is_ok());
  CHECK(v == 0);
  CHECK(concretize(p, a, 1, 3, true, &v).code() == ErrorCode::kShapeMismatch);
  ConcretizeOptions bad;
  bad.dual_iterations = 0;
  CHECK(concretize(p, a, 1, 2, true, &v, nullptr, bad).code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("perturbation: rows in parallel equal rows one by one", "[perturbation]") {
  Rng rng(3);
  const int64_t n = 30, s = 300;
  Perturbation p = random_set(Kind::kL2, n, true, rng);
  p.constraints.g = {random_vec(rng, n, -1, 1)};
  p.constraints.h = {0.1};
  const auto a = random_vec(rng, s * n, -1, 1);
  for (bool with_constraints : {false, true}) {
    Perturbation q = p;
    if (!with_constraints)
      q.constraints = {};
    ConcretizeOptions one, many;
    one.threads = 1;
    many.threads = 4;
    one.dual_iterations = many.dual_iterations = 50;
    std::vector<double> v1(s), v4(s), x1(static_cast<size_t>(s * n)), x4(x1.size());
    REQUIRE(concretize(q, a.data(), s, n, true, v1.data(), x1.data(), one).is_ok());
    REQUIRE(concretize(q, a.data(), s, n, true, v4.data(), x4.data(), many).is_ok());
    CHECK(v1 == v4);
    for (size_t k = 0; k < x1.size(); ++k)
      CHECK((x1[k] == x4[k] || (std::isnan(x1[k]) && std::isnan(x4[k]))));
  }
}

TEST_CASE("perturbation: NaN coefficients give an infinite bound", "[perturbation]") {
  const Perturbation p = Perturbation::ball(Kind::kL2, {0, 0}, 1);
  const double a[2] = {std::nan(""), 1};
  double lo = 0, hi = 0;
  REQUIRE(concretize(p, a, 1, 2, true, &lo).is_ok());
  REQUIRE(concretize(p, a, 1, 2, false, &hi).is_ok());
  CHECK(lo == -kInf);
  CHECK(hi == kInf);
}

TEST_CASE("perturbation: JSON", "[perturbation]") {
  SECTION("accepted forms") {
    auto b = perturbation_from_json_text(R"({"lower": [0, 1], "upper": [1, 2]})", 2);
    REQUIRE(b.has_value());
    CHECK(b->kind == Kind::kBox);
    CHECK(b->hi == std::vector<double>{1, 2});
    auto l = perturbation_from_json_text(R"({"center": [0.5, 0.5], "eps": 0.1})");
    REQUIRE(l.has_value());
    CHECK(l->kind == Kind::kLinf);
    CHECK(l->size() == 2);
    CHECK_FALSE(l->has_clip());
    auto l2 = perturbation_from_json_text(
        R"({"center": [0.5, 0.5], "eps": 0.1, "norm": "2", "clip": [0, [1, 0.55]]})", 2);
    REQUIRE(l2.has_value());
    CHECK(l2->kind == Kind::kL2);
    CHECK(l2->lo == std::vector<double>{0, 0});
    CHECK(l2->hi == std::vector<double>{1, 0.55});
    auto l1 = perturbation_from_json_text(R"({"center": [0], "eps": 1, "norm": 1})");
    REQUIRE(l1.has_value());
    CHECK(l1->kind == Kind::kL1);
    auto lc = perturbation_from_json_text(
        R"({"center": [0, 0], "eps": 1, "norm": "inf",
            "constraints": {"G": [[1, 1], [1, -1]], "h": [0.5, 0.5]}})");
    REQUIRE(lc.has_value());
    CHECK(lc->constraints.g.size() == 2);
    CHECK(lc->constraints.h[1] == 0.5);
    auto ec = perturbation_from_json_text(
        R"({"lower": [0], "upper": [1], "constraints": {"G": [], "h": []}})");
    REQUIRE(ec.has_value());
    CHECK(ec->constraints.empty());
  }
  SECTION("errors") {
    struct Bad {
      const char* text;
      int64_t n;
      ErrorCode code;
      const char* msg;
    };
    const Bad cases[] = {
        {"[1, 2]", -1, ErrorCode::kParseError, "JSON object"},
        {"{\"lower\": [0, 1], \"upper\": [1, 2}", -1, ErrorCode::kParseError, "not valid JSON"},
        {R"({"lower": [0, 1]})", -1, ErrorCode::kParseError, "both \"lower\" and \"upper\""},
        {R"({"lower": [0, 1], "upper": [1]})", -1, ErrorCode::kShapeMismatch, "\"upper\" has 1"},
        {R"({"lower": [0, 1], "upper": [1, 2]})", 3, ErrorCode::kShapeMismatch, "\"lower\" has 2"},
        {R"({"lower": [0, "a"], "upper": [1, 2]})", -1, ErrorCode::kParseError, "\"lower\"[1]"},
        {R"({"lower": [2, 0], "upper": [1, 2]})", -1, ErrorCode::kInvalidArgument, "lower > upper"},
        {R"({"lower": 0, "upper": 1})", -1, ErrorCode::kParseError, "array of numbers"},
        {R"({"center": [0], "eps": -0.1})", -1, ErrorCode::kInvalidArgument, "eps"},
        {R"({"center": [0], "eps": "0.1"})",
         -1,
         ErrorCode::kParseError,
         "\"eps\" must be a number"},
        {R"({"center": [0]})", -1, ErrorCode::kParseError, "both \"center\" and \"eps\""},
        {R"({"center": [0], "eps": 1, "norm": "3"})",
         -1,
         ErrorCode::kInvalidArgument,
         "unknown norm \"3\""},
        {R"({"center": [0], "eps": 1, "norm": 3})",
         -1,
         ErrorCode::kInvalidArgument,
         "unknown norm"},
        {R"({"center": [0], "eps": 1, "norm": null})", -1, ErrorCode::kParseError, "\"norm\""},
        {R"({"center": [0], "eps": 1, "epsilon": 1})",
         -1,
         ErrorCode::kParseError,
         "unknown key \"epsilon\""},
        {R"({"center": [0], "eps": 1, "lower": [0]})", -1, ErrorCode::kParseError, "not both"},
        {R"({"lower": [0], "upper": [1], "norm": "2"})",
         -1,
         ErrorCode::kParseError,
         "belong to a ball"},
        {R"({"center": [0, 0], "eps": 1, "clip": [0]})", -1, ErrorCode::kParseError, "[lo, hi]"},
        {R"({"center": [0, 0], "eps": 1, "clip": [0, [1]]})",
         -1,
         ErrorCode::kShapeMismatch,
         "\"clip\" upper has 1"},
        {R"({"center": [0, 0], "eps": 1, "clip": [1, 0]})",
         -1,
         ErrorCode::kInvalidArgument,
         "lower > upper"},
        {R"({"center": [0, 0], "eps": 0.5, "norm": "2", "clip": [2, 3]})",
         -1,
         ErrorCode::kInvalidArgument,
         "does not meet"},
        {R"({"center": [0], "eps": 1, "constraints": [[1]]})",
         -1,
         ErrorCode::kParseError,
         "\"constraints\" must be an object"},
        {R"({"center": [0], "eps": 1, "constraints": {"G": [[1]]}})",
         -1,
         ErrorCode::kParseError,
         "both \"G\""},
        {R"({"center": [0], "eps": 1, "constraints": {"G": [[1, 2]], "h": [0]}})",
         -1,
         ErrorCode::kShapeMismatch,
         "G[0] has 2"},
        {R"({"center": [0], "eps": 1, "constraints": {"G": [[1]], "h": [0, 1]}})",
         -1,
         ErrorCode::kShapeMismatch,
         "\"h\" has 2"},
        {R"({"center": [0], "eps": 1, "constraints": {"G": [[1]], "h": [0], "b": 1}})",
         -1,
         ErrorCode::kParseError,
         "unknown key \"b\""},
        {R"({"center": [1e400], "eps": 1})", -1, ErrorCode::kParseError, ""},
    };
    for (const auto& c : cases) {
      INFO(c.text);
      auto r = perturbation_from_json_text(c.text, c.n);
      REQUIRE_FALSE(r.has_value());
      INFO(r.status().to_string());
      CHECK(r.status().code() == c.code);
      CHECK(r.status().message().find(c.msg) != std::string::npos);
    }
    // NaN can only arrive through a json value built in code.
    nlohmann::json j = {{"center", {0.0, std::nan("")}}, {"eps", 0.1}};
    auto r = perturbation_from_json(j, 2);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.status().code() == ErrorCode::kInvalidArgument);
    CHECK(r.status().message().find("\"center\"[1] is NaN or infinite") != std::string::npos);
  }
}
