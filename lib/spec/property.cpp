#include "spec/property.h"

#include <algorithm>
#include <cmath>

namespace nncert {

namespace {

double slack(double rhs, double tolerance) {
  return tolerance * std::max(1.0, std::isfinite(rhs) ? std::abs(rhs) : 1.0);
}

}  // namespace

Status Property::validate() const {
  if (num_inputs <= 0 || num_outputs <= 0)
    return {ErrorCode::kInvalidArgument,
            "property '" + name + "' has no inputs or no outputs declared"};
  for (size_t ci = 0; ci < cases.size(); ++ci) {
    const PropertyCase& c = cases[ci];
    const std::string where = "property '" + name + "', input region " + std::to_string(ci);
    if (Status st = c.input.validate(num_inputs); !st.is_ok())
      return st.with_context(where);
    for (const UnsafeTerm& t : c.unsafe)
      for (const OutputConstraint& oc : t.all) {
        if (static_cast<int64_t>(oc.coeffs.size()) != num_outputs)
          return {ErrorCode::kShapeMismatch,
                  where + ": an output constraint has " + std::to_string(oc.coeffs.size()) +
                      " coefficients for " + std::to_string(num_outputs) + " outputs"};
        for (double v : oc.coeffs)
          if (!std::isfinite(v))
            return {ErrorCode::kInvalidArgument, where + ": non-finite output coefficient"};
        if (std::isnan(oc.rhs))
          return {ErrorCode::kInvalidArgument, where + ": NaN right-hand side"};
      }
  }
  return Status::ok();
}

ConstraintRows constraint_rows(const PropertyCase& pc) {
  ConstraintRows r;
  for (size_t t = 0; t < pc.unsafe.size(); ++t)
    for (const OutputConstraint& oc : pc.unsafe[t].all) {
      r.c.push_back(oc.coeffs);
      r.rhs.push_back(oc.rhs);
      r.strict.push_back(oc.strict ? 1 : 0);
      r.term.push_back(static_cast<int64_t>(t));
    }
  return r;
}

bool term_satisfied(const UnsafeTerm& term, const std::vector<double>& y, double tolerance) {
  for (const OutputConstraint& oc : term.all) {
    double s = 0;
    for (size_t j = 0; j < oc.coeffs.size() && j < y.size(); ++j)
      s += oc.coeffs[j] * y[j];
    if (std::isnan(s))
      return false;
    const double bound = oc.rhs + slack(oc.rhs, tolerance);
    if ((oc.strict && tolerance == 0) ? !(s < bound) : !(s <= bound))
      return false;
  }
  return true;
}

int64_t unsafe_term_index(const PropertyCase& c, const std::vector<double>& y) {
  for (size_t t = 0; t < c.unsafe.size(); ++t)
    if (term_satisfied(c.unsafe[t], y))
      return static_cast<int64_t>(t);
  return -1;
}

bool region_contains(const Perturbation& p, const std::vector<double>& x, double tolerance) {
  const size_t n = x.size();
  if (static_cast<int64_t>(n) != p.size())
    return false;
  for (double v : x)
    if (!std::isfinite(v))
      return false;
  if (!p.lo.empty())
    for (size_t i = 0; i < n; ++i)
      if (x[i] < p.lo[i] - slack(p.lo[i], tolerance) || x[i] > p.hi[i] + slack(p.hi[i], tolerance))
        return false;
  if (p.kind != Perturbation::Kind::kBox) {
    double norm = 0;
    for (size_t i = 0; i < n; ++i) {
      const double d = std::abs(x[i] - p.center[i]);
      if (p.kind == Perturbation::Kind::kLinf)
        norm = std::max(norm, d);
      else if (p.kind == Perturbation::Kind::kL2)
        norm += d * d;
      else
        norm += d;
    }
    if (p.kind == Perturbation::Kind::kL2)
      norm = std::sqrt(norm);
    if (norm > p.eps + slack(p.eps, tolerance))
      return false;
  }
  for (size_t r = 0; r < p.constraints.g.size(); ++r) {
    double s = 0;
    for (size_t i = 0; i < n; ++i)
      s += p.constraints.g[r][i] * x[i];
    if (s > p.constraints.h[r] + slack(p.constraints.h[r], tolerance))
      return false;
  }
  return true;
}

}  // namespace nncert
