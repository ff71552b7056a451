// Rounding-safe bounds (BoundOptions::safe_rounding). The engines compute in float64 with
// round-to-nearest; a bound computed that way can be wrong by a few units in the last place of
// the magnitudes it was computed from. In safe mode every computed bound is moved outward by a
// slack that provably covers those errors (docs/bounds.md, "Floating point"):
//   * a dot product of length k computed in floating point differs from the exact one by at most
//     gamma_k * sum |a_i b_i|, gamma_k = k u / (1 - k u), u = 2^-53 (Higham, Thm 3.5); every
//     affine op of the graph is a set of such dot products with k <= N, N = the largest number of
//     elements of any value plus 2, so one gamma = gamma_N covers every op;
//   * the magnitude sum of an op's output over the region is bounded by M = max(|lo|, |hi|) of
//     the op's interval over the symmetric box [-m, m], m = max(|lo|, |hi|) of its inputs
//     (for an affine op that is exactly |f(0)| + |J| m);
//   * element-wise activations evaluate libm functions, accurate to a few ulp: their lines and
//     intervals are widened by 2^-40 (about 4000 ulp) relative to the magnitudes involved.
#pragma once

#include <vector>

#include "bounds/ibp.h"

namespace nncert {

// Relative slack for line/libm evaluations: 2^-40.
inline constexpr double kLibmSlack = 9.094947017729282e-13;

// 2 * gamma_N for graph g and the precision of the computation (u = 2^-53 for float64, 2^-24 for
// float32); the factor 2 covers second-order terms of the slack's own rounding.
double rounding_gamma(const Graph& g, DType dtype = DType::kF64);

// Per element of node n's first output: an upper bound on the magnitude sum of its computation,
// from the intervals `val` of its inputs (indexed by ValueId; every input must be present).
Expected<Tensor> output_magnitude(const Graph& g,
                                  const Node& n,
                                  const std::vector<Interval>& val,
                                  const ExecContext& ctx);

// Moves [lo, hi] outward by gamma * m (+ kLibmSlack * |endpoint|, or 2^-16 * |endpoint| for a
// float32 interval), element-wise.
void widen_interval(Interval& v, const Tensor& m, double gamma);

// Widens the intercepts of element-wise lines over the input interval x so that rounding in their
// computation cannot make them cross the function: bl -= s, bu += s, s = kLibmSlack * (|b| +
// |a| max(|l|, |u|)).
void widen_lines(ElementRelaxation& r, const Interval& x);

}  // namespace nncert
