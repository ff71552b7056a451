// CROWN: backward linear bound propagation (Zhang et al., NeurIPS 2018; auto_LiRPA's "CROWN").
// For a target value t and a specification matrix C, linear coefficients are propagated from t
// back to the graph input through every node's `crown` rule (exact for affine ops, a pair of
// linear bounds for activations chosen from the activation input's interval), then concretised
// over the input box: lower = A+ x_lo + A- x_hi + bias. Every activation input gets its own
// intermediate bounds first, by a CROWN pass from that value (all neurons: auto_LiRPA's
// sparse_intermediate_bounds = False). Computed in float64.
#pragma once

#include <vector>

#include "bounds/ibp.h"

namespace nncert {

struct CrownResult {
  Interval bounds;                     // [S] bounds of C * target
  std::vector<Interval> intermediate;  // per ValueId: bounds used for activation inputs
};

// Bounds of C * (first graph output) over the input boxes; with c empty, C = identity (every
// output). Refuses (kUnsupported, naming every node) graphs with nodes that have no relaxation.
Expected<CrownResult> crown_bounds(const Graph& g,
                                   const std::vector<Interval>& inputs,
                                   const std::vector<std::vector<double>>& c = {},
                                   const BoundOptions& options = {});

}  // namespace nncert
