#include "verify/relu_bab.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <queue>

namespace nncert {

namespace {

using Clock = std::chrono::steady_clock;
constexpr double kInf = std::numeric_limits<double>::infinity();

using Rows = ConstraintRows;

// A term is refuted when one of its rows has lower - rhs > 0 (>= 0 when strict). The domain's
// worst margin is the smallest best-row margin over its unrefuted terms; `row` is that row.
struct Margin {
  bool refuted = false;
  double worst = kInf;
  int64_t row = -1;
};

Margin domain_margin(size_t terms, const Rows& rows, const std::vector<double>& lo) {
  std::vector<double> best(terms, -kInf);
  std::vector<int64_t> best_row(terms, -1);
  std::vector<char> refuted(terms, 0);
  for (size_t k = 0; k < rows.rhs.size(); ++k) {
    const auto t = static_cast<size_t>(rows.term[k]);
    const double m = lo[k] - rows.rhs[k];
    if (std::isnan(m))
      continue;
    if (rows.strict[k] ? m >= 0 : m > 0)
      refuted[t] = 1;
    if (m > best[t] || best_row[t] < 0) {
      best[t] = m;
      best_row[t] = static_cast<int64_t>(k);
    }
  }
  Margin out;
  out.refuted = true;
  for (size_t t = 0; t < terms; ++t) {
    if (refuted[t])
      continue;
    out.refuted = false;
    if (best[t] < out.worst || out.row < 0) {
      out.worst = best[t];
      out.row = best_row[t] >= 0 ? best_row[t] : 0;
    }
  }
  return out;
}

struct Domain {
  std::vector<ReluSplit> splits;
  std::shared_ptr<const CrownResult> bound;
  Margin margin;
};
struct WorstFirst {
  bool operator()(const Domain& a, const Domain& b) const {
    return a.margin.worst > b.margin.worst;  // the smallest margin on top
  }
};

struct Neuron {
  ValueId v = kNoValue;
  int64_t j = 0;
  double score = 0;
};

// Unstable ReLU neurons (l < 0 < u) of a domain, in node order.
std::vector<Neuron> unstable_neurons(const Graph& g,
                                     const std::vector<NodeId>& order,
                                     const std::vector<Interval>& b) {
  std::vector<Neuron> out;
  for (NodeId id : order) {
    const Node& n = g.node(id);
    if ((n.op != "Relu" && n.op != "LeakyRelu") || n.inputs.empty())
      continue;
    const ValueId x = n.inputs[0];
    const Interval& bx = b[static_cast<size_t>(x)];
    if (!bx.lo.is_valid())
      continue;
    for (int64_t j = 0; j < bx.lo.numel(); ++j)
      if (bx.lo.get(j) < 0 && bx.hi.get(j) > 0)
        out.push_back({x, j, 0});
  }
  return out;
}

// BaBSR-style choice: for row r (the worst term's best row) and the coefficient lambda of the
// neuron's output in r's lower bound, a negative lambda takes the chord y <= u (x - l)/(u - l),
// whose intercept -u l/(u - l) costs |lambda| * (-u l)/(u - l) in the bound; splitting removes
// it. Ties (every lambda >= 0) fall back to |lambda| (u - l), then to the widest interval.
Neuron choose_branch(const std::vector<Neuron>& cands, const CrownResult& cr, int64_t row) {
  double best[3] = {0, 0, 0};
  size_t pick[3] = {0, 0, 0};
  for (size_t i = 0; i < cands.size(); ++i) {
    const Neuron& nu = cands[i];
    const Interval& bx = cr.intermediate[static_cast<size_t>(nu.v)];
    const double l = bx.lo.get(nu.j), u = bx.hi.get(nu.j);
    double lambda = 0;
    const Tensor& coef = cr.relu_coefs.size() > static_cast<size_t>(nu.v)
                             ? cr.relu_coefs[static_cast<size_t>(nu.v)]
                             : Tensor();
    if (coef.is_valid() && row >= 0 && row < coef.dim(0)) {
      const int64_t n = coef.numel() / coef.dim(0);
      lambda = coef.data<double>()[row * n + nu.j];
    }
    const double s[3] = {
        std::max(0.0, -lambda) * (-u * l) / (u - l), std::abs(lambda) * (u - l), u - l};
    for (int k = 0; k < 3; ++k)
      if (std::isfinite(s[k]) && s[k] > best[k]) {
        best[k] = s[k];
        pick[k] = i;
      }
  }
  for (int k = 0; k < 3; ++k)
    if (best[k] > 0)
      return cands[pick[k]];
  return cands.front();
}

class Bab {
 public:
  Bab(const AttackModel& m, const Property& p, int64_t ci, const ReluBabOptions& o)
      : model_(m), p_(p), ci_(ci), pc_(p.cases[static_cast<size_t>(ci)]), o_(o) {
    rows_ = constraint_rows(pc_);
    t0_ = Clock::now();
  }

  Expected<ReluBabResult> run() {
    const Graph& g = model_.single();
    NNCERT_ASSIGN_OR_RETURN(order_, g.topological_order());
    if (pc_.unsafe.empty()) {
      res_.outcome = ReluBabResult::Outcome::kVerified;
      return res_;
    }
    auto root = evaluate({}, nullptr);
    if (!root) {
      if (root.status().code() == ErrorCode::kTimeout)
        return finish(ReluBabResult::Outcome::kTimeout, "time limit");
      return root.status();
    }
    bool stop = *root;
    int64_t round = 0;
    while (!stop && !queue_.empty()) {
      if (should_stop()) {
        return finish(ReluBabResult::Outcome::kTimeout, "time limit");
      }
      if (o_.max_domains > 0 && res_.domains >= o_.max_domains)
        return finish(ReluBabResult::Outcome::kUnknown, "domain limit reached");
      std::vector<Domain> batch;
      for (int k = 0; k < std::max(1, o_.batch) && !queue_.empty(); ++k) {
        batch.push_back(queue_.top());
        queue_.pop();
      }
      for (size_t k = 0; k < batch.size() && !stop; ++k) {
        const Domain& d = batch[k];
        const auto cands = unstable_neurons(g, order_, d.bound->intermediate);
        if (cands.empty())
          continue;  // cannot happen: such domains are leaves, never queued
        const Neuron nu = choose_branch(cands, *d.bound, d.margin.row);
        for (bool active : {true, false}) {
          std::vector<ReluSplit> s = d.splits;
          s.push_back({nu.v, nu.j, active});
          auto r = evaluate(std::move(s), &d.bound->intermediate);
          if (!r) {
            if (r.status().code() == ErrorCode::kTimeout)
              return finish(ReluBabResult::Outcome::kTimeout, "time limit");
            return r.status();
          }
          if (*r) {
            stop = true;
            break;
          }
        }
      }
      if (stop)
        break;
      res_.max_queue_size = std::max(res_.max_queue_size, static_cast<int64_t>(queue_.size()));
      if (static_cast<int64_t>(queue_.size()) > o_.max_queue)
        return finish(ReluBabResult::Outcome::kUnknown,
                      "more than " + std::to_string(o_.max_queue) + " open domains");
      ++round;
      if (o_.reattack_every > 0 && round % o_.reattack_every == 0) {
        NNCERT_ASSIGN_OR_RETURN(bool found, reattack(round));
        if (found)
          break;
      }
    }
    if (res_.counterexample)
      return finish(ReluBabResult::Outcome::kFalsified, "");
    if (!queue_.empty())
      return finish(ReluBabResult::Outcome::kTimeout, "time limit");
    if (undecided_leaves_ > 0)
      return finish(ReluBabResult::Outcome::kUnknown,
                    std::to_string(undecided_leaves_) +
                        " domain(s) without unstable neurons not decided (no exact leaf solver)");
    return finish(ReluBabResult::Outcome::kVerified, "");
  }

 private:
  const AttackModel& model_;
  const Property& p_;
  int64_t ci_;
  const PropertyCase& pc_;
  ReluBabOptions o_;
  Rows rows_;
  Clock::time_point t0_;
  std::vector<NodeId> order_;
  std::priority_queue<Domain, std::vector<Domain>, WorstFirst> queue_;
  ReluBabResult res_;
  int64_t undecided_leaves_ = 0;
  double leaf_worst_ = kInf;

  bool should_stop() const {
    if (o_.should_stop && o_.should_stop())
      return true;
    return o_.timeout_s > 0 &&
           std::chrono::duration<double>(Clock::now() - t0_).count() >= o_.timeout_s;
  }

  Expected<ReluBabResult> finish(ReluBabResult::Outcome out, std::string reason) {
    res_.outcome = out;
    res_.reason = std::move(reason);
    res_.worst_margin = std::min(leaf_worst_, queue_.empty() ? kInf : queue_.top().margin.worst);
    return res_;
  }

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
    NNCERT_ASSIGN_OR_RETURN(auto ce, attack(model_, p_, ao, {ci_}));
    if (!ce)
      return false;
    res_.counterexample = std::move(*ce);
    return true;
  }

  // Bounds one domain and files it: pruned, a counterexample (returns true: stop), a leaf, or
  // queued for splitting.
  Expected<bool> evaluate(std::vector<ReluSplit> splits, const std::vector<Interval>* parent) {
    return evaluate(std::move(splits), parent, false);
  }
  Expected<bool> evaluate(std::vector<ReluSplit> splits,
                          const std::vector<Interval>* parent,
                          bool leaf) {
    const Graph& g = model_.single();
    BoundOptions bo;
    bo.dtype = DType::kF64;
    bo.threads = o_.threads;
    bo.safe_rounding = o_.safe_rounding;
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
    co.reuse_bounds = parent;
    co.relu_coefficients = true;
    NNCERT_ASSIGN_OR_RETURN(CrownResult cr,
                            crown_bounds(g, std::vector<Perturbation>{pc_.input}, rows_.c, bo, co));
    ++res_.domains;
    if (cr.infeasible)
      return false;
    const Margin m = domain_margin(pc_.unsafe.size(), rows_, cr.bounds.lo.to_double_vector());
    if (m.refuted)
      return false;
    // The relaxed minimiser of the worst row may already violate the property.
    if (m.row >= 0 && static_cast<size_t>(m.row) < cr.minimizers.size()) {
      NNCERT_ASSIGN_OR_RETURN(bool found, try_point(cr.minimizers[static_cast<size_t>(m.row)]));
      if (found)
        return true;
    }
    auto bound = std::make_shared<const CrownResult>(std::move(cr));
    const auto cands = unstable_neurons(g, order_, bound->intermediate);
    const auto n_unstable = static_cast<int64_t>(cands.size());
    if (cands.empty() && !leaf && co.beta && o_.leaf_iterations > 0)
      return evaluate(std::move(splits), &bound->intermediate, true);
    if (cands.empty() || (o_.leaf_solver && n_unstable <= o_.leaf_max_unstable)) {
      ++res_.leaves;
      if (o_.leaf_solver) {
        LeafProblem lp;
        lp.model = &model_;
        lp.property = &p_;
        lp.case_index = ci_;
        lp.splits = &splits;
        lp.bounds = &bound->intermediate;
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
    queue_.push(Domain{std::move(splits), std::move(bound), m});
    return false;
  }
};

}  // namespace

Expected<ReluBabResult> relu_bab(const AttackModel& model,
                                 const Property& property,
                                 int64_t case_index,
                                 const ReluBabOptions& options) {
  if (case_index < 0 || case_index >= static_cast<int64_t>(property.cases.size()))
    return Status(ErrorCode::kInvalidArgument, "relu_bab: no region " + std::to_string(case_index));
  if (options.max_queue < 1)
    return Status(ErrorCode::kInvalidArgument, "relu_bab: max_queue must be >= 1");
  Bab bab(model, property, case_index, options);
  return bab.run();
}

}  // namespace nncert
