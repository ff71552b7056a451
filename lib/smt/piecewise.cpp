// The piecewise-linear ops of the exact encoding, all as y = max (or min) of linear candidates
// c_i with sound intervals [lo_i, hi_i]. Two encodings:
//
// Case split (default): Boolean b_i -> y <= c_i, OR_i b_i, y >= c_i for all i; for ReLU also the
// chord y <= u (x - l) / (u - l) (the LP hull, "Planet", Ehlers 2017). Z3's SAT core branches on
// the b_i and the arithmetic solver propagates: measured 10-60x faster than big-M below.
//
// Big-M over 0/1 integer indicators d_i (sum d_i = 1, d_i = 1 selects the candidate that
// attains the max):
//   y >= c_i                                   for every i
//   y <= c_i + (max_{j != i} hi_j - lo_i) (1 - d_i)
// (Tjeng, Xiao, Tedrake, "Evaluating Robustness of Neural Networks with Mixed Integer
// Programming", ICLR 2019). For ReLU = max(x, 0) with one indicator d this is the usual
//   y >= 0, y >= x, y <= u d, y <= x - l (1 - d).
// Candidates that can never be the max (hi_i <= max_j lo_j) are dropped, so stable neurons need no
// indicator. The intervals must be sound for the real-valued network.
#include <algorithm>
#include <cmath>

#include "smt/encoder.h"

namespace nncert::smt {

namespace {

// Outward by two ulps: covers one product rounded in double.
double down(double v) {
  return std::nextafter(std::nextafter(v, -INFINITY), -INFINITY);
}
double up(double v) {
  return std::nextafter(std::nextafter(v, INFINITY), INFINITY);
}

Candidate scaled(const Candidate& c, double a) {
  if (a == -1)
    return {-c.e, -c.hi, -c.lo};
  const double p = a * c.lo, q = a * c.hi;
  return {real_num(c.e.ctx(), a) * c.e, down(std::min(p, q)), up(std::max(p, q))};
}

}  // namespace

std::optional<z3::expr> Encoder::max_of(std::vector<Candidate> c) {
  NNCERT_CHECK(!c.empty(), "max of nothing");
  size_t best = 0;
  for (size_t i = 1; i < c.size(); ++i)
    if (c[i].lo > c[best].lo)
      best = i;
  const double floor = c[best].lo;
  std::vector<Candidate> keep;
  for (size_t i = 0; i < c.size(); ++i)
    if (i == best || c[i].hi > floor)
      keep.push_back(c[i]);
  if (keep.size() == 1)
    return keep[0].e;
  for (const Candidate& k : keep)
    if (!std::isfinite(k.lo) || !std::isfinite(k.hi))
      return std::nullopt;
  ++disjunctions_;
  double top = -INFINITY;
  for (const Candidate& k : keep)
    top = std::max(top, k.hi);
  z3::expr y = fresh_real();
  s_.add(y >= real_num(ctx_, floor));
  s_.add(y <= real_num(ctx_, top));
  if (!big_m_) {
    // Case split on Booleans: b_i -> y = c_i, one b_i holds; y >= c_i.
    z3::expr_vector bs(ctx_);
    for (size_t i = 0; i < keep.size(); ++i) {
      if (!keep[i].e.is_numeral()) {
        s_.add(keep[i].e >= real_num(ctx_, keep[i].lo));
        s_.add(keep[i].e <= real_num(ctx_, keep[i].hi));
      }
      s_.add(y >= keep[i].e);
      z3::expr b = ctx_.bool_const(("b" + std::to_string(integer_vars_++)).c_str());
      s_.add(z3::implies(b, y <= keep[i].e));
      bs.push_back(b);
    }
    s_.add(z3::mk_or(bs));
    if (keep.size() == 2 && keep[1].e.is_numeral() && keep[1].lo == 0 && keep[1].hi == 0) {
      // ReLU's chord: y <= u (x - l) / (u - l).
      const double l = keep[0].lo, u = keep[0].hi;
      s_.add(y * real_num(ctx_, u - l) <= real_num(ctx_, u) * (keep[0].e - real_num(ctx_, l)));
    }
    return y;
  }
  z3::expr_vector ds(ctx_);
  for (size_t i = 0; i < keep.size(); ++i) {
    // The candidate's own interval (tightening; a no-op for numerals).
    if (!keep[i].e.is_numeral()) {
      s_.add(keep[i].e >= real_num(ctx_, keep[i].lo));
      s_.add(keep[i].e <= real_num(ctx_, keep[i].hi));
    }
    s_.add(y >= keep[i].e);
    // Two candidates share one indicator: d_1 = d, d_2 = 1 - d.
    z3::expr d = ctx_.real_val(0);
    if (keep.size() == 2 && i == 1) {
      d = 1 - ds[0];
    } else {
      z3::expr di = ctx_.int_const(("d" + std::to_string(integer_vars_++)).c_str());
      s_.add(di >= 0 && di <= 1);
      d = z3::to_real(di);
      ds.push_back(d);
    }
    double other = -INFINITY;
    for (size_t j = 0; j < keep.size(); ++j)
      if (j != i)
        other = std::max(other, keep[j].hi);
    const double big_m = std::max(0.0, other - keep[i].lo);
    // big_m rounded upward: the constraint only gets weaker.
    s_.add(y <= keep[i].e + real_num(ctx_, up(big_m)) * (1 - d));
  }
  if (keep.size() > 2)
    s_.add(z3::sum(ds) == 1);
  return y;
}

std::optional<z3::expr> Encoder::min_of(std::vector<Candidate> c) {
  for (Candidate& k : c)
    k = {-k.e, -k.hi, -k.lo};
  std::optional<z3::expr> m = max_of(std::move(c));
  if (!m)
    return std::nullopt;
  return -*m;
}

// Relu = max(x, 0), LeakyRelu = max(x, a x) (min for a > 1), Abs = max(x, -x),
// Clip = min(max(x, lo), hi).
Status Encoder::activation(const Node& n) {
  const ValueId x = n.inputs[0], out = n.outputs[0];
  const Terms& xv = terms(x);
  const double alpha = n.attrs.get_float("alpha", 0.01);
  double clo = -INFINITY, chi = INFINITY;
  if (n.op == "Clip") {
    for (size_t i = 1; i < 3 && i < n.inputs.size(); ++i) {
      const ValueId v = n.inputs[i];
      if (v == kNoValue)
        continue;
      if (!g_.is_constant(v))
        return unsupported(n, "Clip bounds must be constant");
      if (g_.value(v).constant->numel() > 0)
        (i == 1 ? clo : chi) = g_.value(v).constant->get(0);
    }
  }
  Terms y;
  for (size_t i = 0; i < xv.size(); ++i) {
    const auto k = static_cast<int64_t>(i);
    const auto [lo, hi] = bound(x, k);
    const Candidate cx{xv[i], lo, hi};
    std::optional<z3::expr> r;
    if (n.op == "Relu") {
      const bool on = active_.count({x, k}) || active_.count({out, k});
      const bool off = inactive_.count({x, k}) || inactive_.count({out, k});
      if (on && off) {
        s_.add(ctx_.bool_val(false));  // contradictory phases: the leaf is empty
        r = ctx_.real_val(0);
      } else if (on) {
        s_.add(xv[i] >= 0);
        r = xv[i];
      } else if (off) {
        s_.add(xv[i] <= 0);
        r = ctx_.real_val(0);
      } else {
        r = max_of({cx, Candidate{ctx_.real_val(0), 0, 0}});
      }
    } else if (n.op == "LeakyRelu") {
      r = alpha <= 1 ? max_of({cx, scaled(cx, alpha)}) : min_of({cx, scaled(cx, alpha)});
    } else if (n.op == "Abs") {
      r = max_of({cx, scaled(cx, -1)});
    } else {  // Clip
      Candidate t = cx;
      if (std::isfinite(clo)) {
        std::optional<z3::expr> m = max_of({cx, Candidate{real_num(ctx_, clo), clo, clo}});
        if (!m)
          return unsupported(n, "an input without finite bounds");
        t = {*m, std::max(lo, clo), std::max(hi, clo)};
      }
      r = std::isfinite(chi) ? min_of({t, Candidate{real_num(ctx_, chi), chi, chi}})
                             : std::optional<z3::expr>(t.e);
    }
    if (!r)
      return unsupported(n, "an input without finite bounds");
    y.push_back(*r);
  }
  vals_[static_cast<size_t>(out)] = std::move(y);
  has_[static_cast<size_t>(out)] = 1;
  return Status::ok();
}

// Max / Min over any number of inputs with numpy broadcasting.
Status Encoder::max_min(const Node& n, bool max) {
  const ValueId out = n.outputs[0];
  const Shape& os = shape(out);
  const int64_t count = shape_numel(os);
  std::vector<std::vector<int64_t>> idx;
  for (ValueId v : n.inputs) {
    // Flat index into v for each output element (numpy broadcasting).
    const Shape& s = shape(v);
    std::vector<int64_t> m(static_cast<size_t>(count));
    const size_t off = os.size() - s.size();
    for (int64_t f = 0; f < count; ++f) {
      int64_t rem = f, k = 0, mul = 1;
      for (size_t d = os.size(); d-- > 0;) {
        const int64_t o = rem % os[d];
        rem /= os[d];
        if (d >= off) {
          const int64_t e = s[d - off];
          k += (e == 1 ? 0 : o) * mul;
          mul *= e;
        }
      }
      m[static_cast<size_t>(f)] = k;
    }
    idx.push_back(std::move(m));
  }
  Terms y;
  for (int64_t f = 0; f < count; ++f) {
    std::vector<Candidate> c;
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      const int64_t k = idx[i][static_cast<size_t>(f)];
      const auto [lo, hi] = bound(n.inputs[i], k);
      c.push_back({terms(n.inputs[i])[static_cast<size_t>(k)], lo, hi});
    }
    std::optional<z3::expr> r = max ? max_of(std::move(c)) : min_of(std::move(c));
    if (!r)
      return unsupported(n, "an input without finite bounds");
    y.push_back(*r);
  }
  vals_[static_cast<size_t>(out)] = std::move(y);
  has_[static_cast<size_t>(out)] = 1;
  return Status::ok();
}

}  // namespace nncert::smt
