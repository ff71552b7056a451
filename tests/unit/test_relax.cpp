// Soundness of the element-wise linear relaxations (OpDef::relax, lib/ops/<op>.cpp), tested
// rather than assumed.
//  * Per op: a few hundred intervals (narrow, wide, straddling 0, one-sided, degenerate, near the
//    domain edges of Log/Sqrt/Reciprocal/Pow, huge, half- and fully infinite, around auto_LiRPA's
//    table limit 500) x (the default relaxation and random alpha in [0, 1]); ~200 points x of each
//    interval (endpoints included) go through the op's own forward rule in float64 and must
//    satisfy  al x + bl <= f(x) <= au x + bu. Points where f is NaN (outside the domain) are
//    skipped. The slack is 1e-12 (1 + |f(x)| + |a x| + |b|): a line is only known to the rounding
//    of its own terms (e.g. Exp's chord on [-30, 30] has |b| ~ 5e12, so evaluating it at -30
//    cancels to ~1e-3 absolute although f(-30) ~ 1e-13).
//  * The lines are never NaN, slopes are finite, a lower intercept is never +inf and an upper one
//    never -inf (so unbounded lines only ever add -inf to lower and +inf to upper bounds).
//  * The default lines are reasonably tight: their gap is at most twice the range of f on the
//    interval (finite cases).
//  * alpha_default reproduces the default lines.
//  * Graph level: random Gemm + activation graphs, crown_bounds over a random box, 2000 sampled
//    points through the executor must lie within the bounds.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "bounds/crown.h"
#include "ops/op_def.h"
#include "ops/relaxation.h"
#include "runtime/executor.h"
#include "tests/support/onnx_builder.h"

namespace nncert {
namespace {

using Rng = std::mt19937_64;
constexpr double kInf = std::numeric_limits<double>::infinity();

double uniform(Rng& r, double a, double b) {
  return std::uniform_real_distribution<double>(a, b)(r);
}
double log_uniform(Rng& r, double lo_exp, double hi_exp) {
  return std::pow(10.0, uniform(r, lo_exp, hi_exp));
}

// One op under test: the node given to relax (constant inputs bound) and its forward inputs 1...
struct OpCase {
  std::string label;
  Node node;
  std::vector<Tensor> extra_inputs;  // forward inputs after x (invalid = absent)
};

OpCase unary(const std::string& op) {
  OpCase c;
  c.label = op;
  c.node.op = op;
  c.node.name = op + "_node";
  c.node.inputs = {0};
  c.node.outputs = {1};
  return c;
}

// A node whose constant inputs 1.. are bound the way the CROWN engine binds them.
OpCase with_constants(const std::string& op,
                      const std::string& label,
                      const std::vector<Tensor>& consts) {
  OpCase c = unary(op);
  c.label = label;
  std::vector<Interval> in{{Tensor(DType::kF64, {1}), Tensor(DType::kF64, {1})}};
  std::vector<char> is_const{0};
  for (size_t i = 0; i < consts.size(); ++i) {
    c.node.inputs.push_back(consts[i].is_valid() ? static_cast<ValueId>(i + 2) : kNoValue);
    in.push_back(consts[i].is_valid() ? Interval{consts[i], consts[i]} : Interval{});
    is_const.push_back(1);
  }
  std::unique_ptr<bool[]> flags(new bool[is_const.size()]);
  for (size_t i = 0; i < is_const.size(); ++i)
    flags[i] = is_const[i] != 0;
  c.node = ops::bind_constant_inputs(c.node, in, std::span<const bool>(flags.get(), in.size()));
  c.extra_inputs = consts;
  return c;
}

Tensor scalar(double v) {
  return Tensor::scalar(DType::kF64, v);
}

std::vector<OpCase> all_cases() {
  std::vector<OpCase> v;
  for (const char* op :
       {"Sigmoid", "Tanh", "Erf", "Exp", "Log", "Reciprocal", "Sqrt", "Abs", "Softplus"})
    v.push_back(unary(op));
  for (double p : {0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 7.0, -1.0, -2.0, -3.0, 0.5, 1.5, 2.5, -0.5, 0.3})
    v.push_back(with_constants("Pow", "Pow p=" + std::to_string(p), {scalar(p)}));
  const Tensor none;
  v.push_back(with_constants("Clip", "Clip [-1, 2]", {scalar(-1), scalar(2)}));
  v.push_back(with_constants("Clip", "Clip [0, 6]", {scalar(0), scalar(6)}));
  v.push_back(with_constants("Clip", "Clip [0.5, 0.5]", {scalar(0.5), scalar(0.5)}));
  v.push_back(with_constants("Clip", "Clip [3, 1] (min > max)", {scalar(3), scalar(1)}));
  v.push_back(with_constants("Clip", "Clip min 0.25", {scalar(0.25), none}));
  v.push_back(with_constants("Clip", "Clip max -0.5", {none, scalar(-0.5)}));
  v.push_back(with_constants("Clip", "Clip no limits", {}));
  {  // older attribute form (the ONNX loader rewrites it into inputs; relax reads it either way)
    OpCase c = unary("Clip");
    c.label = "Clip attributes [-2, 0.5]";
    c.node.attrs.set("min", -2.0);
    c.node.attrs.set("max", 0.5);
    c.extra_inputs = {scalar(-2), scalar(0.5)};
    v.push_back(std::move(c));
  }
  return v;
}

// f over the points, by the op's own forward rule (float64).
std::vector<double> eval(const OpCase& c, const std::vector<double>& xs) {
  const OpDef* def = find_op(c.node.op);
  std::vector<Tensor> in{Tensor::from_vector<double>({static_cast<int64_t>(xs.size())}, xs)};
  for (const Tensor& t : c.extra_inputs)
    in.push_back(t);
  TypeInfo ot;
  ot.dtype = DType::kF64;
  ot.shape = {static_cast<int64_t>(xs.size())};
  std::vector<TypeInfo> out_types{ot};
  std::vector<Tensor> out(1);
  const Status st = def->forward(c.node, in, out_types, out, ExecContext{1});
  REQUIRE(st.is_ok());
  std::vector<double> y(xs.size());
  for (size_t i = 0; i < xs.size(); ++i)
    y[i] = out[0].get(static_cast<int64_t>(i));
  return y;
}

std::vector<std::pair<double, double>> intervals(Rng& r) {
  std::vector<std::pair<double, double>> v = {
      {0, 0},          {1, 1},         {-1, -1},         {-1, 1},          {0, 1},
      {-1, 0},         {-2, -1},       {1, 2},           {1e-300, 3e-300}, {-kInf, kInf},
      {-kInf, 0},      {0, kInf},      {-kInf, -1},      {1, kInf},        {-kInf, 2},
      {-3, kInf},      {-500, 500},    {-1e6, 1e6},      {499.99, 500.02}, {-600, -400},
      {400, 600},      {-0.3, 700},    {-800, 0.1},      {1e-9, 2e-9},     {-2e-9, -1e-9},
      {-1e-12, 1e-12}, {5, 5 + 1e-13}, {-3 - 1e-10, -3}, {-0.5, 1e-3},     {-1e-3, 0.5},
      {1e-5, 100},     {-100, -1e-5},  {0, 1e-300},      {-1e-300, 0},     {2.5, 2.5},
      {-4, 0.25},      {-0.25, 4},     {-30, 30},        {700, 710},       {-745, -700}};
  for (int i = 0; i < 260; ++i) {
    double l = 0, u = 0;
    switch (i % 9) {
      case 0: {  // narrow
        const double c = uniform(r, -8, 8), w = log_uniform(r, -13, -2);
        l = c - w;
        u = c + w;
        break;
      }
      case 1: {  // wide
        const double c = uniform(r, -30, 30), w = log_uniform(r, -1, 2.5);
        l = c - w;
        u = c + w;
        break;
      }
      case 2:  // straddling 0
        l = -log_uniform(r, -6, 2);
        u = log_uniform(r, -6, 2);
        break;
      case 3:  // positive
        l = log_uniform(r, -8, 2);
        u = l + log_uniform(r, -10, 2);
        break;
      case 4:  // negative
        u = -log_uniform(r, -8, 2);
        l = u - log_uniform(r, -10, 2);
        break;
      case 5: {  // degenerate
        const double scales[] = {0, 1e-6, 0.3, 2, 40, 1e4};
        l = u = scales[r() % 6] * uniform(r, -1, 1);
        break;
      }
      case 6: {  // at the domain edge 0
        const double tiny = log_uniform(r, -300, -5);
        const int k = static_cast<int>(r() % 3);
        l = k == 0 ? 0.0 : (k == 1 ? -tiny : tiny);
        u = std::max(l, 0.0) + log_uniform(r, -8, 1);
        if (r() % 4 == 0) {  // the mirror image
          std::swap(l, u);
          l = -l;
          u = -u;
        }
        break;
      }
      case 7: {  // huge
        const double c = (r() % 2 ? 1 : -1) * log_uniform(r, 2, 8), w = log_uniform(r, 0, 8);
        l = c - w;
        u = c + w;
        break;
      }
      default: {  // around the integer grid of S-shaped tables / Clip limits
        const double c = std::round(uniform(r, -6, 6) * 4) / 4;
        l = c - log_uniform(r, -12, 0);
        u = c + log_uniform(r, -12, 0);
        break;
      }
    }
    v.emplace_back(std::min(l, u), std::max(l, u));
  }
  return v;
}

// ~200 points of [l, u]: both ends, 0 and tiny values when inside, the rest spread uniformly
// and log-uniformly (infinite ends are replaced by far finite points).
std::vector<double> points(Rng& r, double l, double u) {
  std::vector<double> p;
  const double lf = std::isfinite(l) ? l : std::min(u, 0.0) - 1e6;
  const double uf = std::isfinite(u) ? u : std::max(l, 0.0) + 1e6;
  for (double v : {l, u, 0.0, 1e-300, -1e-300, 1e-12, -1e-12, lf, uf})
    if (std::isfinite(v) && v >= l && v <= u)
      p.push_back(v);
  while (p.size() < 200) {
    double v = lf + uniform(r, 0, 1) * (uf - lf);
    if (p.size() % 3 == 0)  // log-spread from either end
      v = p.size() % 2 ? lf + (uf - lf) * log_uniform(r, -12, 0)
                       : uf - (uf - lf) * log_uniform(r, -12, 0);
    if (std::isfinite(v))
      p.push_back(std::clamp(v, l, u));
  }
  return p;
}

double slack(double f, double a, double x, double b) {
  return 1e-12 * (1 + std::abs(f) + std::abs(a * x) + std::abs(b));
}

// The line at x (0 x inf stays the intercept).
double at(double a, double b, double x) {
  return a == 0 ? b : a * x + b;
}

struct Totals {
  int64_t lines = 0, points = 0, skipped_nan = 0;
};

void check_lines(const OpCase& c,
                 const ElementRelaxation& r,
                 const std::vector<std::pair<double, double>>& iv,
                 const std::vector<std::vector<double>>& xs,
                 const std::vector<std::vector<double>>& ys,
                 const std::string& what,
                 Totals& tot) {
  int64_t bad = 0;
  std::string first;
  for (size_t j = 0; j < iv.size(); ++j) {
    const auto k = static_cast<int64_t>(j);
    const double al = r.al.get(k), bl = r.bl.get(k), au = r.au.get(k), bu = r.bu.get(k);
    std::ostringstream os;
    os.precision(17);
    os << c.label << " " << what << " on [" << iv[j].first << ", " << iv[j].second << "]: lower "
       << al << " x + " << bl << ", upper " << au << " x + " << bu;
    const bool shape_ok = std::isfinite(al) && std::isfinite(au) && !std::isnan(bl) &&
                          !std::isnan(bu) && bl != kInf && bu != -kInf;
    if (!shape_ok) {
      if (bad++ == 0)
        first = os.str() + ": not a usable line";
      continue;
    }
    ++tot.lines;
    // Tightness of the default lines on finite intervals where f is finite on the samples: the
    // gap between them stays within twice the sampled range of f (a chord and a tangent inside
    // [l, u] of a convex or concave piece satisfy this). Exempt: S-shaped functions on intervals
    // across 0 narrower than their table's 0.01 grid (the tangent points come from the grid, as
    // in auto_LiRPA: gaps ~1e-7).
    const bool s_shaped = c.node.op == "Sigmoid" || c.node.op == "Tanh" || c.node.op == "Erf";
    const bool grid_limited =
        s_shaped && iv[j].first < 0 && iv[j].second > 0 && iv[j].second - iv[j].first < 0.05;
    if (what == "default" && std::isfinite(iv[j].first) && std::isfinite(iv[j].second) &&
        !grid_limited) {
      double fmin = kInf, fmax = -kInf, gap = 0;
      bool finite = true;
      for (size_t i = 0; i < xs[j].size(); ++i) {
        const double f = ys[j][i];
        finite = finite && std::isfinite(f);
        fmin = std::min(fmin, f);
        fmax = std::max(fmax, f);
        gap = std::max(gap, at(au, bu, xs[j][i]) - at(al, bl, xs[j][i]));
      }
      const double tol = 1e-9 * (1 + std::abs(fmax) + std::abs(fmin) + std::abs(bl) + std::abs(bu));
      if (finite && std::isfinite(bl) && std::isfinite(bu) && gap > 2 * (fmax - fmin) + tol &&
          bad++ == 0) {
        std::ostringstream p;
        p.precision(17);
        p << ": gap " << gap << " > twice the range of f " << fmax - fmin;
        first = os.str() + p.str();
      }
    }
    for (size_t i = 0; i < xs[j].size(); ++i) {
      const double x = xs[j][i], f = ys[j][i];
      if (std::isnan(f)) {
        ++tot.skipped_nan;
        continue;
      }
      ++tot.points;
      const double lo = at(al, bl, x), hi = at(au, bu, x);
      const bool ok = std::isinf(f)  // f = +-inf (log 0, 1/0, overflow): exactly
                          ? lo <= f && f <= hi
                          : lo <= f + slack(f, al, x, bl) && f <= hi + slack(f, au, x, bu);
      if (!ok && bad++ == 0) {
        std::ostringstream p;
        p.precision(17);
        p << ": at x = " << x << " f = " << f << ", lines give [" << lo << ", " << hi << "]";
        first = os.str() + p.str();
      }
    }
  }
  INFO(first);
  CHECK(bad == 0);
}

}  // namespace

TEST_CASE("element-wise relaxations are sound for every interval and alpha", "[relax]") {
  Rng rng(20260);
  Totals tot;
  for (const OpCase& c : all_cases()) {
    INFO("op " << c.label);
    const OpDef* def = find_op(c.node.op);
    REQUIRE(def != nullptr);
    REQUIRE(def->relax != nullptr);
    REQUIRE(def->crown_needs_bounds);
    const auto iv = intervals(rng);
    const auto n = static_cast<int64_t>(iv.size());
    Interval x{Tensor(DType::kF64, {n}), Tensor(DType::kF64, {n})};
    std::vector<std::vector<double>> xs, ys;
    for (int64_t j = 0; j < n; ++j) {
      x.lo.set(j, iv[static_cast<size_t>(j)].first);
      x.hi.set(j, iv[static_cast<size_t>(j)].second);
      xs.push_back(
          points(rng, iv[static_cast<size_t>(j)].first, iv[static_cast<size_t>(j)].second));
      ys.push_back(eval(c, xs.back()));
    }
    // The default relaxation and the alpha that reproduces it.
    ElementRelaxation def_r;
    Interval alpha_def;
    REQUIRE(def->relax(c.node, x, nullptr, def_r, &alpha_def).is_ok());
    check_lines(c, def_r, iv, xs, ys, "default", tot);
    ElementRelaxation again;
    REQUIRE(def->relax(c.node, x, &alpha_def, again, nullptr).is_ok());
    {
      int64_t diff = 0;
      std::string first;
      for (int64_t j = 0; j < n; ++j) {
        REQUIRE(alpha_def.lo.get(j) >= 0);
        REQUIRE(alpha_def.lo.get(j) <= 1);
        REQUIRE(alpha_def.hi.get(j) >= 0);
        REQUIRE(alpha_def.hi.get(j) <= 1);
        const auto [l, u] = iv[static_cast<size_t>(j)];
        // Compare the two lines at the interval's (finite) ends.
        for (double p : {l, u, 0.5 * l + 0.5 * u}) {
          if (!std::isfinite(p))
            continue;
          const std::pair<const Tensor*, const Tensor*> sides[2] = {{&def_r.al, &def_r.bl},
                                                                    {&def_r.au, &def_r.bu}};
          const std::pair<const Tensor*, const Tensor*> sides2[2] = {{&again.al, &again.bl},
                                                                     {&again.au, &again.bu}};
          for (int s = 0; s < 2; ++s) {
            const double a1 = sides[s].first->get(j), b1 = sides[s].second->get(j);
            const double a2 = sides2[s].first->get(j), b2 = sides2[s].second->get(j);
            const double v1 = at(a1, b1, p), v2 = at(a2, b2, p);
            if (v1 == v2)
              continue;
            const double tol = 1e-9 * (1 + std::abs(v1) + std::abs(a1 * p) + std::abs(b1));
            if (!(std::abs(v1 - v2) <= tol) && diff++ == 0) {
              std::ostringstream os;
              os.precision(17);
              os << "on [" << l << ", " << u << "] side " << s << " at " << p << ": default " << a1
                 << " x + " << b1 << ", from alpha_default (" << alpha_def.lo.get(j) << ", "
                 << alpha_def.hi.get(j) << ") " << a2 << " x + " << b2;
              first = os.str();
            }
          }
        }
      }
      INFO(first);
      CHECK(diff == 0);
    }
    // Random alphas, including the ends 0 and 1.
    for (int rep = 0; rep < 6; ++rep) {
      Interval alpha{Tensor(DType::kF64, {n}), Tensor(DType::kF64, {n})};
      for (int64_t j = 0; j < n; ++j) {
        const double a = rep == 0 ? 0.0 : rep == 1 ? 1.0 : uniform(rng, 0, 1);
        const double b = rep == 0 ? 1.0 : rep == 1 ? 0.0 : uniform(rng, 0, 1);
        alpha.lo.set(j, a);
        alpha.hi.set(j, b);
      }
      ElementRelaxation r;
      Interval unused;
      REQUIRE(def->relax(c.node, x, &alpha, r, &unused).is_ok());
      check_lines(c, r, iv, xs, ys, "alpha " + std::to_string(rep), tot);
    }
  }
  WARN("relaxation lines checked: " << tot.lines << ", points: " << tot.points
                                    << ", NaN points skipped: " << tot.skipped_nan);
}

TEST_CASE("relaxations of S-shaped functions follow auto_LiRPA's cases", "[relax]") {
  const OpDef* sig = find_op("Sigmoid");
  Node n;
  n.op = "Sigmoid";
  auto relax1 = [&](double l, double u) {
    Interval x{Tensor::from_vector<double>({1}, {l}), Tensor::from_vector<double>({1}, {u})};
    ElementRelaxation r;
    REQUIRE(sig->relax(n, x, nullptr, r, nullptr).is_ok());
    return r;
  };
  auto s = [](double x) {
    return 1 / (1 + std::exp(-x));
  };
  // u <= 0: upper = chord, lower = tangent at the midpoint.
  auto r = relax1(-3, -1);
  const double k = (s(-1) - s(-3)) / 2;
  CHECK(r.au.get(0) == Approx(k).epsilon(1e-15));
  CHECK(r.bu.get(0) == Approx(s(-3) + 3 * k).epsilon(1e-15));
  CHECK(r.al.get(0) == Approx(s(-2) * (1 - s(-2))).epsilon(1e-15));
  // l >= 0: lower = chord, upper = tangent at the midpoint.
  r = relax1(1, 3);
  CHECK(r.al.get(0) == Approx((s(3) - s(1)) / 2).epsilon(1e-15));
  CHECK(r.au.get(0) == Approx(s(2) * (1 - s(2))).epsilon(1e-15));
  // Crossing 0: the lines touch f or stay on their side; a degenerate point is exact.
  r = relax1(-1, 4);
  CHECK(r.al.get(0) * 4 + r.bl.get(0) <= s(4) + 1e-15);
  CHECK(r.au.get(0) * -1 + r.bu.get(0) >= s(-1) - 1e-15);
  r = relax1(0, 0);
  CHECK(r.al.get(0) == Approx(0.25));
  CHECK(r.bl.get(0) == Approx(0.5));
  CHECK(r.au.get(0) == Approx(0.25));
  CHECK(r.bu.get(0) == Approx(0.5));
}

TEST_CASE("Reciprocal relaxes intervals that are entirely negative", "[relax]") {
  // Regression: 1/x on [-4, -0.5] (concave there): lower = chord, upper = tangent.
  const OpDef* def = find_op("Reciprocal");
  Node n;
  n.op = "Reciprocal";
  Interval x{Tensor::from_vector<double>({2}, {-4, -2}),
             Tensor::from_vector<double>({2}, {-0.5, -2})};
  ElementRelaxation r;
  REQUIRE(def->relax(n, x, nullptr, r, nullptr).is_ok());
  // chord through (-4, -0.25) and (-0.5, -2): slope -1/(l u) = -0.5, intercept 1/l + 1/u
  CHECK(r.al.get(0) == Approx(-0.5));
  CHECK(r.bl.get(0) == Approx(-2.25));
  // tangent at the midpoint -2.25: slope -1/t^2, intercept 2/t
  CHECK(r.au.get(0) == Approx(-1 / (2.25 * 2.25)));
  CHECK(r.bu.get(0) == Approx(2 / -2.25));
  // a point: both lines are the tangent at -2
  CHECK(r.al.get(1) * -2 + r.bl.get(1) == Approx(-0.5));
  CHECK(r.au.get(1) * -2 + r.bu.get(1) == Approx(-0.5));
  // crossing 0: unbounded, never NaN
  Interval z{Tensor::from_vector<double>({1}, {-1}), Tensor::from_vector<double>({1}, {1})};
  REQUIRE(def->relax(n, z, nullptr, r, nullptr).is_ok());
  CHECK(r.al.get(0) == 0);
  CHECK(r.bl.get(0) == -kInf);
  CHECK(r.au.get(0) == 0);
  CHECK(r.bu.get(0) == kInf);
}

TEST_CASE("Pow and Clip relaxations need constant parameters", "[relax]") {
  const OpDef* pow = find_op("Pow");
  Node n;
  n.op = "Pow";
  n.name = "p";
  n.inputs = {0, 1};
  Interval x{Tensor::from_vector<double>({1}, {1}), Tensor::from_vector<double>({1}, {2})};
  ElementRelaxation r;
  Status st = pow->relax(n, x, nullptr, r, nullptr);
  CHECK(st.code() == ErrorCode::kUnsupported);
  CHECK_THAT(st.message(), Catch::Contains("constant exponent"));
  // Through the CROWN rule: a non-constant exponent is refused, a constant one works.
  Tensor a = Tensor::from_vector<double>({1, 1}, {1});
  std::vector<Interval> in{
      x, {Tensor::from_vector<double>({1}, {2}), Tensor::from_vector<double>({1}, {3})}};
  bool flags[2] = {false, false};
  std::vector<TypeInfo> out_types(1);
  out_types[0].shape = {1};
  std::vector<Tensor> a_in;
  Tensor bias(DType::kF64, {1});
  st = pow->crown(
      n, in, std::span<const bool>(flags, 2), out_types, a, true, a_in, bias, ExecContext{1});
  CHECK(st.code() == ErrorCode::kUnsupported);
  in[1] = {Tensor::from_vector<double>({1}, {2}), Tensor::from_vector<double>({1}, {2})};
  flags[1] = true;
  st = pow->crown(
      n, in, std::span<const bool>(flags, 2), out_types, a, true, a_in, bias, ExecContext{1});
  REQUIRE(st.is_ok());
  // x^2 on [1, 2], lower = tangent at 1.5: 3 x - 2.25
  CHECK(a_in[0].get(0) == Approx(3));
  CHECK(bias.get(0) == Approx(-2.25));

  const OpDef* clip = find_op("Clip");
  Node c;
  c.op = "Clip";
  c.name = "c";
  c.inputs = {0, 1};
  st = clip->relax(c, x, nullptr, r, nullptr);
  CHECK(st.code() == ErrorCode::kUnsupported);
  CHECK_THAT(st.message(), Catch::Contains("constant min"));
}

TEST_CASE("apply_element_relaxation ignores zero coefficients on unbounded lines", "[relax]") {
  ElementRelaxation r{Tensor::from_vector<double>({2}, {0, 1}),
                      Tensor::from_vector<double>({2}, {-kInf, 0}),
                      Tensor::from_vector<double>({2}, {0, 1}),
                      Tensor::from_vector<double>({2}, {kInf, 0})};
  Tensor a = Tensor::from_vector<double>({1, 2}, {0, 2});
  Tensor a_in, bias(DType::kF64, {1});
  ops::apply_element_relaxation(r, a, true, a_in, bias);
  CHECK(bias.get(0) == 0);
  CHECK(a_in.get(0) == 0);
  CHECK(a_in.get(1) == 2);
}

namespace {

// A float32 tensor with uniform values in [a, b].
Tensor rand_f32(Rng& r, const Shape& s, double a, double b) {
  std::vector<float> v(static_cast<size_t>(shape_numel(s)));
  for (float& x : v)
    x = static_cast<float>(uniform(r, a, b));
  return Tensor::from_vector<float>(s, v);
}

}  // namespace

TEST_CASE("CROWN bounds of random graphs with smooth activations contain sampled outputs",
          "[relax][crown]") {
  Rng rng(4242);
  struct Act {
    std::string op;
    std::vector<Tensor> consts;  // constant inputs after x
    bool positive = false;       // needs x > 0 (or >= 0): fed through Softplus + 0.05 first
  };
  const Tensor none;
  const std::vector<Act> acts = {{"Sigmoid", {}},
                                 {"Tanh", {}},
                                 {"Erf", {}},
                                 {"Exp", {}},
                                 {"Softplus", {}},
                                 {"Abs", {}},
                                 {"Log", {}, true},
                                 {"Sqrt", {}, true},
                                 {"Reciprocal", {}, true},
                                 {"Pow", {scalar(2)}},
                                 {"Pow", {scalar(3)}},
                                 {"Pow", {scalar(1.5)}, true},
                                 {"Pow", {scalar(-1)}, true},
                                 {"Clip", {scalar(-0.5), scalar(0.7)}},
                                 {"Clip", {none, scalar(0.2)}}};
  int64_t checked = 0, nan_skipped = 0, unbounded = 0;
  for (size_t trial = 0; trial < acts.size() * 3; ++trial) {
    const Act& act = acts[trial % acts.size()];
    const Act& act2 = acts[(trial * 7 + 3) % acts.size()];
    INFO("trial " << trial << ": " << act.op << " then " << act2.op);
    test::OnnxBuilder b(13);
    const int64_t d = 3 + static_cast<int64_t>(trial % 3);
    b.input("x", DType::kF32, {1, d});
    b.initializer("w1", rand_f32(rng, {6, d}, -1, 1))
        .initializer("b1", rand_f32(rng, {6}, -0.5, 0.5));
    b.initializer("w2", rand_f32(rng, {5, 6}, -1, 1))
        .initializer("b2", rand_f32(rng, {5}, -0.5, 0.5));
    b.initializer("w3", rand_f32(rng, {3, 5}, -1, 1));
    b.initializer("shift", Tensor::from_vector<float>({1}, {0.05f}));
    int consts = 0;
    // h -> activation(h) (through Softplus + 0.05 first when the activation needs x > 0)
    auto activation = [&](const Act& a, const std::string& in, const std::string& out) {
      std::string src = in;
      if (a.positive) {
        b.node("Softplus", {in}, {in + "_sp"}).node("Add", {in + "_sp", "shift"}, {in + "_pos"});
        src = in + "_pos";
      }
      std::vector<std::string> ins{src};
      for (const Tensor& t : a.consts) {
        if (!t.is_valid()) {
          ins.emplace_back("");
          continue;
        }
        const std::string name = "k" + std::to_string(++consts);
        b.initializer(name, t.to(DType::kF32));
        ins.push_back(name);
      }
      b.node(a.op, ins, {out});
    };
    b.node("Gemm", {"x", "w1", "b1"}, {"h1"}).attr("transB", int64_t{1});
    activation(act, "h1", "a1");
    b.node("Gemm", {"a1", "w2", "b2"}, {"h2"}).attr("transB", int64_t{1});
    activation(act2, "h2", "a2");
    b.node("Gemm", {"a2", "w3"}, {"y"}).attr("transB", int64_t{1});
    b.output("y");
    auto m = b.load();
    INFO((m ? std::string("loaded") : m.status().to_string()));
    REQUIRE(m.has_value());
    Tensor lo(DType::kF64, {1, d}), hi(DType::kF64, {1, d});
    for (int64_t i = 0; i < d; ++i) {
      const double c = uniform(rng, -1, 1), w = trial % 4 == 0 ? 0.0 : log_uniform(rng, -3, 0);
      lo.set(i, c - w);
      hi.set(i, c + w);
    }
    auto r = crown_bounds(m->graph, {{lo, hi}});
    INFO((r ? std::string("bounded") : r.status().to_string()));
    REQUIRE(r.has_value());
    for (int64_t k = 0; k < 3; ++k) {
      REQUIRE_FALSE(std::isnan(r->bounds.lo.get(k)));
      REQUIRE_FALSE(std::isnan(r->bounds.hi.get(k)));
      if (!std::isfinite(r->bounds.lo.get(k)) || !std::isfinite(r->bounds.hi.get(k)))
        ++unbounded;  // a Log/Reciprocal input whose CROWN lower bound reaches 0
    }
    RunOptions ro;
    ro.dtype = DType::kF64;
    ro.threads = 1;
    auto ex = Executor::create(m->graph, ro);
    REQUIRE(ex.has_value());
    for (int s = 0; s < 2000; ++s) {
      Tensor x(DType::kF64, {1, d});
      for (int64_t i = 0; i < d; ++i) {
        const double t = s < 32 ? static_cast<double>((s >> (i % 5)) & 1) : uniform(rng, 0, 1);
        x.set(i, lo.get(i) + t * (hi.get(i) - lo.get(i)));
      }
      auto y = ex->run({x});
      REQUIRE(y.has_value());
      for (int64_t k = 0; k < 3; ++k) {
        const double v = (*y)[0].get(k);
        if (std::isnan(v)) {
          ++nan_skipped;
          continue;
        }
        const double l = r->bounds.lo.get(k), h = r->bounds.hi.get(k);
        INFO("sample " << s << " output " << k << ": " << v << " not in [" << l << ", " << h
                       << "]");
        REQUIRE(v >= l - 1e-9 * (1 + std::abs(l)));
        REQUIRE(v <= h + 1e-9 * (1 + std::abs(h)));
        ++checked;
      }
    }
  }
  CHECK(nan_skipped == 0);
  CHECK(unbounded * 10 < static_cast<int64_t>(acts.size()) * 3 * 3);  // seen: 9 of 135
  WARN("graph-level CROWN checks: " << checked
                                    << " sampled outputs; infinite output bounds: " << unbounded);
}

}  // namespace nncert
