// Forward-mode linear bound propagation (auto_LiRPA's "forward" / CROWN-forward): every value v
// gets a lower and an upper linear function of the graph input x (all graph inputs flattened
// and concatenated, n = their total size),
//   Lw^T x + lb <= v <= Uw^T x + ub   element-wise over the input box,
// propagated in topological order: the input is the identity, constants are exact, ops affine in
// their non-constant inputs apply their linear map to every coefficient row (OpDef::bound_forward,
// sign-split so that a negative coefficient takes the other side), and element-wise activations
// compose their relaxation lines (OpDef::relax) with their input's bounds, chosen from the input's
// interval (the concretised linear bounds, intersected with IBP). A specification C is folded at
// the end: lower(C y) = C+ (Lw^T x + lb) + C- (Uw^T x + ub). The cost is O(n) per value and
// element, so this suits models with few inputs (ACAS Xu's 5); CROWN (crown.h) scales with the
// number of neurons bounded instead. Computed in float64.
#pragma once

#include <vector>

#include "bounds/ibp.h"

namespace nncert {

struct ForwardOptions {
  // Intersect the concretised bounds of every value with its IBP interval (intermediate
  // intervals, and so the relaxations chosen from them; the returned linear bounds of C * y stay
  // purely forward-mode).
  bool intersect_ibp = true;
  // Nodes without a forward-mode rule (neither bound_forward nor relax: MaxPool, Sigmoid, Max,
  // Softmax, ...): false refuses the graph naming them (kUnsupported); true bounds their outputs
  // by constants, 0 * x + [interval], from the op's interval rule on the inputs' intervals
  // (sound, but it loses every dependence on x there).
  bool ibp_fallback = false;
};

struct ForwardResult {
  Interval bounds;  // [S] bounds of C * (first graph output) over the input box
  // The same as linear functions of x:  lw x + lb <= C y <= uw x + ub,  lw / uw [S, n], lb / ub
  // [S] (float64).
  Tensor lw, lb, uw, ub;
  // Per ValueId: the concretised bounds of every value (intersected with IBP under
  // intersect_ibp); constants exact, the inputs their box.
  std::vector<Interval> intermediate;
};

// Bounds of C * (first graph output) over the input boxes; with c empty, C = identity (every
// output). The graph must be prepared, with static shapes.
Expected<ForwardResult> forward_bounds(const Graph& g,
                                       const std::vector<Interval>& inputs,
                                       const std::vector<std::vector<double>>& c = {},
                                       const BoundOptions& options = {},
                                       const ForwardOptions& forward = {});

}  // namespace nncert
