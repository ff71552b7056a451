#include "bounds/perturbation.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <memory>
#include <new>
#include <string>

#include "core/parallel.h"

namespace nncert {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double clamp(double v, double lo, double hi) {
  return std::min(std::max(v, lo), hi);
}

// Distance of v from [lo, hi] (0 inside).
double dist_to_range(double v, double lo, double hi) {
  return v < lo ? lo - v : (v > hi ? v - hi : 0.0);
}

bool all_finite(const std::vector<double>& v) {
  return std::all_of(v.begin(), v.end(), [](double x) { return std::isfinite(x); });
}

// Relative slack for "the ball reaches the clip box": a set that is empty by a rounding error is
// treated as the single nearest point (any bound over an empty set is vacuously sound).
constexpr double kTouchSlack = 1e-12;

// The set without the linear constraints, ready to minimise over: Linf balls are folded into
// their (clipped) box.
struct BaseSet {
  enum class Kind { kBox, kL2, kL1 } kind = Kind::kBox;
  int64_t n = 0;
  std::vector<double> c;       // ball centre
  double eps = 0;              // ball radius
  std::vector<double> lo, hi;  // kBox: the box; balls: the clip box (empty: none)
  bool clip = false;
};

BaseSet make_base(const Perturbation& p) {
  BaseSet b;
  b.n = p.size();
  switch (p.kind) {
    case Perturbation::Kind::kBox:
      b.lo = p.lo;
      b.hi = p.hi;
      break;
    case Perturbation::Kind::kLinf:
      b.lo.resize(static_cast<size_t>(b.n));
      b.hi.resize(static_cast<size_t>(b.n));
      for (size_t j = 0; j < b.lo.size(); ++j) {
        b.lo[j] = p.center[j] - p.eps;
        b.hi[j] = p.center[j] + p.eps;
        if (p.has_clip()) {
          b.lo[j] = std::max(b.lo[j], p.lo[j]);
          b.hi[j] = std::min(b.hi[j], p.hi[j]);
          if (b.lo[j] > b.hi[j])  // crossed by rounding only (validate checks the distance)
            b.lo[j] = b.hi[j] = clamp(p.center[j], p.lo[j], p.hi[j]);
        }
      }
      break;
    case Perturbation::Kind::kL2:
    case Perturbation::Kind::kL1:
      b.kind = p.kind == Perturbation::Kind::kL2 ? BaseSet::Kind::kL2 : BaseSet::Kind::kL1;
      b.c = p.center;
      b.eps = p.eps;
      b.clip = p.has_clip();
      if (b.clip) {
        b.lo = p.lo;
        b.hi = p.hi;
      }
      break;
  }
  return b;
}

struct Scratch {
  std::vector<double> t;     // L2 ∩ box: breakpoints
  std::vector<int64_t> idx;  // L1 ∩ box: coordinates by decreasing |d|
};

// L2 ∩ box: x_j(t) = clamp(c_j - d_j t, lo_j, hi_j), the minimiser over the box of
// d.x + (1 / 2t) ||x - c||^2.
double l2_x(const BaseSet& b, const double* d, double t, int64_t j) {
  return clamp(b.c[j] - d[j] * t, b.lo[j], b.hi[j]);
}

double l2_phi2(const BaseSet& b, const double* d, double t) {
  double s = 0;
  for (int64_t j = 0; j < b.n; ++j) {
    const double e = l2_x(b, d, t, j) - b.c[j];
    s += e * e;
  }
  return s;
}

// min d.x over ||x - c||_2 <= eps, lo <= x <= hi. Lagrangian duality on the ball constraint:
// for mu > 0, g(mu) = min_{x in box} d.x + mu (||x - c||^2 - eps^2) <= the minimum, attained by
// x(t) with t = 1 / (2 mu). ||x(t) - c||^2 is continuous, non-decreasing and piecewise
// K t^2 + C between the breakpoints where coordinates hit the box; the t* where it reaches eps^2
// gives a feasible x(t*) with g(mu*) = d.x(t*) (strong duality). The breakpoint interval holding
// t* is found by binary search, then t* in closed form. Returns g(mu*) (sound for any t*).
double l2_box_min(const BaseSet& b, const double* d, double* x, Scratch& sc) {
  const int64_t n = b.n;
  const double eps2 = b.eps * b.eps;
  // The box minimiser (t -> inf), with coordinates of zero d at the point nearest c.
  double phi_inf = 0;
  for (int64_t j = 0; j < n; ++j) {
    x[j] = d[j] > 0 ? b.lo[j] : (d[j] < 0 ? b.hi[j] : clamp(b.c[j], b.lo[j], b.hi[j]));
    const double e = x[j] - b.c[j];
    phi_inf += e * e;
  }
  if (phi_inf <= eps2) {
    double v = 0;
    for (int64_t j = 0; j < n; ++j)
      v += d[j] * x[j];
    return v;
  }
  auto& ts = sc.t;
  ts.clear();
  for (int64_t j = 0; j < n; ++j) {
    if (d[j] == 0)
      continue;
    const double t1 = (b.c[j] - b.hi[j]) / d[j];
    const double t2 = (b.c[j] - b.lo[j]) / d[j];
    const double t_in = std::min(t1, t2), t_out = std::max(t1, t2);
    if (t_out <= 0)
      continue;
    if (t_in > 0)
      ts.push_back(t_in);
    ts.push_back(t_out);
  }
  std::sort(ts.begin(), ts.end());
  ts.erase(std::unique(ts.begin(), ts.end()), ts.end());
  // phi2 at the last breakpoint equals phi_inf > eps2: the first breakpoint past eps2 exists.
  size_t lo_i = 0, hi_i = ts.size();
  while (lo_i < hi_i) {
    const size_t mid = (lo_i + hi_i) / 2;
    if (l2_phi2(b, d, ts[mid]) > eps2)
      hi_i = mid;
    else
      lo_i = mid + 1;
  }
  if (lo_i == ts.size()) {
    // Only by rounding (phi2 at the last breakpoint is phi_inf > eps2): the box minimum is a
    // lower bound.
    double v = 0;
    for (int64_t j = 0; j < n; ++j) {
      x[j] = d[j] > 0 ? b.lo[j] : (d[j] < 0 ? b.hi[j] : clamp(b.c[j], b.lo[j], b.hi[j]));
      v += d[j] * x[j];
    }
    return v;
  }
  double t_star = 0;
  {
    const double ta = lo_i > 0 ? ts[lo_i - 1] : 0.0, tb = ts[lo_i];
    const double tm = 0.5 * (ta + tb);
    double k = 0, c0 = 0;
    for (int64_t j = 0; j < n; ++j) {
      const double u = b.c[j] - d[j] * tm;
      if (d[j] != 0 && u > b.lo[j] && u < b.hi[j]) {
        k += d[j] * d[j];
      } else {
        const double e = clamp(u, b.lo[j], b.hi[j]) - b.c[j];
        c0 += e * e;
      }
    }
    // k == 0 would mean phi2 is flat here (rounding only): any t > 0 gives a sound dual value.
    t_star = k > 0 ? clamp(std::sqrt(std::max(0.0, eps2 - c0) / k), ta, tb) : tb;
  }
  double v = 0, phi2 = 0;
  for (int64_t j = 0; j < n; ++j) {
    x[j] = l2_x(b, d, t_star, j);
    v += d[j] * x[j];
    const double e = x[j] - b.c[j];
    phi2 += e * e;
  }
  if (t_star <= 0)
    return v;  // the ball only touches the box, at the point nearest c: the set is that point
  return v + (phi2 - eps2) / (2 * t_star);
}

// min d.x over ||x - c||_1 <= eps, lo <= x <= hi: a fractional knapsack. Start at p, the box
// point nearest c (its distance is forced); every further unit moved inside the box costs one
// unit of the remaining budget, so move coordinates towards their minimising bound in order of
// decreasing |d_j|.
double l1_box_min(const BaseSet& b, const double* d, double* x, Scratch& sc) {
  const int64_t n = b.n;
  double budget = b.eps;
  for (int64_t j = 0; j < n; ++j) {
    x[j] = clamp(b.c[j], b.lo[j], b.hi[j]);
    budget -= std::abs(x[j] - b.c[j]);
  }
  auto& idx = sc.idx;
  idx.clear();
  for (int64_t j = 0; j < n; ++j)
    if (d[j] != 0)
      idx.push_back(j);
  std::sort(idx.begin(), idx.end(), [&](int64_t i, int64_t j) {
    return std::abs(d[i]) > std::abs(d[j]) || (std::abs(d[i]) == std::abs(d[j]) && i < j);
  });
  for (int64_t j : idx) {
    if (budget <= 0)
      break;
    if (d[j] > 0) {
      const double move = std::min(x[j] - b.lo[j], budget);
      x[j] = move == x[j] - b.lo[j] ? b.lo[j] : x[j] - move;
      budget -= move;
    } else {
      const double move = std::min(b.hi[j] - x[j], budget);
      x[j] = move == b.hi[j] - x[j] ? b.hi[j] : x[j] + move;
      budget -= move;
    }
  }
  double v = 0;
  for (int64_t j = 0; j < n; ++j)
    v += d[j] * x[j];
  return v;
}

// A lower bound of min d.x over the base set (the minimum itself up to rounding), and in x a
// point of the set attaining it.
double base_min(const BaseSet& b, const double* d, double* x, Scratch& sc) {
  const int64_t n = b.n;
  switch (b.kind) {
    case BaseSet::Kind::kBox: {
      double v = 0;
      for (int64_t j = 0; j < n; ++j) {
        x[j] = d[j] >= 0 ? b.lo[j] : b.hi[j];
        v += d[j] * x[j];
      }
      return v;
    }
    case BaseSet::Kind::kL2: {
      if (b.clip)
        return l2_box_min(b, d, x, sc);
      // Dual norm: min = d.c - eps ||d||_2 at c - eps d / ||d||_2.
      double dc = 0, scale = 0;
      for (int64_t j = 0; j < n; ++j) {
        dc += d[j] * b.c[j];
        scale = std::max(scale, std::abs(d[j]));
      }
      double nrm = 0;
      if (scale > 0) {
        double s2 = 0;
        for (int64_t j = 0; j < n; ++j) {
          const double q = d[j] / scale;
          s2 += q * q;
        }
        nrm = scale * std::sqrt(s2);
      }
      for (int64_t j = 0; j < n; ++j)
        x[j] = nrm > 0 ? b.c[j] - b.eps * (d[j] / nrm) : b.c[j];
      return dc - b.eps * nrm;
    }
    case BaseSet::Kind::kL1: {
      if (b.clip)
        return l1_box_min(b, d, x, sc);
      // Dual norm: min = d.c - eps ||d||_inf at c - eps sign(d_k) e_k, k = argmax |d_k|.
      double dc = 0;
      int64_t k = -1;
      double dk = 0;
      for (int64_t j = 0; j < n; ++j) {
        dc += d[j] * b.c[j];
        x[j] = b.c[j];
        if (std::abs(d[j]) > dk) {
          dk = std::abs(d[j]);
          k = j;
        }
      }
      if (k >= 0)
        x[k] -= d[k] > 0 ? b.eps : -b.eps;
      return dc - b.eps * dk;
    }
  }
  return -kInf;
}

// Constraints with rows normalised to unit 2-norm (all-zero rows, 0 <= h with h >= 0, dropped).
struct NormalizedConstraints {
  int64_t m = 0;
  std::vector<double> g;  // [m, n]
  std::vector<double> h;  // [m]
};

NormalizedConstraints normalize_constraints(const LinearConstraints& lc) {
  NormalizedConstraints nc;
  for (size_t i = 0; i < lc.g.size(); ++i) {
    const auto& row = lc.g[i];
    double scale = 0;
    for (double v : row)
      scale = std::max(scale, std::abs(v));
    if (scale == 0)
      continue;
    double s2 = 0;
    for (double v : row)
      s2 += (v / scale) * (v / scale);
    const double nrm = scale * std::sqrt(s2);
    for (double v : row)
      nc.g.push_back(v / nrm);
    nc.h.push_back(lc.h[i] / nrm);
    ++nc.m;
  }
  return nc;
}

struct RowWork {
  std::vector<double> d, x, lam, m1, v2, grad, neg;
  Scratch sc;
  explicit RowWork(int64_t n, int64_t m)
      : d(static_cast<size_t>(n)),
        x(static_cast<size_t>(n)),
        lam(static_cast<size_t>(m)),
        m1(static_cast<size_t>(m)),
        v2(static_cast<size_t>(m)),
        grad(static_cast<size_t>(m)),
        neg(static_cast<size_t>(n)) {
    // Reserved here so that base_min never allocates (it runs on worker threads).
    sc.t.reserve(static_cast<size_t>(2 * n));
    sc.idx.reserve(static_cast<size_t>(n));
  }
};

// min a.x over base ∩ {G x <= h}: the best Lagrangian dual value found, +inf when the dual
// exceeds the maximum over the base set (the set is then empty). x_out: a feasible point within
// 1e-12 relative of the bound when one was met, else NaN.
double constrained_min(const BaseSet& b,
                       const NormalizedConstraints& nc,
                       const double* a,
                       double* x_out,
                       const ConcretizeOptions& o,
                       RowWork& w) {
  const int64_t n = b.n, m = nc.m;
  double scale = 0;
  for (int64_t j = 0; j < n; ++j)
    scale = std::max(scale, std::abs(a[j]));
  if (scale > 0) {
    double s2 = 0;
    for (int64_t j = 0; j < n; ++j)
      s2 += (a[j] / scale) * (a[j] / scale);
    scale *= std::sqrt(s2);
  }
  const double inv = scale > 0 ? 1 / scale : 0.0;
  // An upper bound of max a~.x over the base set (a~ = a / ||a||): the emptiness test.
  for (int64_t j = 0; j < n; ++j)
    w.neg[j] = -a[j] * inv;
  const double upper = -base_min(b, w.neg.data(), w.x.data(), w.sc);
  std::fill(w.lam.begin(), w.lam.end(), 0.0);
  std::fill(w.m1.begin(), w.m1.end(), 0.0);
  std::fill(w.v2.begin(), w.v2.end(), 0.0);
  double best = -kInf, best_primal = kInf;
  bool have_point = false;
  const int iters = std::max(1, o.dual_iterations);
  const double decay = std::pow(o.final_lr_fraction, 1.0 / iters);
  double lr = o.lr;
  constexpr double kB1 = 0.9, kB2 = 0.999;
  double b1t = 1, b2t = 1;
  for (int it = 0; it < iters; ++it) {
    // d = a~ + G^T lam; L(lam) = min_x d.x - lam.h.
    for (int64_t j = 0; j < n; ++j)
      w.d[j] = a[j] * inv;
    double lh = 0;
    for (int64_t i = 0; i < m; ++i) {
      const double li = w.lam[i];
      if (li == 0)
        continue;
      lh += li * nc.h[i];
      const double* gi = nc.g.data() + i * n;
      for (int64_t j = 0; j < n; ++j)
        w.d[j] += li * gi[j];
    }
    const double val = base_min(b, w.d.data(), w.x.data(), w.sc) - lh;
    if (!std::isnan(val))
      best = std::max(best, val);
    if (best > upper + 1e-9 * (1 + std::abs(upper) + std::abs(best))) {
      if (x_out != nullptr)
        std::fill(x_out, x_out + n, kNaN);
      return kInf;
    }
    // Supergradient G x - h; x is a primal point when feasible.
    double xmax = 0, ax = 0;
    for (int64_t j = 0; j < n; ++j) {
      xmax = std::max(xmax, std::abs(w.x[j]));
      ax += a[j] * inv * w.x[j];
    }
    bool feasible = true;
    for (int64_t i = 0; i < m; ++i) {
      const double* gi = nc.g.data() + i * n;
      double r = -nc.h[i];
      for (int64_t j = 0; j < n; ++j)
        r += gi[j] * w.x[j];
      w.grad[i] = r;
      if (r > 1e-12 * (1 + xmax + std::abs(nc.h[i])))
        feasible = false;
    }
    if (feasible && ax < best_primal) {
      best_primal = ax;
      if (x_out != nullptr)
        std::copy(w.x.begin(), w.x.end(), x_out);
      have_point = true;
    }
    if (have_point && best_primal - best <= 1e-12 * (1 + std::abs(best)))
      break;  // the duality gap is closed
    b1t *= kB1;
    b2t *= kB2;
    // Steps relative to the largest multiplier: large optimal multipliers (nearly parallel
    // constraints) are reached geometrically fast.
    double lmax = 1;
    for (int64_t i = 0; i < m; ++i)
      lmax = std::max(lmax, w.lam[i]);
    for (int64_t i = 0; i < m; ++i) {
      w.m1[i] = kB1 * w.m1[i] + (1 - kB1) * w.grad[i];
      w.v2[i] = kB2 * w.v2[i] + (1 - kB2) * w.grad[i] * w.grad[i];
      const double mh = w.m1[i] / (1 - b1t), vh = w.v2[i] / (1 - b2t);
      w.lam[i] = std::max(0.0, w.lam[i] + lr * lmax * mh / (std::sqrt(vh) + 1e-12));
    }
    lr *= decay;
  }
  if (x_out != nullptr && !(have_point && best_primal - best <= 1e-12 * (1 + std::abs(best))))
    std::fill(x_out, x_out + n, kNaN);
  return best * scale;
}

}  // namespace

Perturbation Perturbation::box(std::vector<double> lo, std::vector<double> hi) {
  Perturbation p;
  p.kind = Kind::kBox;
  p.lo = std::move(lo);
  p.hi = std::move(hi);
  return p;
}

Perturbation Perturbation::ball(Kind kind,
                                std::vector<double> center,
                                double eps,
                                std::vector<double> clip_lo,
                                std::vector<double> clip_hi) {
  Perturbation p;
  p.kind = kind;
  p.center = std::move(center);
  p.eps = eps;
  p.lo = std::move(clip_lo);
  p.hi = std::move(clip_hi);
  return p;
}

const char* perturbation_kind_name(Perturbation::Kind kind) {
  switch (kind) {
    case Perturbation::Kind::kBox:
      return "box";
    case Perturbation::Kind::kLinf:
      return "Linf";
    case Perturbation::Kind::kL2:
      return "L2";
    case Perturbation::Kind::kL1:
      return "L1";
  }
  return "?";
}

Status Perturbation::validate() const {
  const int64_t n = size();
  const auto un = static_cast<size_t>(n);
  const bool ball = kind != Kind::kBox;
  if (kind != Kind::kBox && kind != Kind::kLinf && kind != Kind::kL2 && kind != Kind::kL1)
    return {ErrorCode::kInvalidArgument, "unknown perturbation kind"};
  if (ball) {
    if (!std::isfinite(eps) || eps < 0)
      return {ErrorCode::kInvalidArgument,
              "eps must be a finite number >= 0 (got " + std::to_string(eps) + ")"};
    if (!all_finite(center))
      return {ErrorCode::kInvalidArgument, "the ball centre holds NaN or infinite values"};
    if (lo.size() != hi.size())
      return {ErrorCode::kShapeMismatch, "the clip box needs as many lower as upper values"};
    if (!lo.empty() && lo.size() != un)
      return {ErrorCode::kShapeMismatch,
              "the clip box has " + std::to_string(lo.size()) + " values, the centre " +
                  std::to_string(n)};
  } else {
    if (!center.empty())
      return {ErrorCode::kInvalidArgument, "a box has no centre"};
    if (lo.size() != hi.size())
      return {ErrorCode::kShapeMismatch,
              "the box has " + std::to_string(lo.size()) + " lower and " +
                  std::to_string(hi.size()) + " upper values"};
  }
  const char* what = ball ? "clip box" : "box";
  for (size_t j = 0; j < lo.size(); ++j) {
    if (!std::isfinite(lo[j]) || !std::isfinite(hi[j]))
      return {ErrorCode::kInvalidArgument,
              std::string(what) + " value at element " + std::to_string(j) + " is NaN or infinite"};
    if (!(lo[j] <= hi[j]))
      return {ErrorCode::kInvalidArgument,
              std::string(what) + " lower > upper at element " + std::to_string(j)};
  }
  if (has_clip()) {
    // The clip box must meet the ball.
    double dist = 0;
    for (size_t j = 0; j < un; ++j) {
      const double dj = dist_to_range(center[j], lo[j], hi[j]);
      if (kind == Kind::kLinf) {
        if (dj > eps)
          return {ErrorCode::kInvalidArgument,
                  "the clip box does not meet the Linf ball at element " + std::to_string(j)};
      } else {
        dist += kind == Kind::kL2 ? dj * dj : dj;
      }
    }
    if (kind == Kind::kL2)
      dist = std::sqrt(dist);
    if (kind != Kind::kLinf && dist > eps * (1 + kTouchSlack))
      return {ErrorCode::kInvalidArgument,
              std::string("the clip box does not meet the ") + perturbation_kind_name(kind) +
                  " ball (distance " + std::to_string(dist) + " > eps " + std::to_string(eps) +
                  ")"};
  }
  if (constraints.g.size() != constraints.h.size())
    return {ErrorCode::kShapeMismatch,
            "linear constraints: " + std::to_string(constraints.g.size()) + " rows of G but " +
                std::to_string(constraints.h.size()) + " values of h"};
  for (size_t i = 0; i < constraints.g.size(); ++i) {
    const auto& row = constraints.g[i];
    if (row.size() != un)
      return {ErrorCode::kShapeMismatch,
              "linear constraints: row " + std::to_string(i) + " of G has " +
                  std::to_string(row.size()) + " values, the input has " + std::to_string(n)};
    if (!all_finite(row) || !std::isfinite(constraints.h[i]))
      return {ErrorCode::kInvalidArgument,
              "linear constraints: row " + std::to_string(i) + " holds NaN or infinite values"};
    if (std::all_of(row.begin(), row.end(), [](double v) { return v == 0; }) &&
        constraints.h[i] < 0)
      return {ErrorCode::kInvalidArgument,
              "linear constraints: row " + std::to_string(i) +
                  " reads 0 <= h with h < 0, so the set is empty"};
  }
  return Status::ok();
}

Status Perturbation::validate(int64_t n) const {
  NNCERT_RETURN_IF_ERROR(validate());
  if (size() != n)
    return {ErrorCode::kShapeMismatch,
            std::string("the ") + perturbation_kind_name(kind) + " perturbation has " +
                std::to_string(size()) + " values, the input " + std::to_string(n)};
  return Status::ok();
}

Status concretize(const Perturbation& p,
                  const double* a,
                  int64_t s,
                  int64_t n,
                  bool lower,
                  double* out,
                  double* argopt,
                  const ConcretizeOptions& options) {
  NNCERT_RETURN_IF_ERROR(p.validate(n));
  if (s < 0)
    return {ErrorCode::kInvalidArgument, "concretize: negative number of rows"};
  if (options.dual_iterations < 1 || !(options.lr > 0) || !(options.final_lr_fraction > 0) ||
      options.threads < 0)
    return {ErrorCode::kInvalidArgument,
            "concretize: dual_iterations >= 1, lr > 0, final_lr_fraction > 0, threads >= 0"};
  if (s == 0)
    return Status::ok();
  try {
    const BaseSet base = make_base(p);
    const NormalizedConstraints nc = normalize_constraints(p.constraints);
    const int64_t grain = nc.m > 0 ? 1 : std::max<int64_t>(1, 16384 / (n + 1));
    std::atomic<bool> oom{false};
    parallel_for(s, options.threads, grain, [&](int64_t r0, int64_t r1) {
      // Worker threads must not throw: an allocation failure is reported after the loop.
      std::unique_ptr<RowWork> wp;
      std::vector<double> row;
      try {
        wp = std::make_unique<RowWork>(n, nc.m);
        row.resize(static_cast<size_t>(n));
      } catch (const std::bad_alloc&) {
        oom = true;
        return;
      }
      RowWork& w = *wp;
      for (int64_t r = r0; r < r1; ++r) {
        // max a.x = -min (-a).x
        const double* ar = a + r * n;
        for (int64_t j = 0; j < n; ++j)
          row[static_cast<size_t>(j)] = lower ? ar[j] : -ar[j];
        double* xr = argopt != nullptr ? argopt + r * n : nullptr;
        double v;
        if (nc.m == 0) {
          v = base_min(base, row.data(), xr != nullptr ? xr : w.x.data(), w.sc);
        } else {
          v = constrained_min(base, nc, row.data(), xr, options, w);
        }
        if (std::isnan(v)) {
          v = -kInf;  // nothing known (e.g. NaN coefficients)
          if (xr != nullptr)
            std::fill(xr, xr + n, kNaN);
        }
        out[r] = lower ? v : -v;
      }
    });
    if (oom)
      return {ErrorCode::kOutOfMemory, "out of memory while concretising bounds"};
  } catch (const std::bad_alloc&) {
    return {ErrorCode::kOutOfMemory, "out of memory while concretising bounds"};
  }
  return Status::ok();
}

Expected<Interval> enclosing_box(const Perturbation& p,
                                 const Shape& shape,
                                 bool use_constraints,
                                 const ConcretizeOptions& options) {
  const int64_t n = shape_numel(shape);
  if (n < 0)
    return Status(ErrorCode::kShapeMismatch,
                  "enclosing_box needs a static shape, got " + shape_to_string(shape));
  NNCERT_RETURN_IF_ERROR(p.validate(n));
  try {
    Tensor lo(DType::kF64, shape), hi(DType::kF64, shape);
    double* pl = lo.data<double>();
    double* ph = hi.data<double>();
    const auto un = static_cast<size_t>(n);
    if (p.kind == Perturbation::Kind::kBox || p.kind == Perturbation::Kind::kLinf) {
      const BaseSet b = make_base(p);
      std::copy(b.lo.begin(), b.lo.end(), pl);
      std::copy(b.hi.begin(), b.hi.end(), ph);
    } else if (!p.has_clip()) {
      for (size_t j = 0; j < un; ++j) {
        pl[j] = p.center[j] - p.eps;
        ph[j] = p.center[j] + p.eps;
      }
    } else {
      // Coordinate j ranges over the clip interval within radius r_j of c_j, where r_j is what
      // the ball leaves after every other coordinate moved to its nearest clip value.
      const bool l2 = p.kind == Perturbation::Kind::kL2;
      std::vector<double> forced(un), prefix(un + 1, 0.0), suffix(un + 1, 0.0);
      for (size_t j = 0; j < un; ++j) {
        const double dj = dist_to_range(p.center[j], p.lo[j], p.hi[j]);
        forced[j] = l2 ? dj * dj : dj;
      }
      for (size_t j = 0; j < un; ++j)
        prefix[j + 1] = prefix[j] + forced[j];
      for (size_t j = un; j-- > 0;)
        suffix[j] = suffix[j + 1] + forced[j];
      const double budget = l2 ? p.eps * p.eps : p.eps;
      for (size_t j = 0; j < un; ++j) {
        const double left = std::max(0.0, budget - (prefix[j] + suffix[j + 1]));
        const double r = l2 ? std::sqrt(left) : left;
        const double near = clamp(p.center[j], p.lo[j], p.hi[j]);
        pl[j] = std::min(std::max(p.center[j] - r, p.lo[j]), near);
        ph[j] = std::max(std::min(p.center[j] + r, p.hi[j]), near);
      }
    }
    if (use_constraints && !p.constraints.empty()) {
      // Each coordinate's min and max over the whole set, by concretize on unit rows.
      std::vector<double> eye(un * un, 0.0), vlo(un), vhi(un);
      for (size_t j = 0; j < un; ++j)
        eye[j * un + j] = 1;
      NNCERT_RETURN_IF_ERROR(concretize(p, eye.data(), n, n, true, vlo.data(), nullptr, options));
      NNCERT_RETURN_IF_ERROR(concretize(p, eye.data(), n, n, false, vhi.data(), nullptr, options));
      for (size_t j = 0; j < un; ++j) {
        if (vlo[j] == kInf || vhi[j] == -kInf)
          return Status(ErrorCode::kInvalidArgument,
                        "the linear constraints make the perturbation set empty");
        pl[j] = std::max(pl[j], vlo[j]);
        ph[j] = std::min(ph[j], vhi[j]);
        if (pl[j] > ph[j]) {  // crossed by rounding only: a set this thin is a point
          const double mid = 0.5 * (pl[j] + ph[j]);
          pl[j] = ph[j] = mid;
        }
      }
    }
    return Interval{lo, hi};
  } catch (const std::bad_alloc&) {
    return Status(ErrorCode::kOutOfMemory, "out of memory in enclosing_box");
  }
}

Expected<bool> proven_empty(const Perturbation& p, const ConcretizeOptions& options) {
  const int64_t n = p.size();
  std::vector<double> zero(static_cast<size_t>(n), 0.0);
  double v = 0;
  NNCERT_RETURN_IF_ERROR(concretize(p, zero.data(), 1, n, true, &v, nullptr, options));
  return v == kInf;
}

}  // namespace nncert
