#include "verify/attack.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <numeric>
#include <random>

#include "bounds/dense_chain.h"
#include "bounds/perturbation.h"
#include "passes/passes.h"
#include "runtime/autodiff.h"
#include "runtime/executor.h"

namespace nncert {

namespace {

Shape input_shape(const Graph& g) {
  return g.value(g.inputs()[0]).shape;
}

// The smallest box of the region without its linear constraints (exact per coordinate).
void region_box(const Perturbation& p, std::vector<double>& lo, std::vector<double>& hi) {
  const auto n = static_cast<size_t>(p.size());
  lo.assign(n, -std::numeric_limits<double>::infinity());
  hi.assign(n, std::numeric_limits<double>::infinity());
  for (size_t i = 0; i < n; ++i) {
    if (p.kind != Perturbation::Kind::kBox) {
      lo[i] = p.center[i] - p.eps;
      hi[i] = p.center[i] + p.eps;
    }
    if (!p.lo.empty()) {
      lo[i] = std::max(lo[i], p.lo[i]);
      hi[i] = std::min(hi[i], p.hi[i]);
    }
  }
}

// Euclidean projection of v onto the L1 ball of radius eps around 0 (Duchi et al., 2008).
void project_l1(std::vector<double>& v, double eps) {
  double norm = 0;
  for (double d : v)
    norm += std::abs(d);
  if (norm <= eps)
    return;
  std::vector<double> u(v.size());
  for (size_t i = 0; i < v.size(); ++i)
    u[i] = std::abs(v[i]);
  std::sort(u.begin(), u.end(), std::greater<>());
  double cum = 0, theta = 0;
  for (size_t k = 0; k < u.size(); ++k) {
    cum += u[k];
    const double t = (cum - eps) / static_cast<double>(k + 1);
    if (u[k] - t > 0)
      theta = t;
  }
  for (double& d : v)
    d = std::copysign(std::max(std::abs(d) - theta, 0.0), d);
}

// Moves x into the region (exactly for boxes, balls and clipped balls; approximately, by a few
// rounds of half-space projections, for linear constraints).
void project(const Perturbation& p,
             const std::vector<double>& box_lo,
             const std::vector<double>& box_hi,
             std::vector<double>& x) {
  const size_t n = x.size();
  for (int round = 0; round < (p.constraints.empty() ? 1 : 8); ++round) {
    if (p.kind == Perturbation::Kind::kL2 || p.kind == Perturbation::Kind::kL1) {
      std::vector<double> d(n);
      for (size_t i = 0; i < n; ++i)
        d[i] = x[i] - p.center[i];
      if (p.kind == Perturbation::Kind::kL2) {
        double norm = 0;
        for (double v : d)
          norm += v * v;
        norm = std::sqrt(norm);
        if (norm > p.eps)
          for (double& v : d)
            v *= p.eps / norm;
      } else {
        project_l1(d, p.eps);
      }
      for (size_t i = 0; i < n; ++i)
        x[i] = p.center[i] + d[i];
    }
    // Clamping towards a box that contains the centre never increases |x_i - c_i|.
    for (size_t i = 0; i < n; ++i)
      x[i] = std::clamp(x[i], box_lo[i], box_hi[i]);
    bool violated = false;
    for (size_t r = 0; r < p.constraints.g.size(); ++r) {
      const auto& a = p.constraints.g[r];
      double s = 0, nn = 0;
      for (size_t i = 0; i < n; ++i) {
        s += a[i] * x[i];
        nn += a[i] * a[i];
      }
      const double excess = s - p.constraints.h[r];
      if (excess > 0 && nn > 0) {
        violated = true;
        for (size_t i = 0; i < n; ++i)
          x[i] -= (excess / nn) * a[i] * (1 + 1e-9);
      }
    }
    if (!violated)
      break;
  }
}

// A uniform point of the region's box (balls: a random direction and radius, then projected).
void sample(const Perturbation& p,
            const std::vector<double>& lo,
            const std::vector<double>& hi,
            std::mt19937_64& rng,
            std::vector<double>& x) {
  const size_t n = lo.size();
  x.resize(n);
  std::uniform_real_distribution<double> u(0, 1);
  if (p.kind == Perturbation::Kind::kL2 || p.kind == Perturbation::Kind::kL1) {
    std::normal_distribution<double> nd(0, 1);
    std::vector<double> d(n);
    double norm = 0;
    for (size_t i = 0; i < n; ++i) {
      d[i] = p.kind == Perturbation::Kind::kL2 ? nd(rng) : std::log(u(rng) + 1e-300);
      if (p.kind == Perturbation::Kind::kL1 && u(rng) < 0.5)
        d[i] = -d[i];
      norm += p.kind == Perturbation::Kind::kL2 ? d[i] * d[i] : std::abs(d[i]);
    }
    if (p.kind == Perturbation::Kind::kL2)
      norm = std::sqrt(norm);
    const double r = p.eps * std::pow(u(rng), 1.0 / static_cast<double>(std::max<size_t>(n, 1)));
    for (size_t i = 0; i < n; ++i)
      x[i] = p.center[i] + (norm > 0 ? d[i] * r / norm : 0);
  } else {
    for (size_t i = 0; i < n; ++i)
      x[i] = lo[i] == hi[i] ? lo[i] : lo[i] + (hi[i] - lo[i]) * u(rng);
  }
  project(p, lo, hi, x);
}

// Hinge loss of y against one unsafe term: sum over constraints of max(0, a.y - b); zero means
// every constraint holds (in the evaluation's precision).
double term_loss(const UnsafeTerm& t, const double* y, size_t n_out) {
  double loss = 0;
  for (const OutputConstraint& oc : t.all) {
    double s = -oc.rhs;
    for (size_t j = 0; j < n_out; ++j)
      s += oc.coeffs[j] * y[j];
    loss += std::max(s, 0.0);
  }
  return loss;
}

// The term closest to being satisfied, with its loss.
std::pair<int64_t, double> best_term(const PropertyCase& c, const double* y, size_t n_out) {
  int64_t best = -1;
  double bl = std::numeric_limits<double>::infinity();
  for (size_t t = 0; t < c.unsafe.size(); ++t) {
    const double l = term_loss(c.unsafe[t], y, n_out);
    if (std::isnan(l))
      continue;
    if (l < bl) {
      bl = l;
      best = static_cast<int64_t>(t);
    }
  }
  return {best, bl};
}

Tensor make_batch(const Shape& shape, const std::vector<std::vector<double>>& xs) {
  Tensor t(DType::kF32, shape);
  float* d = t.data<float>();
  const size_t n = xs.empty() ? 0 : xs[0].size();
  for (size_t b = 0; b < xs.size(); ++b)
    for (size_t i = 0; i < n; ++i)
      d[b * n + i] = static_cast<float>(xs[b][i]);
  return t;
}

}  // namespace

namespace {

// The dense chain of the model's first output, kept only when its forward pass agrees with the
// runtime's on random inputs (a guard against a misread op; bounds stay sound either way).
std::shared_ptr<const DenseChain> checked_chain(const AttackModel& m) {
  Graph g = m.single();
  g.outputs().resize(1);
  g.prune_unused();
  auto chain = DenseChain::extract(g);
  if (!chain)
    return nullptr;
  if ((*chain)->num_inputs() != m.num_inputs() || (*chain)->num_outputs() != m.num_outputs())
    return nullptr;
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<double> x(static_cast<size_t>(m.num_inputs())),
      y(static_cast<size_t>(m.num_outputs()));
  for (int k = 0; k < 3; ++k) {
    for (double& v : x)
      v = u(rng);
    auto ref = m.evaluate(x);
    if (!ref)
      return nullptr;
    (*chain)->forward(x.data(), y.data());
    for (size_t j = 0; j < y.size(); ++j)
      if (!(std::abs(y[j] - (*ref)[j]) <= 1e-7 * (1 + std::abs((*ref)[j]))))
        return nullptr;
  }
  return std::move(*chain);
}

}  // namespace

Expected<AttackModel> AttackModel::create(const Graph& g, int64_t batch, int threads) {
  if (g.inputs().empty() || g.outputs().empty())
    return Status(ErrorCode::kInvalidArgument, "the model has no input or no output");
  AttackModel m;
  m.single_ = g;
  m.threads_ = threads;
  const Shape s = input_shape(g);
  m.n_in_ = shape_numel(s);
  m.n_out_ = shape_numel(g.value(g.outputs()[0]).shape);
  if (m.n_in_ <= 0 || m.n_out_ <= 0)
    return Status(ErrorCode::kInvalidArgument, "the model's input or output shape is not static");
  if (batch > 1 && s.size() >= 2 && s[0] == 1 && g.inputs().size() == 1) {
    Graph gb = g;
    Shape bs = s;
    bs[0] = batch;
    // A static batch of 1 (most exported models) is re-opened: shape inference then either
    // succeeds at `batch` or fails (e.g. a Reshape to a constant [1, n]), and the comparison
    // below catches a graph that runs but mixes samples.
    gb.value(gb.inputs()[0]).shape[0] = -1;
    if (specialize_inputs(gb, {bs}).is_ok() && gb.value(gb.outputs()[0]).shape_known &&
        shape_numel(gb.value(gb.outputs()[0]).shape) == batch * m.n_out_) {
      // Check that the batched copy computes the same as the single one (a Reshape to a fixed
      // batch of 1 could mix samples).
      std::mt19937_64 rng(7);
      std::uniform_real_distribution<double> u(-1, 1);
      std::vector<std::vector<double>> xs(static_cast<size_t>(batch),
                                          std::vector<double>(static_cast<size_t>(m.n_in_)));
      for (auto& x : xs)
        for (double& v : x)
          v = u(rng);
      RunOptions ro;
      ro.dtype = DType::kF64;
      ro.threads = threads;
      auto eb = Executor::create(gb, ro);
      auto es = Executor::create(m.single_, ro);
      bool same = false;
      if (eb && es) {
        Tensor tb(DType::kF64, bs);
        for (size_t b = 0; b < xs.size(); ++b)
          std::copy(xs[b].begin(), xs[b].end(), tb.data<double>() + b * xs[b].size());
        auto yb = eb->run({tb});
        Tensor tl = Tensor::from_vector<double>(s, xs.back());
        auto ys = es->run({tl});
        if (yb && ys) {
          const auto vb = (*yb)[0].to_double_vector();
          const auto vs = (*ys)[0].to_double_vector();
          same = vb.size() == static_cast<size_t>(batch * m.n_out_);
          for (int64_t j = 0; same && j < m.n_out_; ++j) {
            const double a = vb[static_cast<size_t>((batch - 1) * m.n_out_ + j)];
            const double b = vs[static_cast<size_t>(j)];
            same = std::abs(a - b) <= 1e-9 * (1 + std::abs(b)) || (std::isnan(a) && std::isnan(b));
          }
        }
      }
      if (same) {
        m.batched_ = std::move(gb);
        m.batch_ = batch;
      }
    }
  }
  m.chain_ = checked_chain(m);
  return m;
}

Expected<std::vector<double>> AttackModel::evaluate(const std::vector<double>& x) const {
  if (static_cast<int64_t>(x.size()) != n_in_)
    return Status(ErrorCode::kShapeMismatch,
                  "input has " + std::to_string(x.size()) + " values, the model needs " +
                      std::to_string(n_in_));
  RunOptions ro;
  ro.dtype = DType::kF64;
  ro.threads = threads_;
  NNCERT_ASSIGN_OR_RETURN(Executor ex, Executor::create(single_, ro));
  NNCERT_ASSIGN_OR_RETURN(auto out, ex.run({Tensor::from_vector<double>(input_shape(single_), x)}));
  return out[0].to_double_vector();
}

Expected<std::optional<Counterexample>> check_counterexample(const AttackModel& m,
                                                             const Property& p,
                                                             int64_t case_index,
                                                             const std::vector<double>& x) {
  if (case_index < 0 || case_index >= static_cast<int64_t>(p.cases.size()))
    return std::optional<Counterexample>{};
  const PropertyCase& c = p.cases[static_cast<size_t>(case_index)];
  if (!region_contains(c.input, x))
    return std::optional<Counterexample>{};
  NNCERT_ASSIGN_OR_RETURN(std::vector<double> y, m.evaluate(x));
  const int64_t t = unsafe_term_index(c, y);
  if (t < 0)
    return std::optional<Counterexample>{};
  Counterexample ce;
  ce.case_index = case_index;
  ce.term_index = t;
  ce.x = x;
  ce.y = std::move(y);
  return std::optional<Counterexample>(std::move(ce));
}

Expected<std::optional<Counterexample>> attack(const AttackModel& m,
                                               const Property& p,
                                               const AttackOptions& o,
                                               const std::vector<int64_t>& cases_in) {
  std::vector<int64_t> cases = cases_in;
  if (cases.empty())
    for (size_t i = 0; i < p.cases.size(); ++i)
      cases.push_back(static_cast<int64_t>(i));
  const auto n_out = static_cast<size_t>(m.num_outputs());
  if (p.num_outputs != m.num_outputs() || p.num_inputs != m.num_inputs())
    return Status(ErrorCode::kShapeMismatch,
                  "the property has " + std::to_string(p.num_inputs) + " inputs and " +
                      std::to_string(p.num_outputs) + " outputs; the model " +
                      std::to_string(m.num_inputs()) + " and " + std::to_string(m.num_outputs()));
  const Graph& gb = m.batched();
  const int64_t batch = m.batch();
  Shape bshape = input_shape(gb);
  RunOptions ro;
  ro.dtype = DType::kF32;
  ro.threads = o.threads;
  NNCERT_ASSIGN_OR_RETURN(Executor ex, Executor::create(gb, ro));
  std::mt19937_64 rng(o.seed);
  auto stop = [&] {
    return o.should_stop && o.should_stop();
  };

  // Candidates whose float32 outputs look unsafe are re-checked in float64.
  auto try_batch = [&](const PropertyCase& c,
                       int64_t ci,
                       const std::vector<std::vector<double>>& xs,
                       const std::vector<double>& y,
                       const char* how) -> Expected<std::optional<Counterexample>> {
    for (size_t b = 0; b < xs.size(); ++b) {
      const auto [t, loss] = best_term(c, y.data() + b * n_out, n_out);
      if (t < 0 || loss > 0)
        continue;
      NNCERT_ASSIGN_OR_RETURN(auto ce, check_counterexample(m, p, ci, xs[b]));
      if (ce) {
        ce->found_by = how;
        return ce;
      }
    }
    return std::optional<Counterexample>{};
  };

  std::vector<std::vector<double>> box_lo(p.cases.size()), box_hi(p.cases.size());
  for (int64_t ci : cases)
    region_box(p.cases[static_cast<size_t>(ci)].input,
               box_lo[static_cast<size_t>(ci)],
               box_hi[static_cast<size_t>(ci)]);

  // Phase 1: the centre and uniform random points of every region.
  for (int64_t ci : cases) {
    const PropertyCase& c = p.cases[static_cast<size_t>(ci)];
    if (c.unsafe.empty())
      continue;
    const auto& lo = box_lo[static_cast<size_t>(ci)];
    const auto& hi = box_hi[static_cast<size_t>(ci)];
    for (int done = 0; done < o.random_samples; done += static_cast<int>(batch)) {
      if (stop())
        return std::optional<Counterexample>{};
      std::vector<std::vector<double>> xs(static_cast<size_t>(batch));
      for (size_t b = 0; b < xs.size(); ++b) {
        if (done == 0 && b == 0) {
          xs[b].resize(lo.size());
          for (size_t i = 0; i < lo.size(); ++i)
            xs[b][i] = c.input.kind == Perturbation::Kind::kBox ? 0.5 * (lo[i] + hi[i])
                                                                : c.input.center[i];
          project(c.input, lo, hi, xs[b]);
        } else {
          sample(c.input, lo, hi, rng, xs[b]);
        }
      }
      NNCERT_ASSIGN_OR_RETURN(auto out, ex.run({make_batch(bshape, xs)}));
      NNCERT_ASSIGN_OR_RETURN(auto ce, try_batch(c, ci, xs, out[0].to_double_vector(), "random"));
      if (ce)
        return ce;
    }
  }

  // Phase 2: PGD from random starts, minimising the hinge loss of the closest unsafe term.
  for (int64_t ci : cases) {
    const PropertyCase& c = p.cases[static_cast<size_t>(ci)];
    if (c.unsafe.empty())
      continue;
    const auto& lo = box_lo[static_cast<size_t>(ci)];
    const auto& hi = box_hi[static_cast<size_t>(ci)];
    const size_t n = lo.size();
    const Perturbation::Kind kind = c.input.kind;
    const int total = o.restarts + static_cast<int>(o.starts.size());
    for (int started = 0; started < total; started += static_cast<int>(batch)) {
      std::vector<std::vector<double>> xs(static_cast<size_t>(batch));
      for (size_t b = 0; b < xs.size(); ++b) {
        const size_t k = static_cast<size_t>(started) + b;
        if (k < o.starts.size() && o.starts[k].size() == n) {
          xs[b] = o.starts[k];
          project(c.input, lo, hi, xs[b]);
        } else {
          sample(c.input, lo, hi, rng, xs[b]);
        }
      }
      NNCERT_ASSIGN_OR_RETURN(auto out0, ex.run({make_batch(bshape, xs)}));
      std::vector<double> y = out0[0].to_double_vector();
      for (int step = 0; step < o.steps; ++step) {
        if (stop())
          return std::optional<Counterexample>{};
        // Seed: d loss / d y of the closest term at the last outputs.
        Tensor seed(DType::kF32, out0[0].shape());
        float* sd = seed.data<float>();
        for (size_t b = 0; b < xs.size(); ++b) {
          const double* yb = y.data() + b * n_out;
          const auto [t, loss] = best_term(c, yb, n_out);
          if (t < 0)
            continue;
          for (const OutputConstraint& oc : c.unsafe[static_cast<size_t>(t)].all) {
            double s = -oc.rhs;
            for (size_t j = 0; j < n_out; ++j)
              s += oc.coeffs[j] * yb[j];
            if (s >= 0 || loss == 0)
              for (size_t j = 0; j < n_out; ++j)
                sd[b * n_out + j] += static_cast<float>(oc.coeffs[j]);
          }
        }
        // Only d loss / d input is read: no weight gradients (GradientOptions::parameter_grads).
        NNCERT_ASSIGN_OR_RETURN(
            GradientResult gr,
            gradient(gb, {make_batch(bshape, xs)}, {seed}, ro, input_grads_only()));
        y = gr.outputs[0].to_double_vector();
        NNCERT_ASSIGN_OR_RETURN(auto ce, try_batch(c, ci, xs, y, "pgd"));
        if (ce)
          return ce;
        const Tensor& gx = gr.value_grads[static_cast<size_t>(gb.inputs()[0])];
        if (!gx.is_valid())
          break;  // the output does not depend on the input
        const std::vector<double> gv = gx.to_double_vector();
        const double frac =
            o.step * (1.0 - 0.9 * static_cast<double>(step) / std::max(1, o.steps - 1));
        for (size_t b = 0; b < xs.size(); ++b) {
          const double* gb_ = gv.data() + b * n;
          std::vector<double>& x = xs[b];
          if (kind == Perturbation::Kind::kL2 || kind == Perturbation::Kind::kL1) {
            double norm = 0;
            for (size_t i = 0; i < n; ++i)
              norm += kind == Perturbation::Kind::kL2 ? gb_[i] * gb_[i] : std::abs(gb_[i]);
            if (kind == Perturbation::Kind::kL2)
              norm = std::sqrt(norm);
            if (norm > 0)
              for (size_t i = 0; i < n; ++i)
                x[i] -= frac * c.input.eps * gb_[i] / norm;
          } else {
            for (size_t i = 0; i < n; ++i) {
              const double r = 0.5 * (hi[i] - lo[i]);
              if (gb_[i] != 0 && std::isfinite(r))
                x[i] -= frac * r * (gb_[i] > 0 ? 1 : -1);
            }
          }
          project(c.input, lo, hi, x);
        }
      }
      // The last step's point.
      NNCERT_ASSIGN_OR_RETURN(auto out, ex.run({make_batch(bshape, xs)}));
      NNCERT_ASSIGN_OR_RETURN(auto ce, try_batch(c, ci, xs, out[0].to_double_vector(), "pgd"));
      if (ce)
        return ce;
    }
  }
  return std::optional<Counterexample>{};
}

}  // namespace nncert
