// Interval bound propagation over the whole graph: from an input box, a sound interval for every
// value, using each op's `ibp` rule (lib/ops). Constants are exact intervals. NaN endpoints
// (e.g. 0 * inf) are widened to -inf / +inf so that a bound never claims what it cannot know.
#pragma once

#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "graph/graph.h"
#include "ops/op_def.h"

namespace nncert {

struct BoundOptions {
  DType dtype = DType::kF64;  // precision of the bound computation
  int threads = 0;
  // Move every computed bound outward by a slack that covers float64 rounding (bounds/rounding.h,
  // docs/bounds.md "Floating point"); computation in float64.
  bool safe_rounding = false;
  Status validate() const;
};

// Interval of every value (indexed by ValueId; invalid tensors for values not computed). The
// graph must be prepared; `inputs` gives one interval per graph input (lo <= hi element-wise).
Expected<std::vector<Interval>> ibp_all(const Graph& g,
                                        const std::vector<Interval>& inputs,
                                        const BoundOptions& options = {});

// One IBP step: the output intervals of node `n` from the intervals `val` of its inputs (indexed
// by ValueId; every input must be present), float results in `dtype`, NaN endpoints widened.
Expected<std::vector<Interval>> ibp_node(const Graph& g,
                                         const Node& n,
                                         const std::vector<Interval>& val,
                                         DType dtype,
                                         const ExecContext& ctx);

// Intervals of the graph outputs.
Expected<std::vector<Interval>> ibp_outputs(const Graph& g,
                                            const std::vector<Interval>& inputs,
                                            const BoundOptions& options = {});

// IBP bounds of C * y for the first output y (flattened per sample, batch 1): when y is produced by
// Gemm/MatMul with constant weights W and bias b, C is folded into the layer, (C W) h + C b, from
// the interval of h (tighter than multiplying y's interval by C); otherwise C times y's interval.
Expected<Interval> ibp_spec(const Graph& g,
                            const std::vector<Interval>& inputs,
                            const std::vector<std::vector<double>>& c,
                            const BoundOptions& options = {});

}  // namespace nncert
