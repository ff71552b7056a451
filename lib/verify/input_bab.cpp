#include "verify/input_bab.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <utility>
#include <vector>

#include "bounds/dense_chain.h"
#include "core/parallel.h"
#include "runtime/executor.h"

namespace nncert {

AttackOptions input_bab_attack_defaults() {
  AttackOptions a;
  a.random_samples = 8;
  a.restarts = 4;
  a.steps = 10;
  return a;
}

Status InputBabOptions::validate() const {
  if (batch < 1 || chain_batch < 1 || max_queue < 1 || max_domains < 0 || attack_every < 0)
    return Status(ErrorCode::kInvalidArgument,
                  "input BaB needs batch >= 1, chain_batch >= 1, max_queue >= 1, "
                  "max_domains >= 0, attack_every >= 0");
  return Status::ok();
}

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// The constraint rows of one region, grouped by term.
struct TermRows {
  std::vector<std::vector<double>> c;
  std::vector<double> rhs;
  std::vector<char> strict;
  std::vector<std::vector<int32_t>> of_term;  // row indices of each term
};

TermRows term_rows(const PropertyCase& pc) {
  TermRows r;
  r.of_term.resize(pc.unsafe.size());
  for (size_t t = 0; t < pc.unsafe.size(); ++t)
    for (const OutputConstraint& oc : pc.unsafe[t].all) {
      r.of_term[t].push_back(static_cast<int32_t>(r.rhs.size()));
      r.c.push_back(oc.coeffs);
      r.rhs.push_back(oc.rhs);
      r.strict.push_back(oc.strict ? 1 : 0);
    }
  return r;
}

struct Domain {
  std::vector<double> lo, hi;
  std::vector<int32_t> terms;  // terms not refuted yet; all their rows stay (one refuting row
                               // closes a term)
  double priority = 0;         // the parent's worst margin: lower = more violated = earlier
  int depth = 0;
  uint64_t seq = 0;  // creation order, breaks ties deterministically
  // Dense engine: the ReLU neurons proven stable on the parent (stable on this sub-box too).
  std::vector<uint8_t> relu_state;
};

// Heap order for std::push_heap / pop_heap: the top is the most violated, then the oldest.
bool later(const Domain& a, const Domain& b) {
  if (a.priority != b.priority)
    return a.priority > b.priority;
  return a.seq > b.seq;
}

// What bounding one domain gives (computed in parallel, merged in order).
struct Bounded {
  Status status = Status::ok();
  std::vector<int32_t> open;        // terms still open
  double worst = kInf;              // min over open terms of max over their rows of (lower - rhs)
  int split = -1;                   // dimension to split
  std::vector<double> hit;          // a point whose outputs satisfy an open term (to re-check)
  std::vector<uint8_t> relu_state;  // dense engine: what the bounds proved (for the children)
};

// Margin of row k: lower - rhs; a term is refuted when a row has margin > 0 (>= 0 if strict).
bool refutes(const TermRows& r, int32_t k, double lower) {
  if (std::isnan(lower))
    return false;
  return r.strict[static_cast<size_t>(k)] ? lower >= r.rhs[static_cast<size_t>(k)]
                                          : lower > r.rhs[static_cast<size_t>(k)];
}

// Dimension with the largest (|a_i| + mean_j |a_j|) * width_i, or the widest one when that is zero
// everywhere; -1 when no dimension can be halved in floating point. |a_i| * width_i alone (how much
// the linear bound gains) starves wide dimensions whose coefficient happens to be small at this
// box, although they drive the relaxation error: on ACAS Xu property 1 it needed > 44,000
// domains where the smoothed score needs about 100 (pure widest-first: 107, but 10x more domains
// on property 2).
int choose_split(const Domain& d, const double* a) {
  int best = -1, widest = -1;
  double best_s = 0, widest_w = 0, mean_a = 0;
  if (a) {
    for (size_t i = 0; i < d.lo.size(); ++i)
      mean_a += std::abs(a[i]);
    mean_a /= static_cast<double>(d.lo.size());
  }
  for (size_t i = 0; i < d.lo.size(); ++i) {
    const double w = d.hi[i] - d.lo[i];
    const double mid = 0.5 * (d.lo[i] + d.hi[i]);
    if (!(mid > d.lo[i] && mid < d.hi[i]))
      continue;  // too narrow to split
    if (w > widest_w) {
      widest_w = w;
      widest = static_cast<int>(i);
    }
    const double s = a ? (std::abs(a[i]) + mean_a) * w : 0;
    if (s > best_s) {
      best_s = s;
      best = static_cast<int>(i);
    }
  }
  return best >= 0 ? best : widest;
}

class InputBab {
 public:
  InputBab(const AttackModel& m, const Property& p, int64_t ci, const InputBabOptions& o)
      : m_(m),
        p_(p),
        ci_(ci),
        pc_(p.cases[static_cast<size_t>(ci)]),
        o_(o),
        rows_(term_rows(pc_)),
        chain_(o.dense_engine ? m.dense_chain() : nullptr) {
    for (const auto& c : rows_.c)
      c_all_.insert(c_all_.end(), c.begin(), c.end());
  }

  Expected<InputBabResult> run();

 private:
  std::vector<Bounded> bound_group(const std::vector<const Domain*>& ds, Executor* ex) const;
  std::vector<Bounded> bound_chain(const std::vector<const Domain*>& ds) const;
  Bounded finish(const Domain& d,
                 const std::vector<double>& lower,
                 const double* a_rows,
                 int64_t stride,
                 Executor* ex) const;
  bool use_chain(const Domain& d) const {
    return chain_ && !(o_.alpha_depth >= 0 && d.depth >= o_.alpha_depth);
  }
  // Checked counterexample from a candidate point, or nullopt.
  Expected<std::optional<Counterexample>> confirm(const std::vector<double>& x) const {
    return check_counterexample(m_, p_, ci_, x);
  }
  Expected<std::optional<Counterexample>> attack_in(const Domain& d, uint64_t seed) const;
  bool take(Domain& out);
  void push(Domain d);

  const AttackModel& m_;
  const Property& p_;
  int64_t ci_;
  const PropertyCase& pc_;
  const InputBabOptions& o_;
  TermRows rows_;
  const DenseChain* chain_;
  std::vector<double> c_all_;  // every row of the region, row-major
  std::vector<Domain> heap_, dfs_;
  uint64_t seq_ = 0;
};

// Bounds a group of domains by one CROWN call. With the model's batched graph (batch B), domain k
// of the group is sample k of the batch: the samples are independent, so one call bounds B
// domains and the per-call overhead (which dominates on small networks) is shared; unused
// samples repeat domain 0. Otherwise one call per domain.
std::vector<Bounded> InputBab::bound_group(const std::vector<const Domain*>& ds,
                                           Executor* ex) const {
  if (!ds.empty() && use_chain(*ds[0]))
    return bound_chain(ds);
  std::vector<Bounded> out(ds.size());
  const int64_t batch = m_.batch();
  const int64_t n = m_.num_inputs(), n_out = m_.num_outputs();
  const bool batched = o_.batch_graph && batch > 1 && static_cast<int64_t>(ds.size()) > 1;
  const int64_t per_call = batched ? batch : 1;
  for (size_t g0 = 0; g0 < ds.size(); g0 += static_cast<size_t>(per_call)) {
    const size_t g1 = std::min(ds.size(), g0 + static_cast<size_t>(per_call));
    const int64_t slots = batched ? batch : 1;
    std::vector<double> lo(static_cast<size_t>(slots * n)), hi(lo.size());
    std::vector<std::vector<double>> c;
    std::vector<size_t> first_row(g1 - g0 + 1, 0);
    for (int64_t k = 0; k < slots; ++k) {
      const Domain& d = *ds[g0 + static_cast<size_t>(k) < g1 ? g0 + static_cast<size_t>(k) : g0];
      std::copy(d.lo.begin(), d.lo.end(), lo.begin() + k * n);
      std::copy(d.hi.begin(), d.hi.end(), hi.begin() + k * n);
      if (g0 + static_cast<size_t>(k) >= g1)
        continue;
      first_row[static_cast<size_t>(k)] = c.size();
      for (int32_t t : d.terms)
        for (int32_t r : rows_.of_term[static_cast<size_t>(t)]) {
          std::vector<double> row(static_cast<size_t>(slots * n_out), 0.0);
          const auto& src = rows_.c[static_cast<size_t>(r)];
          std::copy(src.begin(), src.end(), row.begin() + k * n_out);
          c.push_back(std::move(row));
        }
      first_row[static_cast<size_t>(k) + 1] = c.size();
    }
    std::vector<double> lower(c.size(), -kInf);
    Tensor lower_a;
    if (!c.empty()) {
      BoundOptions bo;
      bo.dtype = DType::kF64;
      bo.threads = 1;  // the groups of a round run in parallel instead
      bo.safe_rounding = o_.safe_rounding;
      CrownOptions co;
      co.lower_only = true;
      co.lower_linear = true;
      co.alpha = o_.alpha_depth >= 0 && ds[g0]->depth >= o_.alpha_depth;
      co.alpha_options = o_.alpha;
      auto cr = crown_bounds(batched ? m_.batched() : m_.single(),
                             std::vector<Perturbation>{Perturbation::box(lo, hi)},
                             c,
                             bo,
                             co);
      if (!cr) {
        for (size_t i = g0; i < g1; ++i)
          out[i].status = cr.status();
        continue;
      }
      lower = cr->bounds.lo.to_double_vector();
      lower_a = std::move(cr->lower_a);
    }
    for (size_t i = g0; i < g1; ++i) {
      const size_t k = i - g0;
      const std::vector<double> mine(lower.begin() + static_cast<int64_t>(first_row[k]),
                                     lower.begin() + static_cast<int64_t>(first_row[k + 1]));
      const double* a = lower_a.is_valid() ? lower_a.data<double>() +
                                                 static_cast<int64_t>(first_row[k]) * slots * n +
                                                 static_cast<int64_t>(k) * n
                                           : nullptr;
      out[i] = finish(*ds[i], mine, a, slots * n, ex);
    }
  }
  return out;
}

// Bounds a group of domains with the dense engine in one call: every row of the region for
// every domain; each domain then keeps the rows of its open terms.
std::vector<Bounded> InputBab::bound_chain(const std::vector<const Domain*>& ds) const {
  const auto nb = static_cast<int64_t>(ds.size());
  const int64_t n = m_.num_inputs(), rows = static_cast<int64_t>(rows_.rhs.size());
  std::vector<double> lo(static_cast<size_t>(nb * n)), hi(lo.size());
  for (int64_t k = 0; k < nb; ++k) {
    std::copy(ds[k]->lo.begin(), ds[k]->lo.end(), lo.begin() + k * n);
    std::copy(ds[k]->hi.begin(), ds[k]->hi.end(), hi.begin() + k * n);
  }
  const int64_t nr = chain_->num_relu();
  std::vector<uint8_t> state(static_cast<size_t>(nb * nr), DenseChain::kUnknown);
  for (int64_t k = 0; k < nb; ++k)
    if (static_cast<int64_t>(ds[k]->relu_state.size()) == nr)
      std::copy(ds[k]->relu_state.begin(), ds[k]->relu_state.end(), state.begin() + k * nr);
  std::vector<double> lower(static_cast<size_t>(nb * rows)), coeffs(lower.size() * n);
  chain_->lower_bounds(lo.data(),
                       hi.data(),
                       nb,
                       c_all_.data(),
                       rows,
                       o_.safe_rounding,
                       lower.data(),
                       coeffs.data(),
                       true,
                       state.data());
  std::vector<Bounded> out(ds.size());
  std::vector<double> mine, a;
  for (int64_t k = 0; k < nb; ++k) {
    mine.clear();
    a.clear();
    for (int32_t t : ds[k]->terms)
      for (int32_t r : rows_.of_term[static_cast<size_t>(t)]) {
        const int64_t row = k * rows + r;
        mine.push_back(lower[static_cast<size_t>(row)]);
        a.insert(a.end(), coeffs.begin() + row * n, coeffs.begin() + (row + 1) * n);
      }
    Bounded& bd = out[static_cast<size_t>(k)];
    bd = finish(*ds[k], mine, a.data(), n, nullptr);
    if (!bd.open.empty())
      bd.relu_state.assign(state.begin() + k * nr, state.begin() + (k + 1) * nr);
  }
  return out;
}

// Refuted terms, the split and the candidate points of one bounded domain: `lower` per row of
// its open terms (in order), the rows' linear lower-bound coefficients at a + j * stride.
Bounded InputBab::finish(const Domain& d,
                         const std::vector<double>& lower,
                         const double* a_rows,
                         int64_t stride,
                         Executor* ex) const {
  Bounded b;
  // Per open term: its best row (largest margin); the domain's worst term decides the split.
  const auto n = static_cast<int64_t>(d.lo.size());
  int64_t worst_row = -1;  // index into lower
  std::vector<int64_t> worst_term_rows;
  size_t pos = 0;
  for (int32_t t : d.terms) {
    const auto& tr = rows_.of_term[static_cast<size_t>(t)];
    bool refuted = false;
    double margin = -kInf;
    int64_t best = -1;
    std::vector<int64_t> mine;
    for (size_t j = 0; j < tr.size(); ++j, ++pos) {
      const double l = lower[pos];
      mine.push_back(static_cast<int64_t>(pos));
      if (refutes(rows_, tr[j], l))
        refuted = true;
      const double mg = std::isnan(l) ? -kInf : l - rows_.rhs[static_cast<size_t>(tr[j])];
      if (best < 0 || mg > margin) {
        margin = mg;
        best = static_cast<int64_t>(pos);
      }
    }
    if (refuted)
      continue;
    b.open.push_back(t);
    if (margin < b.worst || worst_row < 0) {
      b.worst = margin;
      worst_row = best;
      worst_term_rows = std::move(mine);
    }
  }
  if (b.open.empty())
    return b;
  b.split = choose_split(d, a_rows && worst_row >= 0 ? a_rows + worst_row * stride : nullptr);
  // Candidates: the domain's centre and, for the worst term's rows, the corner minimising the
  // row's linear lower bound (where CROWN's bound is attained).
  std::vector<std::vector<double>> cand;
  std::vector<double> centre(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    centre[static_cast<size_t>(i)] =
        0.5 * (d.lo[static_cast<size_t>(i)] + d.hi[static_cast<size_t>(i)]);
  cand.push_back(std::move(centre));
  if (a_rows)
    for (size_t j = 0; j < worst_term_rows.size() && j < 4; ++j) {
      const double* a = a_rows + worst_term_rows[j] * stride;
      std::vector<double> x(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i)
        x[static_cast<size_t>(i)] =
            a[i] >= 0 ? d.lo[static_cast<size_t>(i)] : d.hi[static_cast<size_t>(i)];
      cand.push_back(std::move(x));
    }
  const Shape& in_shape = m_.single().value(m_.single().inputs()[0]).shape;
  std::vector<double> yv(static_cast<size_t>(m_.num_outputs()));
  for (auto& x : cand) {
    if (chain_) {
      chain_->forward(x.data(), yv.data());  // screening only: confirm() re-checks
    } else {
      auto y = ex->run({Tensor::from_vector<double>(in_shape, x)});
      if (!y) {
        b.status = y.status();
        return b;
      }
      yv = (*y)[0].to_double_vector();
    }
    for (int32_t t : b.open)
      if (term_satisfied(pc_.unsafe[static_cast<size_t>(t)], yv)) {
        b.hit = std::move(x);
        return b;
      }
  }
  return b;
}

Expected<std::optional<Counterexample>> InputBab::attack_in(const Domain& d, uint64_t seed) const {
  Property sub;
  sub.name = p_.name;
  sub.num_inputs = p_.num_inputs;
  sub.num_outputs = p_.num_outputs;
  PropertyCase sc;
  sc.input = Perturbation::box(d.lo, d.hi);
  for (int32_t t : d.terms)
    sc.unsafe.push_back(pc_.unsafe[static_cast<size_t>(t)]);
  sub.cases.push_back(std::move(sc));
  AttackOptions ao = o_.attack;
  ao.seed = o_.attack.seed + seed;
  ao.threads = o_.threads;
  ao.should_stop = o_.should_stop;
  NNCERT_ASSIGN_OR_RETURN(auto ce, attack(m_, sub, ao));
  if (!ce)
    return std::optional<Counterexample>{};
  return confirm(ce->x);  // against the original property and region
}

bool InputBab::take(Domain& out) {
  if (!dfs_.empty()) {
    out = std::move(dfs_.back());
    dfs_.pop_back();
    return true;
  }
  if (heap_.empty())
    return false;
  std::pop_heap(heap_.begin(), heap_.end(), later);
  out = std::move(heap_.back());
  heap_.pop_back();
  return true;
}

void InputBab::push(Domain d) {
  d.seq = seq_++;
  if (static_cast<int64_t>(heap_.size()) >= o_.max_queue) {
    dfs_.push_back(std::move(d));
    return;
  }
  heap_.push_back(std::move(d));
  std::push_heap(heap_.begin(), heap_.end(), later);
}

Expected<InputBabResult> InputBab::run() {
  InputBabResult res;
  using Outcome = InputBabResult::Outcome;
  const int threads = resolve_threads(o_.threads);
  {
    Domain root;
    root.lo = pc_.input.lo;
    root.hi = pc_.input.hi;
    for (size_t t = 0; t < pc_.unsafe.size(); ++t)
      root.terms.push_back(static_cast<int32_t>(t));
    if (root.terms.empty()) {
      res.outcome = Outcome::kVerified;
      return res;
    }
    push(std::move(root));
  }
  bool unsplittable = false;
  RunOptions ro;
  ro.dtype = DType::kF64;
  ro.threads = 1;
  for (int64_t iter = 0;; ++iter) {
    if (o_.should_stop && o_.should_stop()) {
      res.outcome = Outcome::kStopped;
      return res;
    }
    if (o_.attack_every > 0 && iter > 0 && iter % o_.attack_every == 0) {
      const Domain* top = !dfs_.empty() ? &dfs_.back() : heap_.empty() ? nullptr : &heap_.front();
      if (top) {
        NNCERT_ASSIGN_OR_RETURN(auto ce, attack_in(*top, static_cast<uint64_t>(iter)));
        if (ce) {
          res.counterexample = std::move(*ce);
          res.counterexample->found_by = "input-bab";
          res.outcome = Outcome::kFalsified;
          return res;
        }
      }
    }
    std::vector<Domain> batch;
    Domain d;
    const int per_round = chain_ ? o_.chain_batch : o_.batch;
    while (static_cast<int>(batch.size()) < per_round && take(d))
      batch.push_back(std::move(d));
    if (batch.empty())
      break;
    if (o_.max_domains > 0 && res.domains + static_cast<int64_t>(batch.size()) > o_.max_domains) {
      res.outcome = Outcome::kUnknown;
      res.message = "input BaB stopped after " + std::to_string(res.domains) + " domains";
      return res;
    }
    std::vector<Bounded> out(batch.size());
    const auto nb = static_cast<int64_t>(batch.size());
    // Groups of at most m_.batch() domains, one CROWN call each, spread over the threads.
    // With the dense engine: groups of up to 32 domains per call (its matrix products grow
    // with the group); the domains of one group share one alpha setting.
    const int64_t group = chain_ ? 32 : std::max<int64_t>(1, m_.batch());
    const int64_t ng = (nb + group - 1) / group;
    parallel_for(ng, threads, 1, [&](int64_t g0, int64_t g1) {
      std::optional<Expected<Executor>> ex;
      for (int64_t gi = g0; gi < g1; ++gi) {
        const int64_t i0 = gi * group, i1 = std::min(nb, i0 + group);
        std::vector<const Domain*> ds;
        for (int64_t i = i0; i < i1; ++i)
          ds.push_back(&batch[static_cast<size_t>(i)]);
        if (!use_chain(*ds[0]) && !ex)
          ex.emplace(Executor::create(m_.single(), ro));
        if (ex && !*ex) {
          for (int64_t i = i0; i < i1; ++i)
            out[static_cast<size_t>(i)].status = ex->status();
          continue;
        }
        std::vector<Bounded> r = bound_group(ds, ex ? &**ex : nullptr);
        for (int64_t i = i0; i < i1; ++i)
          out[static_cast<size_t>(i)] = std::move(r[static_cast<size_t>(i - i0)]);
      }
    });
    res.domains += nb;
    for (size_t i = 0; i < batch.size(); ++i) {
      Bounded& b = out[i];
      if (!b.status.is_ok())
        return b.status.with_context("input BaB");
      if (!b.hit.empty()) {
        NNCERT_ASSIGN_OR_RETURN(auto ce, confirm(b.hit));
        if (ce) {
          res.counterexample = std::move(*ce);
          res.counterexample->found_by = "input-bab";
          res.outcome = Outcome::kFalsified;
          return res;
        }
      }
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      Bounded& b = out[i];
      if (b.open.empty())
        continue;
      Domain& dom = batch[i];
      if (b.split < 0) {
        unsplittable = true;  // a point-like box still open: give up on it
        continue;
      }
      const auto s = static_cast<size_t>(b.split);
      const double mid = 0.5 * (dom.lo[s] + dom.hi[s]);
      Domain left;
      left.lo = dom.lo;
      left.hi = dom.hi;
      left.hi[s] = mid;
      left.terms = b.open;
      left.priority = b.worst;
      left.depth = dom.depth + 1;
      left.relu_state = std::move(b.relu_state);
      res.max_depth = std::max(res.max_depth, left.depth);
      Domain right = left;
      right.lo[s] = mid;
      right.hi[s] = dom.hi[s];
      push(std::move(left));
      push(std::move(right));
    }
  }
  if (unsplittable) {
    res.outcome = Outcome::kUnknown;
    res.message = "input BaB reached boxes too narrow to split";
    return res;
  }
  res.outcome = Outcome::kVerified;
  return res;
}

}  // namespace

Expected<InputBabResult> input_bab(const AttackModel& model,
                                   const Property& property,
                                   int64_t case_index,
                                   const InputBabOptions& options) {
  NNCERT_RETURN_IF_ERROR(options.validate());
  if (case_index < 0 || case_index >= static_cast<int64_t>(property.cases.size()))
    return Status(ErrorCode::kInvalidArgument,
                  "input BaB: no region " + std::to_string(case_index));
  const PropertyCase& pc = property.cases[static_cast<size_t>(case_index)];
  if (pc.input.kind != Perturbation::Kind::kBox || !pc.input.constraints.empty())
    return Status(ErrorCode::kInvalidArgument,
                  "input BaB needs a box region without linear constraints");
  NNCERT_RETURN_IF_ERROR(pc.input.validate(model.num_inputs()));
  InputBab bab(model, property, case_index, options);
  return bab.run();
}

}  // namespace nncert
