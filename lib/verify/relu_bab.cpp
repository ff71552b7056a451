#include "verify/relu_bab.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>

#include "core/parallel.h"
#include "verify/relu_bab_branch.h"

namespace nncert {

namespace {

using namespace relu_bab_detail;
using Clock = std::chrono::steady_clock;
constexpr double kInf = std::numeric_limits<double>::infinity();

using Rows = ConstraintRows;

// A term is refuted when one of its rows has lower - rhs > 0 (>= 0 when strict). The domain's
// worst margin is the smallest best-row margin over its unrefuted terms; `pos` is that row's
// position in the domain's row list. `open` lists the unrefuted terms.
struct Margin {
  bool refuted = false;
  double worst = kInf;
  int64_t pos = -1;
  std::vector<int32_t> open;
};

// rows: the constraint rows bounded (indices into `all`), lo: their lower bounds.
Margin domain_margin(const Rows& all, const std::vector<int64_t>& rows, const double* lo) {
  struct Term {
    bool refuted = false;
    double best = -kInf;
    int64_t pos = -1;
  };
  std::vector<Term> terms;
  std::vector<int32_t> seen;
  for (size_t p = 0; p < rows.size(); ++p) {
    const auto k = static_cast<size_t>(rows[p]);
    const auto t = static_cast<size_t>(all.term[k]);
    if (terms.size() <= t)
      terms.resize(t + 1);
    if (std::find(seen.begin(), seen.end(), static_cast<int32_t>(t)) == seen.end())
      seen.push_back(static_cast<int32_t>(t));
    const double m = lo[p] - all.rhs[k];
    if (std::isnan(m))
      continue;
    if (row_refutes(all, k, lo[p]))
      terms[t].refuted = true;
    if (m > terms[t].best || terms[t].pos < 0) {
      terms[t].best = m;
      terms[t].pos = static_cast<int64_t>(p);
    }
  }
  Margin out;
  for (int32_t t : seen) {
    const Term& tm = terms[static_cast<size_t>(t)];
    if (tm.refuted)
      continue;
    out.open.push_back(t);
    if (tm.best < out.worst || out.pos < 0) {
      out.worst = tm.best;
      out.pos = tm.pos >= 0 ? tm.pos : 0;
    }
  }
  out.refuted = out.open.empty();
  return out;
}

// Rows `keep` (positions) of a [S, m] tensor.
Tensor select_rows(const Tensor& t, const std::vector<int64_t>& keep) {
  if (!t.is_valid() || t.dim(0) == 0)
    return t;
  const int64_t m = t.numel() / t.dim(0);
  Tensor out(DType::kF64, {static_cast<int64_t>(keep.size()), m});
  for (size_t r = 0; r < keep.size(); ++r)
    std::copy_n(
        t.data<double>() + keep[r] * m, m, out.data<double>() + static_cast<int64_t>(r) * m);
  return out;
}

// The parameters of rows `keep` only (a child bounds only its parent's open rows).
AlphaState select_rows(const AlphaState& a, const std::vector<int64_t>& keep) {
  AlphaState out;
  out.alpha.resize(a.alpha.size());
  for (size_t k = 0; k < a.alpha.size(); ++k) {
    const Interval& in = a.alpha[k];
    out.alpha[k].lo = select_rows(in.lo, keep);
    const bool alias =
        in.lo.is_valid() && in.hi.is_valid() && in.lo.data<double>() == in.hi.data<double>();
    out.alpha[k].hi = alias ? out.alpha[k].lo : select_rows(in.hi, keep);
  }
  out.beta = select_rows(a.beta, keep);
  out.splits = a.splits;
  return out;
}

int64_t tensor_bytes(const Tensor& t) {
  return t.is_valid() ? t.numel() * 8 : 0;
}

// What a bounded, still open domain keeps for its children.
struct DomainBound {
  std::vector<Interval> intermediate;
  std::vector<Tensor> coef;        // per ValueId: [n] lambda of the worst row (branching)
  std::vector<double> minimizer;   // where the worst row's plain CROWN bound is attained
  std::shared_ptr<AlphaState> ab;  // optimised alpha / beta of the open rows (warm start)
  int64_t bytes = 0;
};

struct Domain {
  std::vector<ReluSplit> splits;
  std::vector<int64_t> rows;  // constraint rows of the open terms
  std::shared_ptr<const DomainBound> b;
  double worst = kInf;
  uint64_t seq = 0;
};
// Heap order: the smallest margin on top, then the older domain.
bool later(const Domain& a, const Domain& b) {
  return a.worst != b.worst ? a.worst > b.worst : a.seq > b.seq;
}

// A child to bound: its splits and rows, and where it came from.
struct Child {
  std::vector<ReluSplit> splits;
  const Domain* parent = nullptr;
};

class Bab {
 public:
  Bab(const AttackModel& m, const Property& p, int64_t ci, const ReluBabOptions& o)
      : model_(m), p_(p), ci_(ci), pc_(p.cases[static_cast<size_t>(ci)]), o_(o) {
    rows_ = constraint_rows(pc_);
    t0_ = Clock::now();
    threads_ = resolve_threads(o_.threads);
  }

  Expected<ReluBabResult> run();

 private:
  const AttackModel& model_;
  const Property& p_;
  int64_t ci_;
  const PropertyCase& pc_;
  ReluBabOptions o_;
  Rows rows_;
  Clock::time_point t0_;
  int threads_ = 1;
  CrownShared shared_;  // constants and rounding magnitudes of the region, for every domain
  std::vector<NodeId> order_;
  std::vector<Domain> heap_, dfs_;
  int64_t queue_bytes_ = 0;
  uint64_t seq_ = 0;
  ReluBabResult res_;
  int64_t undecided_leaves_ = 0;
  double leaf_worst_ = kInf;
  double batch_worst_ = kInf;  // the domains taken this round, until their children are filed
  // The lower-bound minimisers of the last round's open children, worst first (PGD starts).
  std::vector<std::pair<double, std::vector<double>>> recent_points_;

  bool should_stop() const {
    if (o_.should_stop && o_.should_stop())
      return true;
    return o_.timeout_s > 0 &&
           std::chrono::duration<double>(Clock::now() - t0_).count() >= o_.timeout_s;
  }

  Expected<ReluBabResult> finish(ReluBabResult::Outcome out, std::string reason) {
    res_.outcome = out;
    res_.reason = std::move(reason);
    double w = std::min(leaf_worst_, batch_worst_);
    for (const Domain& d : dfs_)
      w = std::min(w, d.worst);
    if (!heap_.empty())
      w = std::min(w, heap_.front().worst);
    res_.worst_margin = w;
    return res_;
  }

  void push(Domain d) {
    d.seq = seq_++;
    queue_bytes_ += d.b->bytes;
    res_.max_depth = std::max(res_.max_depth, static_cast<int>(d.splits.size()));
    if (static_cast<int64_t>(heap_.size()) >= o_.max_queue || queue_bytes_ > o_.max_queue_bytes) {
      ++res_.depth_first;
      dfs_.push_back(std::move(d));
    } else {
      heap_.push_back(std::move(d));
      std::push_heap(heap_.begin(), heap_.end(), later);
    }
    res_.max_queue_size =
        std::max(res_.max_queue_size, static_cast<int64_t>(heap_.size() + dfs_.size()));
    res_.max_queue_bytes = std::max(res_.max_queue_bytes, queue_bytes_);
  }
  // Depth-first children first (they keep the memory bounded), then the worst open domain.
  bool take(Domain& out) {
    if (!dfs_.empty()) {
      out = std::move(dfs_.back());
      dfs_.pop_back();
    } else if (!heap_.empty()) {
      std::pop_heap(heap_.begin(), heap_.end(), later);
      out = std::move(heap_.back());
      heap_.pop_back();
    } else {
      return false;
    }
    queue_bytes_ -= out.b->bytes;
    return true;
  }
  bool open_empty() const { return heap_.empty() && dfs_.empty(); }

  // A checked counterexample at x (float64 re-execution): records it, returns true.
  Expected<bool> try_point(const std::vector<double>& x) {
    if (x.size() != static_cast<size_t>(model_.num_inputs()))
      return false;
    NNCERT_ASSIGN_OR_RETURN(auto ce, check_counterexample(model_, p_, ci_, x));
    if (!ce)
      return false;
    res_.counterexample = std::move(*ce);
    res_.counterexample->found_by = "bab";
    return true;
  }

  Expected<bool> reattack(int64_t round) {
    AttackOptions ao = o_.attack;
    ao.seed = o_.attack.seed + static_cast<uint64_t>(round);
    ao.threads = o_.threads;
    ao.should_stop = [this] {
      return should_stop();
    };
    for (auto& [m, x] : recent_points_)
      if (static_cast<int>(ao.starts.size()) < std::max(1, o_.batch))
        ao.starts.push_back(x);
    NNCERT_ASSIGN_OR_RETURN(auto ce, attack(model_, p_, ao, {ci_}));
    if (!ce)
      return false;
    res_.counterexample = std::move(*ce);
    return true;
  }

  CrownOptions crown_options(const std::vector<ReluSplit>& splits,
                             const Domain* parent,
                             bool leaf) const;
  Expected<CrownResult> bound(const std::vector<ReluSplit>& splits,
                              const Domain* parent,
                              const std::vector<int64_t>& rows,
                              bool leaf,
                              int threads) const;
  std::vector<Neuron> choose(const std::vector<Domain>& batch, Status& st);
  Expected<bool> file(std::vector<ReluSplit> splits,
                      const std::vector<int64_t>& rows,
                      Expected<CrownResult> cr);
};

CrownOptions Bab::crown_options(const std::vector<ReluSplit>& splits,
                                const Domain* parent,
                                bool leaf) const {
  CrownOptions co;
  co.alpha = o_.alpha;
  co.beta = o_.alpha && o_.beta;
  co.alpha_options = o_.alpha_options;
  if (leaf) {
    // Every ReLU is linear here: the bound is an LP over the region and beta its dual, so
    // more steps close the gap (strong duality).
    co.alpha_options.iterations = o_.leaf_iterations;
    co.alpha_options.early_stop_patience = o_.leaf_iterations / 4;
    co.alpha_options.lr_decay = 0.97;
  }
  co.lower_only = true;
  co.should_stop = [this] {
    return should_stop();
  };
  co.splits = splits;
  if (!parent && co.alpha) {
    // The root's parameters are every domain's starting point (inherited): optimised longer.
    co.alpha_options = o_.root_alpha;
    co.alpha_options.optimize_intermediate = o_.root_bounds == nullptr;
  }
  if (!parent && o_.root_bounds)
    co.reuse_bounds = o_.root_bounds;  // no splits: every value is taken from there
  if (parent) {
    co.reuse_bounds = &parent->b->intermediate;
    co.fixed_intermediate = o_.fixed_intermediate;
    if (o_.inherit_alpha && parent->b->ab)
      co.alpha_init = parent->b->ab.get();
  }
  co.keep_alpha = co.alpha;  // children's warm start, FSB's parameters
  co.relu_coefficients = true;
  co.shared = &shared_;
  return co;
}

Expected<CrownResult> Bab::bound(const std::vector<ReluSplit>& splits,
                                 const Domain* parent,
                                 const std::vector<int64_t>& rows,
                                 bool leaf,
                                 int threads) const {
  BoundOptions bo;
  bo.dtype = DType::kF64;
  bo.threads = threads;
  bo.safe_rounding = o_.safe_rounding;
  std::vector<std::vector<double>> c;
  for (int64_t r : rows)
    c.push_back(rows_.c[static_cast<size_t>(r)]);
  CrownOptions co = crown_options(splits, parent, leaf);
  // No more steps once every term is refuted: the domain is closed.
  co.stop_lower = [this, &rows](const double* lo, int64_t s) {
    return s == static_cast<int64_t>(rows.size()) && domain_margin(rows_, rows, lo).refuted;
  };
  return crown_bounds(model_.single(), std::vector<Perturbation>{pc_.input}, c, bo, co);
}

// Filtered smart branching: per domain of the batch, its candidates' children bounded with the
// parent's intermediate bounds and parameters, no optimisation (all in parallel); the candidate
// whose worse child has the largest margin (then the larger sum) wins.
std::vector<Neuron> Bab::choose(const std::vector<Domain>& batch, Status& st) {
  const Graph& g = model_.single();
  std::vector<Neuron> out(batch.size());
  std::vector<std::vector<Neuron>> cands(batch.size());
  struct Eval {
    size_t d = 0;
    Neuron nu;
    bool active = true;
    double worst = -kInf;
  };
  std::vector<Eval> evals;
  for (size_t k = 0; k < batch.size(); ++k) {
    const DomainBound& b = *batch[k].b;
    const auto all = unstable_neurons(g, order_, b.intermediate);
    out[k] = all.empty() ? Neuron{} : babsr_choice(all, b.intermediate, b.coef);
    if (o_.branching != ReluBabOptions::Branching::kFsb || all.size() < 2)
      continue;
    cands[k] = fsb_candidates(all, b.intermediate, b.coef, std::max(1, o_.fsb_candidates));
    if (cands[k].size() < 2)
      continue;
    for (const Neuron& nu : cands[k])
      for (bool active : {true, false})
        evals.push_back({k, nu, active, -kInf});
  }
  if (evals.empty())
    return out;
  std::vector<Status> errs(evals.size());
  parallel_for(static_cast<int64_t>(evals.size()), threads_, 1, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      Eval& e = evals[static_cast<size_t>(i)];
      const Domain& d = batch[e.d];
      std::vector<ReluSplit> s = d.splits;
      s.push_back({e.nu.v, e.nu.j, e.active});
      BoundOptions bo;
      bo.dtype = DType::kF64;
      bo.threads = 1;
      bo.safe_rounding = o_.safe_rounding;
      CrownOptions co = crown_options(s, &d, false);
      co.fixed_intermediate = true;
      co.alpha_init = d.b->ab.get();
      co.alpha_options.iterations = 0;  // one pass at the parent's alpha and beta
      co.keep_alpha = false;
      co.relu_coefficients = false;
      std::vector<std::vector<double>> c;
      for (int64_t r : d.rows)
        c.push_back(rows_.c[static_cast<size_t>(r)]);
      auto cr = crown_bounds(g, std::vector<Perturbation>{pc_.input}, c, bo, co);
      if (!cr) {
        errs[static_cast<size_t>(i)] = cr.status();
        continue;
      }
      if (cr->infeasible) {
        e.worst = kInf;
        continue;
      }
      const std::vector<double> lo = cr->bounds.lo.to_double_vector();
      const Margin m = domain_margin(rows_, d.rows, lo.data());
      e.worst = m.refuted ? kInf : m.worst;
    }
  });
  for (const Status& s : errs)
    if (!s.is_ok()) {
      st = s;
      return out;
    }
  res_.fsb_bounds += static_cast<int64_t>(evals.size());
  // evals are grouped per domain, candidate after candidate, active then inactive.
  std::vector<double> best(batch.size(), -kInf), best_sum(batch.size(), -kInf);
  for (size_t i = 0; i + 1 < evals.size(); i += 2) {
    const Eval& a = evals[i];
    const Eval& b = evals[i + 1];
    const double w = std::min(a.worst, b.worst);
    const double sum =
        (std::isinf(a.worst) ? 1e300 : a.worst) + (std::isinf(b.worst) ? 1e300 : b.worst);
    if (w > best[a.d] || (w == best[a.d] && sum > best_sum[a.d])) {
      best[a.d] = w;
      best_sum[a.d] = sum;
      out[a.d] = a.nu;
    }
  }
  return out;
}

// Files one bounded child: pruned, a counterexample (returns true: stop), a leaf, or queued.
Expected<bool> Bab::file(std::vector<ReluSplit> splits,
                         const std::vector<int64_t>& rows,
                         Expected<CrownResult> cr_or) {
  NNCERT_ASSIGN_OR_RETURN(CrownResult cr, std::move(cr_or));
  ++res_.domains;
  if (cr.infeasible)
    return false;
  const std::vector<double> lo = cr.bounds.lo.to_double_vector();
  Margin m = domain_margin(rows_, rows, lo.data());
  if (m.refuted)
    return false;
  // The relaxed minimiser of the worst row may already violate the property.
  const auto pos = static_cast<size_t>(m.pos);
  if (pos < cr.minimizers.size()) {
    NNCERT_ASSIGN_OR_RETURN(bool found, try_point(cr.minimizers[pos]));
    if (found)
      return true;
  }
  const Graph& g = model_.single();
  const auto cands = unstable_neurons(g, order_, cr.intermediate);
  const auto n_unstable = static_cast<int64_t>(cands.size());
  if (cands.empty() && o_.alpha && o_.beta && o_.leaf_iterations > 0) {
    // Every ReLU is fixed: the bound is an LP over the region, which more beta steps close.
    Domain self;
    auto db = std::make_shared<DomainBound>();
    db->intermediate = cr.intermediate;
    if (!cr.alpha_state.alpha.empty())
      db->ab = std::make_shared<AlphaState>(cr.alpha_state);
    self.b = db;
    NNCERT_ASSIGN_OR_RETURN(CrownResult leaf, bound(splits, &self, rows, true, o_.threads));
    ++res_.domains;
    if (leaf.infeasible)
      return false;
    const std::vector<double> llo = leaf.bounds.lo.to_double_vector();
    m = domain_margin(rows_, rows, llo.data());
    if (m.refuted)
      return false;
    if (static_cast<size_t>(m.pos) < leaf.minimizers.size()) {
      NNCERT_ASSIGN_OR_RETURN(bool found, try_point(leaf.minimizers[static_cast<size_t>(m.pos)]));
      if (found)
        return true;
    }
  }
  if (cands.empty() || (o_.leaf_solver && n_unstable <= o_.leaf_max_unstable)) {
    ++res_.leaves;
    if (o_.leaf_solver) {
      LeafProblem lp;
      lp.model = &model_;
      lp.property = &p_;
      lp.case_index = ci_;
      lp.splits = &splits;
      lp.bounds = &cr.intermediate;
      lp.unstable = n_unstable;
      lp.should_stop = [this] {
        return should_stop();
      };
      NNCERT_ASSIGN_OR_RETURN(LeafAnswer a, o_.leaf_solver(lp));
      if (a.kind == LeafAnswer::Kind::kSafe)
        return false;
      if (a.kind == LeafAnswer::Kind::kUnsafe) {
        NNCERT_ASSIGN_OR_RETURN(bool found, try_point(a.x));
        if (found)
          return true;
      }
    }
    if (cands.empty()) {
      ++undecided_leaves_;
      leaf_worst_ = std::min(leaf_worst_, m.worst);
      return false;
    }
  }
  // Keep what the children need: the open rows only.
  std::vector<int64_t> keep, open_rows;
  for (size_t p = 0; p < rows.size(); ++p) {
    const int32_t t = static_cast<int32_t>(rows_.term[static_cast<size_t>(rows[p])]);
    if (std::find(m.open.begin(), m.open.end(), t) != m.open.end()) {
      keep.push_back(static_cast<int64_t>(p));
      open_rows.push_back(rows[p]);
    }
  }
  auto db = std::make_shared<DomainBound>();
  db->intermediate = std::move(cr.intermediate);
  // Constants (weights, in float64) are no domain's own: children never read them.
  for (size_t v = 0; v < db->intermediate.size(); ++v)
    if (g.is_constant(static_cast<ValueId>(v)))
      db->intermediate[v] = Interval{};
  db->coef.resize(cr.relu_coefs.size());
  for (size_t v = 0; v < cr.relu_coefs.size(); ++v) {
    const Tensor& t = cr.relu_coefs[v];
    if (!t.is_valid() || t.dim(0) <= m.pos)
      continue;
    db->coef[v] = select_rows(t, {m.pos});
  }
  if (pos < cr.minimizers.size())
    db->minimizer = std::move(cr.minimizers[pos]);
  if (!cr.alpha_state.alpha.empty())
    db->ab = std::make_shared<AlphaState>(select_rows(cr.alpha_state, keep));
  // The estimate of what the domain holds.
  int64_t bytes = 256 + static_cast<int64_t>(splits.size() * sizeof(ReluSplit));
  for (const Interval& iv : db->intermediate)
    bytes += tensor_bytes(iv.lo) + tensor_bytes(iv.hi);
  for (const Tensor& t : db->coef)
    bytes += tensor_bytes(t);
  bytes += static_cast<int64_t>(db->minimizer.size() * 8);
  if (db->ab) {
    for (const Interval& iv : db->ab->alpha)
      bytes += tensor_bytes(iv.lo) +
               (iv.hi.is_valid() && iv.lo.is_valid() && iv.hi.data<double>() == iv.lo.data<double>()
                    ? 0
                    : tensor_bytes(iv.hi));
    bytes += tensor_bytes(db->ab->beta);
  }
  db->bytes = bytes;
  if (!db->minimizer.empty())
    recent_points_.emplace_back(m.worst, db->minimizer);
  Domain d;
  d.splits = std::move(splits);
  d.rows = std::move(open_rows);
  d.b = std::move(db);
  d.worst = m.worst;
  push(std::move(d));
  return false;
}

Expected<ReluBabResult> Bab::run() {
  const Graph& g = model_.single();
  NNCERT_ASSIGN_OR_RETURN(order_, g.topological_order());
  if (pc_.unsafe.empty()) {
    res_.outcome = ReluBabResult::Outcome::kVerified;
    return res_;
  }
  {
    BoundOptions bo;
    bo.dtype = DType::kF64;
    bo.threads = o_.threads;
    bo.safe_rounding = o_.safe_rounding;
    NNCERT_ASSIGN_OR_RETURN(shared_, crown_shared(g, std::vector<Perturbation>{pc_.input}, bo));
  }
  using Outcome = ReluBabResult::Outcome;
  auto stopped = [&](const Status& st) -> Expected<ReluBabResult> {
    if (st.code() == ErrorCode::kTimeout)
      return finish(Outcome::kTimeout, "time limit");
    return st;
  };
  std::vector<int64_t> all_rows(rows_.rhs.size());
  for (size_t k = 0; k < all_rows.size(); ++k)
    all_rows[k] = static_cast<int64_t>(k);
  {
    auto root = file({}, all_rows, bound({}, nullptr, all_rows, false, o_.threads));
    if (!root)
      return stopped(root.status());
    if (*root)
      return finish(Outcome::kFalsified, "");
  }
  int64_t round = 0;
  while (!open_empty()) {
    if (should_stop())
      return finish(Outcome::kTimeout, "time limit");
    if (o_.max_domains > 0 && res_.domains >= o_.max_domains)
      return finish(Outcome::kUnknown, "domain limit reached");
    std::vector<Domain> batch;
    Domain d;
    while (static_cast<int>(batch.size()) < std::max(1, o_.batch) && take(d))
      batch.push_back(std::move(d));
    for (const Domain& b : batch)
      batch_worst_ = std::min(batch_worst_, b.worst);
    Status st;
    const std::vector<Neuron> pick = choose(batch, st);
    if (!st.is_ok())
      return stopped(st);
    std::vector<Child> kids;
    for (size_t k = 0; k < batch.size(); ++k) {
      if (pick[k].v == kNoValue) {
        // Domains without unstable neurons are leaves, never queued; should one be, it stays
        // undecided rather than dropped (dropping would claim it verified).
        ++undecided_leaves_;
        leaf_worst_ = std::min(leaf_worst_, batch[k].worst);
        continue;
      }
      for (bool active : {true, false}) {
        Child c;
        c.splits = batch[k].splits;
        c.splits.push_back({pick[k].v, pick[k].j, active});
        c.parent = &batch[k];
        kids.push_back(std::move(c));
      }
    }
    // Bound the children in parallel (one thread each), file them in order: verdicts and
    // domain counts do not depend on the thread count.
    std::vector<std::optional<Expected<CrownResult>>> results(kids.size());
    const int inner = kids.size() >= static_cast<size_t>(threads_) ? 1 : threads_;
    parallel_for(static_cast<int64_t>(kids.size()), threads_, 1, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) {
        const Child& c = kids[static_cast<size_t>(i)];
        results[static_cast<size_t>(i)] = bound(c.splits, c.parent, c.parent->rows, false, inner);
      }
    });
    recent_points_.clear();
    for (size_t i = 0; i < kids.size(); ++i) {
      auto r = file(std::move(kids[i].splits), kids[i].parent->rows, std::move(*results[i]));
      if (!r)
        return stopped(r.status());
      if (*r)
        return finish(Outcome::kFalsified, "");
    }
    batch_worst_ = kInf;
    std::sort(recent_points_.begin(), recent_points_.end(), [](const auto& a, const auto& b) {
      return a.first < b.first;
    });
    ++round;
    if (o_.reattack_every > 0 && round % o_.reattack_every == 0) {
      NNCERT_ASSIGN_OR_RETURN(bool found, reattack(round));
      if (found)
        return finish(Outcome::kFalsified, "");
    }
  }
  if (undecided_leaves_ > 0)
    return finish(Outcome::kUnknown,
                  std::to_string(undecided_leaves_) +
                      " domain(s) without unstable neurons not decided (no exact leaf solver)");
  return finish(Outcome::kVerified, "");
}

}  // namespace

Expected<ReluBabResult> relu_bab(const AttackModel& model,
                                 const Property& property,
                                 int64_t case_index,
                                 const ReluBabOptions& options) {
  if (case_index < 0 || case_index >= static_cast<int64_t>(property.cases.size()))
    return Status(ErrorCode::kInvalidArgument, "relu_bab: no region " + std::to_string(case_index));
  if (options.max_queue < 1 || options.max_queue_bytes < 1)
    return Status(ErrorCode::kInvalidArgument,
                  "relu_bab: max_queue and max_queue_bytes must be >= 1");
  if (options.fsb_candidates < 1 || options.batch < 1)
    return Status(ErrorCode::kInvalidArgument, "relu_bab: fsb_candidates and batch must be >= 1");
  Bab bab(model, property, case_index, options);
  return bab.run();
}

}  // namespace nncert
