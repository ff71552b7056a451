// Shared CROWN (backward linear relaxation) rules for op files.
//  * affine ops (every shape op, Add/Sub/Neg, pooling by averaging, reductions, BatchNorm, and
//    Gemm/MatMul/Conv/ConvTranspose/Mul/Div when at most one operand is not constant): the exact
//    backward map is the op's vector-Jacobian product, applied to each of the S coefficient rows
//    (batch-1 shapes; batching the rows is the obvious speed-up); the constant part is f(0) with
//    the variables at zero.
//  * piecewise-linear activations: per-neuron linear bounds chosen from the input interval.
#pragma once

#include <span>
#include <vector>

#include "ops/op_def.h"

namespace nncert::ops {

Status crown_affine_impl(ForwardFn fwd,
                         VjpFn vjp,
                         bool multilinear,
                         const Node& node,
                         std::span<const Interval> in_bounds,
                         std::span<const bool> is_const,
                         std::span<const TypeInfo> out_types,
                         const Tensor& a,
                         bool lower,
                         std::vector<Tensor>& a_in,
                         Tensor& bias,
                         const ExecContext& ctx);

// Affine in all of its inputs jointly (Add, Sub, Concat, shape ops, ...).
template <ForwardFn Fwd, VjpFn Vjp>
Status crown_affine(const Node& node,
                    std::span<const Interval> in_bounds,
                    std::span<const bool> is_const,
                    std::span<const TypeInfo> out_types,
                    const Tensor& a,
                    bool lower,
                    std::vector<Tensor>& a_in,
                    Tensor& bias,
                    const ExecContext& ctx) {
  return crown_affine_impl(
      Fwd, Vjp, false, node, in_bounds, is_const, out_types, a, lower, a_in, bias, ctx);
}

// Multilinear (Gemm, MatMul, Conv, Mul, ...): affine when at most one input is not constant.
template <ForwardFn Fwd, VjpFn Vjp>
Status crown_multilinear(const Node& node,
                         std::span<const Interval> in_bounds,
                         std::span<const bool> is_const,
                         std::span<const TypeInfo> out_types,
                         const Tensor& a,
                         bool lower,
                         std::vector<Tensor>& a_in,
                         Tensor& bias,
                         const ExecContext& ctx) {
  return crown_affine_impl(
      Fwd, Vjp, true, node, in_bounds, is_const, out_types, a, lower, a_in, bias, ctx);
}

// Applies an element-wise relaxation backward: with c = a (per row),
//   lower: a_in = c+ * al + c- * au, bias += c+ * bl + c- * bu;  upper: the roles swap.
void apply_element_relaxation(
    const ElementRelaxation& r, const Tensor& a, bool lower, Tensor& a_in, Tensor& bias);

// The CROWN rule of an element-wise activation with a RelaxFn: its default relaxation applied
// backward to the coefficient rows.
Status crown_element_impl(RelaxFn relax,
                          const Node& node,
                          std::span<const Interval> in_bounds,
                          const Tensor& a,
                          bool lower,
                          std::vector<Tensor>& a_in,
                          Tensor& bias);
template <RelaxFn Relax>
Status crown_element(const Node& node,
                     std::span<const Interval> in_bounds,
                     std::span<const bool> /*is_const*/,
                     std::span<const TypeInfo> /*out_types*/,
                     const Tensor& a,
                     bool lower,
                     std::vector<Tensor>& a_in,
                     Tensor& bias,
                     const ExecContext& /*ctx*/) {
  return crown_element_impl(Relax, node, in_bounds, a, lower, a_in, bias);
}

// A zero relaxation shaped like `in` (float64), for RelaxFn implementations to fill.
ElementRelaxation make_relaxation(const Interval& in);
// A zero float64 interval shaped like `in` (e.g. for alpha_default).
Interval make_interval_like(const Interval& in);

}  // namespace nncert::ops
