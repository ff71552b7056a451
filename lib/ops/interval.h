// Shared interval (IBP) rules for op files. Most ops need one of three shapes of rule:
//  * monotone: the op is non-decreasing in every input, so [f(lo...), f(hi...)] is exact
//    (activations, shape ops, pooling, reductions, Add, Max, Min, ...);
//  * bilinear: the op is bilinear in inputs 0 and 1 (Gemm, MatMul, Conv, ConvTranspose), with an
//    optional constant bias as input 2; centre/radius form (Rump):
//      mid = f(a_m, b_m) + bias,  rad = f(|a_m|, b_r) + f(a_r, |b_m|) + f(a_r, b_r);
//  * custom rules written in the op file from the helpers below.
#pragma once

#include <span>
#include <vector>

#include "ops/op_def.h"

namespace nncert::ops {

Status ibp_monotone_impl(ForwardFn fwd,
                         const Node& node,
                         std::span<const Interval> in,
                         std::span<const TypeInfo> out_types,
                         std::vector<Interval>& out,
                         const ExecContext& ctx);
Status ibp_bilinear_impl(ForwardFn fwd,
                         const Node& node,
                         std::span<const Interval> in,
                         std::span<const TypeInfo> out_types,
                         std::vector<Interval>& out,
                         const ExecContext& ctx);

// [f(lo), f(hi)] for an op non-decreasing in every input.
template <ForwardFn Fwd>
Status ibp_monotone(const Node& node,
                    std::span<const Interval> in,
                    std::span<const TypeInfo> out_types,
                    std::vector<Interval>& out,
                    const ExecContext& ctx) {
  return ibp_monotone_impl(Fwd, node, in, out_types, out, ctx);
}

// Centre/radius rule for ops bilinear in inputs 0 and 1 (bias input 2 must be exact).
template <ForwardFn Fwd>
Status ibp_bilinear(const Node& node,
                    std::span<const Interval> in,
                    std::span<const TypeInfo> out_types,
                    std::vector<Interval>& out,
                    const ExecContext& ctx) {
  return ibp_bilinear_impl(Fwd, node, in, out_types, out, ctx);
}

// [min, max] of f over the four endpoint combinations of inputs 0 and 1 (Mul, Div): sound for
// ops monotone in each input separately on the box (NaN, e.g. 0 * inf, stays NaN).
Status ibp_corners_impl(ForwardFn fwd,
                        const Node& node,
                        std::span<const Interval> in,
                        std::span<const TypeInfo> out_types,
                        Interval& out,
                        const ExecContext& ctx);

// True when lo == hi element for element (a constant or a fixed input).
bool is_exact(const Interval& v);
// Centre (lo + hi) / 2 and radius (hi - lo) / 2, in the interval's dtype.
Tensor interval_mid(const Interval& v);
Tensor interval_rad(const Interval& v);
// Element-wise |t|.
Tensor abs_tensor(const Tensor& t);
// Element-wise min / max of same-shape, same-dtype tensors; NaN anywhere gives NaN (which the
// bound engines widen to an unbounded interval).
Tensor min_tensor(const std::vector<Tensor>& ts);
Tensor max_tensor(const std::vector<Tensor>& ts);
// Applies f(lo, hi) -> (lo', hi') element-wise on a same-shape interval (float dtypes).
Interval map_interval(const Interval& v,
                      void (*f)(double lo, double hi, double* out_lo, double* out_hi));

}  // namespace nncert::ops
