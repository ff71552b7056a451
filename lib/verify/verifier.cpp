#include "verify/verifier.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "bounds/ibp.h"
#include "smt/smt.h"

namespace nncert {

const char* verdict_name(Verdict v) {
  switch (v) {
    case Verdict::kVerified:
      return "verified";
    case Verdict::kFalsified:
      return "falsified";
    case Verdict::kUnknown:
      return "unknown";
    case Verdict::kTimeout:
      return "timeout";
    case Verdict::kError:
      return "error";
    case Verdict::kNotRun:
      return "not_run";
  }
  return "unknown";
}

const char* method_name(Method m) {
  switch (m) {
    case Method::kAttack:
      return "attack";
    case Method::kIbp:
      return "ibp";
    case Method::kCrown:
      return "crown";
    case Method::kAlphaCrown:
      return "alpha-crown";
    case Method::kInputBab:
      return "input-bab";
    case Method::kReluBab:
      return "bab";
    case Method::kSmt:
      return "smt";
  }
  return "?";
}

namespace {

using Clock = std::chrono::steady_clock;

using Rows = ConstraintRows;

// Every term has a row whose lower bound refutes it.
bool all_terms_refuted(const PropertyCase& pc, const Rows& rows, const std::vector<double>& lo) {
  std::vector<char> refuted(pc.unsafe.size(), 0);
  for (size_t k = 0; k < rows.rhs.size(); ++k) {
    const double l = lo[k];
    if (std::isnan(l))
      continue;
    if (row_refutes(rows, k, l))
      refuted[static_cast<size_t>(rows.term[k])] = 1;
  }
  return std::all_of(refuted.begin(), refuted.end(), [](char c) { return c != 0; });
}

// Input BaB on the open box regions: verified regions leave `open`; a counterexample ends the
// property (returns kFalsified).
std::optional<Verdict> run_input_bab(const AttackModel& model,
                                     const Property& p,
                                     const VerifyOptions& o,
                                     const std::function<bool()>& should_stop,
                                     std::vector<int64_t>& open,
                                     PropertyResult& res,
                                     std::vector<std::string>& errors) {
  const auto tm = Clock::now();
  InputBabOptions bo = o.input_bab;
  bo.threads = o.threads;
  bo.safe_rounding = o.safe_rounding;
  bo.should_stop = should_stop;
  std::vector<int64_t> still_open;
  for (int64_t ci : open) {
    const Perturbation& in = p.cases[static_cast<size_t>(ci)].input;
    if (in.kind != Perturbation::Kind::kBox || !in.constraints.empty() || should_stop()) {
      still_open.push_back(ci);
      continue;
    }
    auto r = input_bab(model, p, ci, bo);
    if (!r) {
      errors.push_back(std::string("input-bab: ") + r.status().message());
      still_open.push_back(ci);
      continue;
    }
    res.domains += r->domains;
    if (r->outcome == InputBabResult::Outcome::kFalsified) {
      res.counterexample = std::move(r->counterexample);
      res.method = "input-bab";
      res.method_times.emplace_back("input-bab",
                                    std::chrono::duration<double>(Clock::now() - tm).count());
      return Verdict::kFalsified;
    }
    if (r->outcome == InputBabResult::Outcome::kVerified) {
      RegionResult& rr = res.regions[static_cast<size_t>(ci)];
      rr.verified = true;
      rr.method = "input-bab";
    } else {
      if (!r->message.empty())
        errors.push_back(r->message);
      still_open.push_back(ci);
    }
  }
  if (still_open.empty() && !open.empty())
    res.method = "input-bab";
  open = std::move(still_open);
  return std::nullopt;
}

// The exact check of region ci: CROWN's intermediate bounds (IBP alone when CROWN fails), then
// Z3 within the time left. A sat model is re-checked by check_counterexample before it counts.
Expected<SmtResult> smt_region(const AttackModel& model,
                               const Property& p,
                               int64_t ci,
                               double time_left_s,
                               const std::function<bool()>& should_stop,
                               const VerifyOptions& o,
                               std::optional<Counterexample>& ce) {
  const Graph& g = model.single();
  const PropertyCase& pc = p.cases[static_cast<size_t>(ci)];
  BoundOptions bo;
  bo.dtype = DType::kF64;
  bo.threads = o.threads;
  bo.safe_rounding = true;  // the big-M constants must hold for the real-valued network
  CrownOptions co;
  co.lower_only = true;
  co.should_stop = should_stop;
  auto cr = crown_bounds(g, std::vector<Perturbation>{pc.input}, {}, bo, co);
  SmtOptions so;
  so.timeout_s = time_left_s;
  so.should_stop = should_stop;
  if (cr)
    so.bounds = &cr->intermediate;
  NNCERT_ASSIGN_OR_RETURN(SmtResult r, smt_check(g, pc, so));
  if (r.answer == SmtResult::Answer::kSat) {
    NNCERT_ASSIGN_OR_RETURN(auto checked, check_counterexample(model, p, ci, r.x));
    if (checked) {
      ce = std::move(*checked);
      ce->found_by = "smt";
    } else {
      r.answer = SmtResult::Answer::kUnknown;
    }
  }
  return r;
}

}  // namespace

PropertyResult verify_property(const AttackModel& model,
                               const Property& p,
                               const VerifyOptions& o) {
  const auto t0 = Clock::now();
  PropertyResult res;
  auto finish = [&](Verdict v) {
    res.verdict = v;
    res.time_s = std::chrono::duration<double>(Clock::now() - t0).count();
    return res;
  };
  if (Status st = p.validate(); !st.is_ok()) {
    res.message = st.message();
    res.error = st.code();
    return finish(Verdict::kError);
  }
  if (p.num_inputs != model.num_inputs() || p.num_outputs != model.num_outputs()) {
    res.message = "the property has " + std::to_string(p.num_inputs) + " inputs and " +
                  std::to_string(p.num_outputs) + " outputs; the model has " +
                  std::to_string(model.num_inputs()) + " and " +
                  std::to_string(model.num_outputs());
    res.error = ErrorCode::kShapeMismatch;
    return finish(Verdict::kError);
  }
  const auto deadline = o.timeout_s > 0 ? t0 + std::chrono::duration_cast<Clock::duration>(
                                                   std::chrono::duration<double>(o.timeout_s))
                                        : Clock::time_point::max();
  bool timed_out = false, stopped = false;
  auto should_stop = [&]() {
    if (o.should_stop && o.should_stop()) {
      stopped = true;
      return true;
    }
    if (Clock::now() >= deadline) {
      timed_out = true;
      return true;
    }
    return false;
  };

  res.regions.resize(p.cases.size());
  std::vector<Rows> rows(p.cases.size());
  // Per region: alpha-CROWN's optimised intermediate bounds (constants left out), for ReLU BaB.
  std::vector<std::vector<Interval>> alpha_bounds(p.cases.size());
  std::vector<int64_t> open;
  for (size_t ci = 0; ci < p.cases.size(); ++ci) {
    rows[ci] = constraint_rows(p.cases[ci]);
    RegionResult& rr = res.regions[ci];
    rr.rhs = rows[ci].rhs;
    rr.row_term = rows[ci].term;
    rr.lower.assign(rows[ci].rhs.size(), -std::numeric_limits<double>::infinity());
    if (p.cases[ci].unsafe.empty()) {
      rr.verified = true;
      rr.method = "trivial";  // nothing is unsafe in this region
    } else {
      open.push_back(static_cast<int64_t>(ci));
    }
  }

  // A dataset sample the model already gets wrong: the clean point is the counterexample.
  if (p.sample_index && !p.cases.empty() && p.cases[0].input.kind != Perturbation::Kind::kBox) {
    auto ce = check_counterexample(model, p, 0, p.cases[0].input.center);
    if (!ce) {
      res.message = ce.status().message();
      res.error = ce.status().code();
      return finish(Verdict::kError);
    }
    if (*ce) {
      res.counterexample = std::move(**ce);
      res.counterexample->found_by = "clean";
      res.method = "clean";
      res.message = "the unperturbed sample is misclassified";
      return finish(Verdict::kFalsified);
    }
  }

  std::vector<std::string> errors;
  ErrorCode first_error = ErrorCode::kOk;
  int bound_methods = 0, bound_errors = 0;
  const Graph& g = model.single();
  for (Method m : o.methods) {
    if (open.empty() || should_stop())
      break;
    const auto tm = Clock::now();
    if (m == Method::kAttack) {
      AttackOptions ao = o.attack;
      ao.threads = o.threads;
      ao.should_stop = should_stop;
      if (ao.max_seconds <= 0 && o.timeout_s > 0)
        ao.max_seconds = o.timeout_s * o.attack_time_fraction;
      auto ce = attack(model, p, ao, open);
      res.method_times.emplace_back("attack",
                                    std::chrono::duration<double>(Clock::now() - tm).count());
      if (!ce) {
        errors.push_back(std::string("attack: ") + ce.status().message());
        continue;
      }
      if (*ce) {
        res.counterexample = std::move(**ce);
        res.method = res.counterexample->found_by;
        return finish(Verdict::kFalsified);
      }
      continue;
    }
    if (m == Method::kInputBab) {
      if (model.num_inputs() > o.input_bab_max_inputs)
        continue;
      if (std::optional<Verdict> v = run_input_bab(model, p, o, should_stop, open, res, errors))
        return finish(*v);
      res.method_times.emplace_back("input-bab",
                                    std::chrono::duration<double>(Clock::now() - tm).count());
      continue;
    }
    if (m == Method::kReluBab) {
      // Automatic escalation stays within the property's timeout: without one, only an
      // explicit `bab` runs (until its queue cap).
      if (model.num_inputs() < o.relu_bab_min_inputs ||
          (o.relu_bab_min_inputs > 0 && o.timeout_s <= 0))
        continue;
      ++bound_methods;
      std::vector<int64_t> still_open;
      bool failed = false;
      for (int64_t ci : open) {
        if (failed || should_stop() || res.counterexample) {
          still_open.push_back(ci);
          continue;
        }
        ReluBabOptions bo = o.relu_bab;
        if (!alpha_bounds[static_cast<size_t>(ci)].empty() && !bo.root_bounds)
          bo.root_bounds = &alpha_bounds[static_cast<size_t>(ci)];
        bo.safe_rounding = o.safe_rounding;
        bo.threads = o.threads;
        bo.should_stop = should_stop;
        if (o.smt_leaves && !bo.leaf_solver) {
          // Leaves with few unstable neurons go to the exact Z3 check (lib/smt), with the
          // domain's splits as fixed phases and its bounds; its answers are exact for the
          // real-valued network, and an unsafe x is re-checked in float64 by BaB.
          bo.leaf_max_unstable = std::max(bo.leaf_max_unstable, o.smt_leaf_max_unstable);
          const double leaf_timeout = o.smt_leaf_timeout_s;
          bo.leaf_solver = [leaf_timeout](const LeafProblem& lp) -> Expected<LeafAnswer> {
            SmtOptions so;
            so.timeout_s = leaf_timeout;
            so.should_stop = lp.should_stop;
            so.bounds = lp.bounds;
            for (const ReluSplit& sp : *lp.splits)
              (sp.active ? so.active : so.inactive).emplace_back(sp.relu_input, sp.index);
            NNCERT_ASSIGN_OR_RETURN(
                SmtResult r,
                smt_check(lp.model->single(),
                          lp.property->cases[static_cast<size_t>(lp.case_index)],
                          so));
            LeafAnswer a;
            if (r.answer == SmtResult::Answer::kUnsat) {
              a.kind = LeafAnswer::Kind::kSafe;
            } else if (r.answer == SmtResult::Answer::kSat) {
              a.kind = LeafAnswer::Kind::kUnsafe;
              a.x = std::move(r.x);
            }
            return a;
          };
        }
        auto br = relu_bab(model, p, ci, bo);
        if (!br) {
          if (first_error == ErrorCode::kOk)
            first_error = br.status().code();
          errors.push_back(std::string("bab: ") + br.status().message());
          failed = true;
          still_open.push_back(ci);
          continue;
        }
        res.domains += br->domains;
        res.max_open_domains = std::max(res.max_open_domains, br->max_queue_size);
        if (br->outcome == ReluBabResult::Outcome::kVerified) {
          res.regions[static_cast<size_t>(ci)].verified = true;
          res.regions[static_cast<size_t>(ci)].method = "bab";
        } else {
          if (br->outcome == ReluBabResult::Outcome::kFalsified)
            res.counterexample = std::move(br->counterexample);
          else if (br->outcome == ReluBabResult::Outcome::kUnknown)
            errors.push_back("bab: " + br->reason);
          still_open.push_back(ci);
        }
      }
      if (failed)
        ++bound_errors;
      res.method_times.emplace_back("bab",
                                    std::chrono::duration<double>(Clock::now() - tm).count());
      if (res.counterexample) {
        res.method = "bab";
        return finish(Verdict::kFalsified);
      }
      if (still_open.empty() && !open.empty())
        res.method = "bab";
      open = std::move(still_open);
      continue;
    }
    ++bound_methods;
    bool method_failed = false;
    std::vector<int64_t> still_open;
    for (int64_t ci : open) {
      if (method_failed || should_stop()) {
        still_open.push_back(ci);
        continue;
      }
      if (m == Method::kSmt) {
        const double left =
            deadline == Clock::time_point::max()
                ? 0
                : std::max(1e-3, std::chrono::duration<double>(deadline - Clock::now()).count());
        std::optional<Counterexample> ce;
        auto r = smt_region(model, p, ci, left, should_stop, o, ce);
        if (!r) {
          if (first_error == ErrorCode::kOk)
            first_error = r.status().code();
          errors.push_back(std::string("smt: ") + r.status().message());
          method_failed = true;
          still_open.push_back(ci);
        } else if (ce) {
          res.counterexample = std::move(ce);
          res.method = "smt";
          res.method_times.emplace_back("smt",
                                        std::chrono::duration<double>(Clock::now() - tm).count());
          return finish(Verdict::kFalsified);
        } else if (r->answer == SmtResult::Answer::kUnsat) {
          res.regions[static_cast<size_t>(ci)].verified = true;
          res.regions[static_cast<size_t>(ci)].method = "smt";
        } else {
          still_open.push_back(ci);
        }
        continue;
      }
      const PropertyCase& pc = p.cases[static_cast<size_t>(ci)];
      const Rows& r = rows[static_cast<size_t>(ci)];
      BoundOptions bo;
      bo.dtype = DType::kF64;
      bo.threads = o.threads;
      bo.safe_rounding = o.safe_rounding;
      Expected<Interval> b = Status::ok();
      if (m == Method::kIbp) {
        auto box =
            enclosing_box(pc.input, g.value(g.inputs()[0]).shape, !pc.input.constraints.empty());
        if (!box)
          b = box.status();
        else
          b = ibp_spec(g, {*box}, r.c, bo);
      } else {
        CrownOptions co;
        co.alpha = m == Method::kAlphaCrown;
        co.alpha_options = o.alpha;
        co.lower_only = true;
        co.should_stop = should_stop;
        auto cr = crown_bounds(g, std::vector<Perturbation>{pc.input}, r.c, bo, co);
        if (!cr) {
          b = cr.status();
        } else {
          b = std::move(cr->bounds);
          if (co.alpha && co.alpha_options.optimize_intermediate && !cr->infeasible) {
            auto& ab = alpha_bounds[static_cast<size_t>(ci)];
            ab = std::move(cr->intermediate);
            for (size_t v = 0; v < ab.size(); ++v)
              if (g.is_constant(static_cast<ValueId>(v)))
                ab[v] = Interval{};
          }
        }
      }
      if (!b) {
        if (b.status().code() != ErrorCode::kTimeout) {
          if (first_error == ErrorCode::kOk)
            first_error = b.status().code();
          errors.push_back(std::string(method_name(m)) + ": " + b.status().message());
          method_failed = true;
        }
        still_open.push_back(ci);
        continue;
      }
      RegionResult& rr = res.regions[static_cast<size_t>(ci)];
      const std::vector<double> lo = b->lo.to_double_vector();
      for (size_t k = 0; k < lo.size() && k < rr.lower.size(); ++k)
        rr.lower[k] = std::max(rr.lower[k], lo[k]);  // every method's bound is sound
      if (all_terms_refuted(pc, r, rr.lower)) {
        rr.verified = true;
        rr.method = method_name(m);
      } else {
        still_open.push_back(ci);
      }
    }
    if (method_failed)
      ++bound_errors;
    res.method_times.emplace_back(method_name(m),
                                  std::chrono::duration<double>(Clock::now() - tm).count());
    if (still_open.empty() && !open.empty())
      res.method = method_name(m);
    open = std::move(still_open);
  }
  for (size_t i = 0; i < errors.size(); ++i)
    res.message += (i ? "; " : "") + errors[i];
  if (open.empty()) {
    if (res.method.empty())
      res.method = "trivial";
    return finish(Verdict::kVerified);
  }
  if (stopped)
    return finish(Verdict::kNotRun);
  if (timed_out)
    return finish(Verdict::kTimeout);
  if (bound_methods > 0 && bound_errors == bound_methods) {
    res.error = first_error;
    return finish(Verdict::kError);
  }
  if (res.message.empty())
    res.message = "not decided by the methods run";
  return finish(Verdict::kUnknown);
}

}  // namespace nncert
