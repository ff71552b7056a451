// smt_check: the region, the negated property and the solver loop around the graph encoding
// (encoder.h). The single error boundary for Z3: its exceptions become Status values here.
#include "smt/smt.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "bounds/ibp.h"
#include "bounds/perturbation.h"
#include "runtime/executor.h"
#include "smt/encoder.h"

namespace nncert {

Status SmtOptions::validate() const {
  if (!(timeout_s >= 0) || !std::isfinite(timeout_s))
    return Status(ErrorCode::kInvalidArgument, "smt: timeout_s must be finite and >= 0");
  if (!(retry_margin >= 0))
    return Status(ErrorCode::kInvalidArgument, "smt: retry_margin must be >= 0");
  return Status::ok();
}

const char* smt_answer_name(SmtResult::Answer a) {
  switch (a) {
    case SmtResult::Answer::kUnsat:
      return "unsat";
    case SmtResult::Answer::kSat:
      return "sat";
    case SmtResult::Answer::kUnknown:
      return "unknown";
  }
  return "unknown";
}

namespace {

using Clock = std::chrono::steady_clock;
using smt::real_num;

// Intervals of every value: IBP over the region's enclosing box (float64, safe rounding),
// intersected with the caller's where those are valid.
Expected<std::vector<Interval>> value_bounds(const Graph& g,
                                             const Perturbation& region,
                                             const std::vector<Interval>* known) {
  NNCERT_ASSIGN_OR_RETURN(Interval box, enclosing_box(region, g.value(g.inputs()[0]).shape));
  BoundOptions bo;
  bo.dtype = DType::kF64;
  bo.threads = 1;
  bo.safe_rounding = true;
  NNCERT_ASSIGN_OR_RETURN(std::vector<Interval> b, ibp_all(g, {box}, bo));
  if (!known)
    return b;
  for (size_t v = 0; v < b.size() && v < known->size(); ++v) {
    const Interval& k = (*known)[v];
    if (!k.lo.is_valid() || !k.hi.is_valid())
      continue;
    if (!b[v].lo.is_valid() || k.lo.numel() != b[v].lo.numel()) {
      b[v] = {k.lo.to(DType::kF64), k.hi.to(DType::kF64)};
      continue;
    }
    for (int64_t i = 0; i < k.lo.numel(); ++i) {
      b[v].lo.set(i, std::max(b[v].lo.get(i), k.lo.get(i)));
      b[v].hi.set(i, std::min(b[v].hi.get(i), k.hi.get(i)));
    }
  }
  return b;
}

// x in the region: box / clip sides, the ball (Linf as a box around the centre, L1 with
// t_i >= |x_i - c_i|, sum t_i <= eps), and G x <= h, all with exact rationals.
Status encode_region(z3::context& ctx, z3::solver& s, const Perturbation& p, const smt::Terms& x) {
  const size_t n = x.size();
  for (size_t i = 0; i < n && !p.lo.empty(); ++i) {
    s.add(x[i] >= real_num(ctx, p.lo[i]));
    s.add(x[i] <= real_num(ctx, p.hi[i]));
  }
  using K = Perturbation::Kind;
  if (p.kind == K::kL2)
    return Status(ErrorCode::kUnsupported, "smt: L2 balls are not linear");
  if (p.kind == K::kLinf) {
    const z3::expr eps = real_num(ctx, p.eps);
    for (size_t i = 0; i < n; ++i) {
      s.add(x[i] - real_num(ctx, p.center[i]) <= eps);
      s.add(real_num(ctx, p.center[i]) - x[i] <= eps);
    }
  } else if (p.kind == K::kL1) {
    z3::expr_vector t(ctx);
    for (size_t i = 0; i < n; ++i) {
      z3::expr ti = ctx.real_const(("l1_" + std::to_string(i)).c_str());
      s.add(ti >= x[i] - real_num(ctx, p.center[i]));
      s.add(ti >= real_num(ctx, p.center[i]) - x[i]);
      t.push_back(ti);
    }
    if (n > 0)
      s.add(z3::sum(t) <= real_num(ctx, p.eps));
  }
  for (size_t r = 0; r < p.constraints.g.size(); ++r) {
    z3::expr_vector row(ctx);
    for (size_t i = 0; i < n; ++i)
      if (p.constraints.g[r][i] != 0)
        row.push_back(real_num(ctx, p.constraints.g[r][i]) * x[i]);
    const z3::expr lhs = row.empty() ? ctx.real_val(0) : z3::sum(row);
    s.add(lhs <= real_num(ctx, p.constraints.h[r]));
  }
  return Status::ok();
}

// OR over terms of AND over a . y <= rhs - margin * max(1, |rhs|) (strict: <).
z3::expr unsafe_condition(z3::context& ctx,
                          const PropertyCase& pc,
                          const smt::Terms& y,
                          double margin) {
  z3::expr_vector any(ctx);
  for (const UnsafeTerm& t : pc.unsafe) {
    z3::expr_vector all(ctx);
    bool impossible = false;
    for (const OutputConstraint& oc : t.all) {
      if (oc.rhs == INFINITY)
        continue;
      if (oc.rhs == -INFINITY) {
        impossible = true;
        break;
      }
      z3::expr_vector row(ctx);
      for (size_t j = 0; j < oc.coeffs.size() && j < y.size(); ++j)
        if (oc.coeffs[j] != 0)
          row.push_back(real_num(ctx, oc.coeffs[j]) * y[j]);
      const z3::expr lhs = row.empty() ? ctx.real_val(0) : z3::sum(row);
      const double rhs = oc.rhs - margin * std::max(1.0, std::fabs(oc.rhs));
      all.push_back(oc.strict ? lhs < real_num(ctx, rhs) : lhs <= real_num(ctx, rhs));
    }
    if (!impossible)
      any.push_back(all.empty() ? ctx.bool_val(true) : z3::mk_and(all));
  }
  return any.empty() ? ctx.bool_val(false) : z3::mk_or(any);
}

// Polls should_stop every 50 ms while Z3 runs and interrupts the context when it fires.
class Watcher {
 public:
  Watcher(z3::context& ctx, const std::function<bool()>& stop) {
    if (!stop)
      return;
    thread_ = std::thread([this, &ctx, &stop] {
      std::unique_lock<std::mutex> lock(mu_);
      while (!done_) {
        if (cv_.wait_for(lock, std::chrono::milliseconds(50), [this] { return done_; }))
          break;
        if (stop()) {
          fired_ = true;
          ctx.interrupt();
          break;
        }
      }
    });
  }
  ~Watcher() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable())
      thread_.join();
  }
  bool fired() {
    std::lock_guard<std::mutex> lock(mu_);
    return fired_;
  }

 private:
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false, fired_ = false;
};

double to_double(const z3::expr& v) {
  if (v.is_numeral()) {
    // Z3_get_numeral_double is not correctly rounded for every rational; strtod of a long
    // decimal expansion is.
    const std::string dec = v.get_decimal_string(40);
    std::string clean = dec;
    if (!clean.empty() && clean.back() == '?')
      clean.pop_back();
    return std::strtod(clean.c_str(), nullptr);
  }
  return 0;
}

// Float64 re-check of a model's x: inside the region and an unsafe term satisfied, as
// verify/attack.h's check_counterexample does (that layer sits above this one).
Expected<int64_t> recheck(const Graph& g,
                          const PropertyCase& pc,
                          const std::vector<double>& x,
                          std::vector<double>& y) {
  if (!region_contains(pc.input, x))
    return int64_t{-1};
  RunOptions ro;
  ro.dtype = DType::kF64;
  ro.threads = 1;
  NNCERT_ASSIGN_OR_RETURN(Executor ex, Executor::create(g, ro));
  NNCERT_ASSIGN_OR_RETURN(auto out,
                          ex.run({Tensor::from_vector<double>(g.value(g.inputs()[0]).shape, x)}));
  y = out[0].to_double_vector();
  return unsafe_term_index(pc, y);
}

Expected<SmtResult> check(const Graph& g, const PropertyCase& pc, const SmtOptions& o) {
  const auto t0 = Clock::now();
  SmtResult res;
  auto done = [&](SmtResult::Answer a, std::string why = {}) {
    res.answer = a;
    res.reason = std::move(why);
    res.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    return res;
  };
  if (g.inputs().empty() || g.outputs().empty())
    return Status(ErrorCode::kInvalidArgument, "smt: the graph has no input or no output");
  const int64_t n = shape_numel(g.value(g.inputs()[0]).shape);
  NNCERT_RETURN_IF_ERROR(pc.input.validate(n));
  if (pc.unsafe.empty())
    return done(SmtResult::Answer::kUnsat);
  NNCERT_ASSIGN_OR_RETURN(std::vector<Interval> bounds, value_bounds(g, pc.input, o.bounds));

  z3::context ctx;
  // Pure linear real arithmetic with Boolean structure (big-M adds integers: QF_LIRA).
  z3::solver s(ctx, o.encoding == SmtOptions::Encoding::kBigM ? "QF_LIRA" : "QF_LRA");
  smt::Terms x;
  for (int64_t i = 0; i < n; ++i)
    x.push_back(ctx.real_const(("x" + std::to_string(i)).c_str()));
  NNCERT_RETURN_IF_ERROR(encode_region(ctx, s, pc.input, x));
  smt::Encoder enc(ctx,
                   s,
                   g,
                   bounds,
                   {o.active.begin(), o.active.end()},
                   {o.inactive.begin(), o.inactive.end()},
                   o.encoding == SmtOptions::Encoding::kBigM);
  NNCERT_RETURN_IF_ERROR(enc.encode(x));
  res.unsafe_neurons = enc.disjunctions();
  res.integer_vars = enc.integer_vars();
  const smt::Terms& y = enc.terms(g.outputs()[0]);

  Watcher watch(ctx, o.should_stop);
  for (double margin : {0.0, o.retry_margin}) {
    if (o.should_stop && o.should_stop())
      return done(SmtResult::Answer::kUnknown, "interrupted");
    const double left = o.timeout_s - std::chrono::duration<double>(Clock::now() - t0).count();
    if (o.timeout_s > 0 && left <= 0)
      return done(SmtResult::Answer::kUnknown, "timeout");
    z3::params p(ctx);
    if (o.timeout_s > 0)
      p.set("timeout", static_cast<unsigned>(std::max(1.0, std::ceil(left * 1000))));
    s.set(p);
    s.push();
    s.add(unsafe_condition(ctx, pc, y, margin));
    const z3::check_result r = s.check();
    if (r == z3::unsat) {
      if (margin == 0)
        return done(SmtResult::Answer::kUnsat);
      return done(SmtResult::Answer::kUnknown, "the model found does not re-check in float64");
    }
    if (r == z3::unknown)
      return done(SmtResult::Answer::kUnknown,
                  watch.fired() ? std::string("interrupted") : s.reason_unknown());
    const z3::model m = s.get_model();
    std::vector<double> xv;
    for (const z3::expr& xi : x)
      xv.push_back(to_double(m.eval(xi, true)));
    std::vector<double> yv;
    NNCERT_ASSIGN_OR_RETURN(int64_t term, recheck(g, pc, xv, yv));
    if (term >= 0) {
      res.x = std::move(xv);
      res.y = std::move(yv);
      res.term_index = term;
      return done(SmtResult::Answer::kSat);
    }
    s.pop();
    if (o.retry_margin <= 0)
      break;
  }
  return done(SmtResult::Answer::kUnknown, "the model found does not re-check in float64");
}

}  // namespace

Expected<SmtResult> smt_check(const Graph& g, const PropertyCase& region, const SmtOptions& o) {
  NNCERT_RETURN_IF_ERROR(o.validate());
  try {
    return check(g, region, o);
  } catch (const z3::exception& e) {
    return Status(ErrorCode::kInternal, std::string("smt: Z3: ") + e.msg());
  } catch (const std::bad_alloc&) {
    return Status(ErrorCode::kOutOfMemory, "smt: out of memory");
  }
}

}  // namespace nncert
