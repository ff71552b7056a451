#include "verify/eval.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>
#include <mutex>

#include "bounds/crown.h"
#include "bounds/ibp.h"
#include "core/parallel.h"

namespace nncert {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Runs fn(k) for every k in [0, n) on up to `threads` threads, each taking the next index
// (samples differ a lot in cost). Stops handing out indices once `stop` is set.
template <class F>
void for_each_index(size_t n, int threads, const std::atomic<bool>& stop, F&& fn) {
  const auto t = static_cast<int64_t>(
      std::min<size_t>(static_cast<size_t>(resolve_threads(threads)), std::max<size_t>(n, 1)));
  std::atomic<size_t> next{0};
  parallel_for(t, static_cast<int>(t), 1, [&](int64_t, int64_t) {
    for (;;) {
      if (stop.load())
        return;
      const size_t k = next.fetch_add(1);
      if (k >= n)
        return;
      fn(k);
    }
  });
}

// Lower bounds of the region's rows prove every unsafe term impossible.
bool all_terms_refuted(const PropertyCase& pc,
                       const ConstraintRows& rows,
                       const std::vector<double>& lower) {
  std::vector<char> refuted(pc.unsafe.size(), 0);
  for (size_t k = 0; k < rows.c.size() && k < lower.size(); ++k)
    if (!std::isnan(lower[k]) && row_refutes(rows, k, lower[k]))
      refuted[static_cast<size_t>(rows.term[k])] = 1;
  return std::all_of(refuted.begin(), refuted.end(), [](char c) { return c != 0; });
}

}  // namespace

int eval_method_index(Method m) {
  for (size_t i = 0; i < kEvalMethods.size(); ++i)
    if (kEvalMethods[i] == m)
      return static_cast<int>(i);
  return -1;
}

Status check_eval_consistency(const EvalResult& r) {
  for (const EvalSample& s : r.samples) {
    const std::string where = "eval: sample " + std::to_string(s.index) + ": ";
    bool any = false;
    for (size_t m = 0; m < kEvalMethods.size(); ++m) {
      if (!s.verified[m])
        continue;
      any = true;
      if (!s.clean || !s.pgd_robust)
        return Status(ErrorCode::kInternal,
                      where + "verified by " + method_name(kEvalMethods[m]) + " but " +
                          (s.clean ? "PGD found a counterexample" : "misclassified"));
    }
    if (any != !s.verified_by.empty())
      return Status(ErrorCode::kInternal, where + "verified_by disagrees with the methods");
  }
  return Status::ok();
}

Expected<EvalResult> evaluate_robustness(const AttackModel& model,
                                         const std::vector<Property>& properties,
                                         const EvalOptions& o) {
  std::array<bool, 3> want{};
  for (Method m : o.methods) {
    const int i = eval_method_index(m);
    if (i < 0)
      return Status(ErrorCode::kInvalidArgument,
                    std::string("eval: method '") + method_name(m) +
                        "' is not a bound method (ibp, crown, alpha-crown)");
    want[static_cast<size_t>(i)] = true;
  }
  const size_t n = properties.size();
  EvalResult res;
  res.samples.resize(n);
  std::vector<ConstraintRows> rows(n);
  for (size_t k = 0; k < n; ++k) {
    const Property& p = properties[k];
    if (!p.label || p.cases.size() != 1 || p.cases[0].input.center.empty())
      return Status(ErrorCode::kInvalidArgument,
                    "eval: '" + p.name + "' is not a dataset robustness property");
    if (p.num_inputs != model.num_inputs() || p.num_outputs != model.num_outputs())
      return Status(ErrorCode::kShapeMismatch,
                    "eval: '" + p.name + "' has " + std::to_string(p.num_inputs) + " inputs and " +
                        std::to_string(p.num_outputs) + " outputs; the model has " +
                        std::to_string(model.num_inputs()) + " and " +
                        std::to_string(model.num_outputs()));
    NNCERT_RETURN_IF_ERROR(p.validate());
    res.samples[k].index = p.sample_index.value_or(static_cast<int64_t>(k));
    res.samples[k].label = *p.label;
    rows[k] = constraint_rows(p.cases[0]);
  }

  std::atomic<bool> stop{false};
  std::mutex mu;
  Status first_error = Status::ok();
  auto fail = [&](Status st) {
    std::lock_guard<std::mutex> lock(mu);
    if (first_error.is_ok())
      first_error = std::move(st);
    stop.store(true);
  };
  auto external_stop = [&]() {
    if (o.should_stop && o.should_stop()) {
      stop.store(true);
      return true;
    }
    return stop.load();
  };
  // One phase over the samples `todo` selects; fn(k) does sample k.
  auto phase = [&](const char* name, auto&& selected, auto&& fn) -> bool {
    const auto t0 = Clock::now();
    std::vector<size_t> todo;
    for (size_t k = 0; k < n; ++k)
      if (selected(k))
        todo.push_back(k);
    std::atomic<int64_t> done{0};
    const auto total = static_cast<int64_t>(todo.size());
    for_each_index(todo.size(), o.threads, stop, [&](size_t i) {
      if (external_stop())
        return;
      fn(todo[i]);
      const int64_t d = done.fetch_add(1) + 1;
      if (o.progress) {
        std::lock_guard<std::mutex> lock(mu);
        o.progress(name, d, total);
      }
    });
    res.seconds.emplace_back(name, seconds_since(t0));
    return !stop.load();
  };
  auto finish = [&]() -> Expected<EvalResult> {
    if (!first_error.is_ok())
      return first_error;
    res.interrupted = o.should_stop && o.should_stop();
    // alpha-CROWN is never looser than CROWN: what CROWN verified, it verifies too.
    for (EvalSample& s : res.samples) {
      if (want[2] && s.verified[1])
        s.verified[2] = true;
      for (size_t mi = 0; mi < kEvalMethods.size(); ++mi)
        if (s.verified[mi]) {
          s.verified_by = method_name(kEvalMethods[mi]);
          break;
        }
    }
    NNCERT_RETURN_IF_ERROR(check_eval_consistency(res));
    return std::move(res);
  };

  // Clean outputs (float64): the prediction and the margins every bound must stay below.
  std::vector<std::vector<double>> clean_y(n);
  if (!phase(
          "clean",
          [](size_t) { return true; },
          [&](size_t k) {
            const Property& p = properties[k];
            auto y = model.evaluate(p.cases[0].input.center);
            if (!y) {
              fail(y.status());
              return;
            }
            EvalSample& s = res.samples[k];
            const std::vector<double>& v = *y;
            s.prediction = std::max_element(v.begin(), v.end()) - v.begin();
            s.clean = true;
            for (size_t j = 0; j < v.size(); ++j)
              if (static_cast<int64_t>(j) != s.label && !(v[static_cast<size_t>(s.label)] > v[j]))
                s.clean = false;
            clean_y[k] = *y;
          }))
    return finish();

  if (!phase(
          "pgd",
          [&](size_t k) { return res.samples[k].clean; },
          [&](size_t k) {
            AttackOptions ao = o.attack;
            ao.random_samples = 0;
            ao.threads = 1;
            ao.max_seconds = 0;
            ao.should_stop = external_stop;
            auto ce = attack(model, properties[k], ao);
            if (!ce) {
              fail(ce.status());
              return;
            }
            if (external_stop())
              return;  // an interrupted search proves nothing either way
            res.samples[k].pgd_run = true;
            res.samples[k].pgd_robust = !ce->has_value();
          }))
    return finish();

  const Graph& g = model.single();
  const Shape in_shape = g.value(g.inputs()[0]).shape;
  for (size_t mi = 0; mi < kEvalMethods.size(); ++mi) {
    if (!want[mi])
      continue;
    const Method m = kEvalMethods[mi];
    auto selected = [&](size_t k) {
      const EvalSample& s = res.samples[k];
      if (!s.pgd_robust)
        return false;
      if (m != Method::kAlphaCrown)
        return true;
      return !s.verified[0] && !s.verified[1];  // only where the cheaper methods failed
    };
    const bool ok = phase(method_name(m), selected, [&](size_t k) {
      const PropertyCase& pc = properties[k].cases[0];
      const ConstraintRows& r = rows[k];
      EvalSample& s = res.samples[k];
      BoundOptions bo;
      bo.dtype = DType::kF64;
      bo.threads = 1;
      bo.safe_rounding = o.safe_rounding;
      Expected<Interval> b = Status::ok();
      if (m == Method::kIbp) {
        auto box = enclosing_box(pc.input, in_shape, !pc.input.constraints.empty());
        b = box ? ibp_spec(g, {*box}, r.c, bo) : Expected<Interval>(box.status());
      } else {
        const auto deadline =
            m == Method::kAlphaCrown && o.alpha_timeout_s > 0
                ? Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>(o.alpha_timeout_s))
                : Clock::time_point::max();
        bool timed_out = false;
        CrownOptions co;
        co.alpha = m == Method::kAlphaCrown;
        co.alpha_options = o.alpha;
        co.lower_only = true;
        co.should_stop = [&]() {
          if (external_stop())
            return true;
          if (Clock::now() >= deadline) {
            timed_out = true;
            return true;
          }
          return false;
        };
        auto cr = crown_bounds(g, std::vector<Perturbation>{pc.input}, r.c, bo, co);
        if (!cr && cr.status().code() == ErrorCode::kTimeout) {
          if (timed_out && !external_stop()) {
            s.ran[mi] = true;
            s.timeout = true;
          }
          return;
        }
        b = cr ? Expected<Interval>(std::move(cr->bounds)) : Expected<Interval>(cr.status());
      }
      if (!b) {
        fail(Status(b.status().code(),
                    std::string(method_name(m)) + ": sample " + std::to_string(s.index) + ": " +
                        b.status().message()));
        return;
      }
      const std::vector<double> lo = b->lo.to_double_vector();
      // A sound lower bound of c . y over a region containing the sample is at most c . y there
      // (the sample lies in its region unless the clip box cuts it off).
      const std::vector<double>& y = clean_y[k];
      bool inside = true;
      if (pc.input.has_clip())
        for (size_t i = 0; i < pc.input.center.size(); ++i)
          inside = inside && pc.input.center[i] >= pc.input.lo[i] &&
                   pc.input.center[i] <= pc.input.hi[i];
      for (size_t row = 0; inside && row < r.c.size() && row < lo.size(); ++row) {
        double cy = 0, mag = 0;
        for (size_t j = 0; j < y.size() && j < r.c[row].size(); ++j) {
          cy += r.c[row][j] * y[j];
          mag += std::abs(r.c[row][j] * y[j]);
        }
        if (lo[row] > cy + 1e-6 * std::max(1.0, mag)) {
          fail(Status(ErrorCode::kInternal,
                      std::string(method_name(m)) + ": sample " + std::to_string(s.index) +
                          ": lower bound " + std::to_string(lo[row]) + " of row " +
                          std::to_string(row) + " exceeds its clean value " + std::to_string(cy)));
          return;
        }
      }
      s.ran[mi] = true;
      s.verified[mi] = all_terms_refuted(pc, r, lo);
    });
    if (!ok)
      return finish();
  }
  return finish();
}

}  // namespace nncert
