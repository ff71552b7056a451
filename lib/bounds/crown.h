// CROWN: backward linear bound propagation (Zhang et al., NeurIPS 2018; auto_LiRPA's "CROWN").
// For a target value t and a specification matrix C, linear coefficients are propagated from t
// back to the graph input through every node's `crown` rule (exact for affine ops, a pair of
// linear bounds for activations chosen from the activation input's interval), then concretised
// over the input box: lower = A+ x_lo + A- x_hi + bias. Every activation input gets its own
// intermediate bounds first, by a CROWN pass from that value (all neurons: auto_LiRPA's
// sparse_intermediate_bounds = False). Computed in float64.
#pragma once

#include <functional>
#include <vector>

#include "bounds/ibp.h"
#include "bounds/perturbation.h"

namespace nncert {

// A branching decision of ReLU-split branch and bound: element `index` (flat) of `relu_input`,
// the input of a Relu/LeakyRelu, restricted to >= 0 (active) or <= 0 (inactive).
struct ReluSplit {
  ValueId relu_input = kNoValue;
  int64_t index = 0;
  bool active = true;
};

// The optimised parameters of an alpha-/beta-CROWN lower-bound pass of the final rows, to
// warm-start a related problem (a child domain of ReLU branch and bound starts from its parent's).
// Per NodeId of an activation: its alphas ([S, n] for the lower / upper line; invalid where none
// was optimised); beta: [S, splits.size()], one column per split of `splits`.
struct AlphaState {
  std::vector<Interval> alpha;
  Tensor beta;
  std::vector<ReluSplit> splits;
};

// What many CROWN calls over the same graph and input sets can share (the domains of ReLU branch
// and bound): the float constants in float64 and, in rounding-safe mode, the magnitudes of every
// value (an IBP pass over the sets' boxes) and of every node's output. Built by crown_shared;
// read-only afterwards, so threads may share it.
struct CrownShared {
  std::vector<Interval> constants;      // per ValueId: [c, c] for float constants, else invalid
  bool safe_rounding = false;           // magnitudes were computed
  std::vector<Interval> magnitudes;     // per ValueId
  std::vector<Tensor> node_magnitudes;  // per NodeId (invalid: computed by each call)
};

struct CrownResult {
  Interval bounds;                     // [S] bounds of C * target
  std::vector<Interval> intermediate;  // per ValueId: bounds used for activation inputs
  // With CrownOptions::lower_linear: [S, n] coefficients A of plain CROWN's lower bound of each
  // row over the first graph input (flattened), lower(C y) = min over the set of A x + const;
  // invalid when the output does not depend on that input. Branching heuristics read it.
  Tensor lower_a;
  // CrownOptions::splits contradict the bounds (a split neuron is provably on its other side):
  // the domain is empty, every lower bound is +inf and every upper bound -inf (vacuously sound).
  bool infeasible = false;
  // With CrownOptions::relu_coefficients, from one plain-CROWN lower-bound pass of the final
  // rows: per ValueId of a ReLU-like node's input, the [S, n] coefficients of that node's output
  // (branching scores), and per row the point of the first input attaining it ([S][n_in]).
  std::vector<Tensor> relu_coefs;
  std::vector<std::vector<double>> minimizers;
  // With CrownOptions::keep_alpha under alpha: the parameters of the best lower-bound step.
  AlphaState alpha_state;
};

// alpha-CROWN: the optimisable lines of element-wise activations (RelaxFn alpha) as variables,
// optimised by Adam per bound and per specification row, projected to [0, 1], keeping the best
// bound per element (so never looser than CROWN).
struct AlphaOptions {
  int iterations = 20;
  double lr = 0.1;
  double lr_decay = 0.98;             // learning rate multiplied by this after every step
  int early_stop_patience = 10;       // stop after this many steps without improving the objective
  bool optimize_intermediate = true;  // also optimise the intermediate bounds, layer by layer
};

struct CrownOptions {
  // auto_LiRPA's default: a ReLU input's neurons that an interval step proves stable keep that
  // interval, only unstable ones get a CROWN pass (all of them when > 90% are unstable).
  // false: every intermediate neuron by CROWN (auto_LiRPA sparse_intermediate_bounds=False).
  bool sparse_intermediate = true;
  bool intersect_ibp = false;  // intersect every CROWN bound with the IBP one (never looser)
  bool alpha = false;          // alpha-CROWN
  AlphaOptions alpha_options;
  // Only the lower bounds of C * output are wanted (verification: margins must be positive);
  // the upper bounds come back as +inf and cost nothing. Intermediate bounds keep both sides.
  bool lower_only = false;
  // Also return the lower bound's linear coefficients over the first input (CrownResult::
  // lower_a); under alpha the coefficients of the plain CROWN pass.
  bool lower_linear = false;
  // Polled before every backward pass and alpha-CROWN step; when it returns true the computation
  // stops with kTimeout (time limits, Ctrl-C).
  std::function<bool()> should_stop;

  // Split domains (ReLU branch and bound). A split neuron's input interval is clamped
  // (active: lo = max(lo, 0); inactive: hi = min(hi, 0)), so its relaxation becomes the exact
  // line y = x (y = 0), and every later bound is computed under the clamps: sound for inputs of
  // the region that satisfy every split.
  std::vector<ReluSplit> splits;
  // beta-CROWN (with alpha): each split enters the final lower-bound pass as a Lagrange term,
  // -beta x_j for x_j >= 0 and +beta x_j for x_j <= 0 (beta >= 0 per split and row), optimised
  // jointly with alpha (Wang et al., NeurIPS 2021).
  bool beta = false;
  // Sound bounds of a domain containing this one (the parent's CrownResult::intermediate): values
  // before the earliest split are taken as they are, later ones are intersected with them.
  const std::vector<Interval>* reuse_bounds = nullptr;
  bool relu_coefficients = false;  // fill CrownResult::relu_coefs and minimizers
  // With reuse_bounds: take every intermediate bound from there (clamped by the splits) and
  // compute none (beta-CROWN's fixed intermediate bounds: one final pass per domain; the splits
  // reach later layers only through beta). Sound because reuse_bounds hold on a superset.
  bool fixed_intermediate = false;
  // alpha-CROWN of the final lower bound starts from these parameters where their shapes fit
  // (beta matched by split; new splits start at 0) instead of CROWN's lines: a warm start. The
  // bound is never looser than CROWN's either way, except with AlphaOptions::iterations == 0:
  // then it is one pass at exactly these parameters (to compare candidate splits cheaply).
  const AlphaState* alpha_init = nullptr;
  bool keep_alpha = false;  // fill CrownResult::alpha_state
  // alpha-CROWN of the final lower bounds stops early once this returns true for the best lower
  // bounds so far ([S] values), e.g. when they already prove what is wanted.
  std::function<bool(const double* lower, int64_t rows)> stop_lower;
  // Precomputed by crown_shared for the same graph, input sets and safe_rounding (not checked
  // beyond sizes): saves the per-call conversions and IBP pass.
  const CrownShared* shared = nullptr;
};

// Bounds of C * (first graph output) over the input boxes; with c empty, C = identity (every
// output). Refuses (kUnsupported, naming every node) graphs with nodes that have no relaxation.
Expected<CrownResult> crown_bounds(const Graph& g,
                                   const std::vector<Interval>& inputs,
                                   const std::vector<std::vector<double>>& c = {},
                                   const BoundOptions& options = {},
                                   const CrownOptions& crown = {});

// The same over general perturbation sets (one per graph input: boxes, Lp balls, linear
// constraints; bounds/perturbation.h). Intermediate IBP steps use each set's enclosing box; the
// final concretisation uses the set itself (dual norms, Lagrangian duality for constraints).
Expected<CrownResult> crown_bounds(const Graph& g,
                                   const std::vector<Perturbation>& inputs,
                                   const std::vector<std::vector<double>>& c = {},
                                   const BoundOptions& options = {},
                                   const CrownOptions& crown = {});

// The shared part of CROWN calls over `inputs` (see CrownShared).
Expected<CrownShared> crown_shared(const Graph& g,
                                   const std::vector<Perturbation>& inputs,
                                   const BoundOptions& options = {});

}  // namespace nncert
