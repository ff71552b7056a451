// Shared forward-mode (linear bound) rules for op files (OpDef::bound_forward, see op_def.h).
//
// An op affine in its non-constant inputs, y = sum_i M_i x_i + c, maps linear bounds
// L_i x + l_i <= x_i <= U_i x + u_i (in the graph input x) to
//   lower: sum_i (M_i+ (L_i x + l_i) + M_i- (U_i x + u_i)) + c
//   upper: sum_i (M_i+ (U_i x + u_i) + M_i- (L_i x + l_i)) + c
// with M+ = max(M, 0), M- = min(M, 0) entry by entry. The op's `forward` computes M_i d as
// f(.., d, ..) - f(.., 0, ..); what it cannot tell is the sign split, which each op gives by a
// SplitFn: two lists of operands under which the same `forward` computes M_i+ d and M_i- d
// (e.g. a Gemm with the weight's positive / negative entries). Every op here has Jacobian entries
// that are each one entry of a constant operand times a positive factor, so splitting that
// operand by sign splits M. Each coefficient row (direction) goes through `forward` on its own,
// in batch-1 shapes: cheap for the few inputs forward mode is meant for.
#pragma once

#include <span>
#include <vector>

#include "ops/op_def.h"

namespace nncert::ops {

// Operand lists for `forward` whose linear part in input i is M_i+ (pos) and M_i- (neg); slot i
// is overwritten by the direction. has_pos / has_neg false: that part is zero.
struct SignSplit {
  std::vector<Tensor> pos, neg;
  bool has_pos = false;
  bool has_neg = false;
};
// `in`: the operands with every non-constant input at zero (float64, its shape) and constants at
// their values (absent optional inputs invalid); `is_const` marks the constant (or absent) ones;
// `i` is a non-constant input. Returns kUnsupported when the op is not affine in input i with the
// others as given (e.g. a product of two non-constant operands).
using SplitFn = Status (*)(const Node& node,
                           std::span<const Tensor> in,
                           std::span<const bool> is_const,
                           size_t i,
                           SignSplit& out);

Status bound_forward_impl(ForwardFn fwd,
                          SplitFn split,
                          const Node& node,
                          std::span<const LinearBounds> in,
                          std::span<const TypeInfo> out_types,
                          std::vector<LinearBounds>& out,
                          const ExecContext& ctx);

template <ForwardFn Fwd, SplitFn Split>
Status bound_forward_affine(const Node& node,
                            std::span<const LinearBounds> in,
                            std::span<const TypeInfo> out_types,
                            std::vector<LinearBounds>& out,
                            const ExecContext& ctx) {
  return bound_forward_impl(Fwd, Split, node, in, out_types, out, ctx);
}

// Non-decreasing affine in every non-constant input (M >= 0): shape ops, Concat, Pad, pooling by
// averaging, ReduceSum / ReduceMean. Constants keep their values (indices, axes, pad values).
Status split_monotone(const Node& node,
                      std::span<const Tensor> in,
                      std::span<const bool> is_const,
                      size_t i,
                      SignSplit& out);

// Linear in all inputs jointly with M = +I (broadcast) for input i when `positive`, -I otherwise
// (Add, Sub, Neg): constants zeroed, since they only add to the constant part.
Status split_identity(std::span<const Tensor> in,
                      std::span<const bool> is_const,
                      size_t i,
                      bool positive,
                      SignSplit& out);

// Affine in input i, the only non-constant input, with Jacobian entries that are single entries
// of the constant operand `w` times a factor of sign `sign` (+1 / -1): pos / neg replace `w` by
// its positive / negative entries (swapped when sign < 0) and zero the operands in `zero` (those
// that only add to the constant part, e.g. a bias). Gemm, MatMul, Conv, ConvTranspose, Mul,
// BatchNormalization.
Status split_weight(const Node& node,
                    std::span<const Tensor> in,
                    std::span<const bool> is_const,
                    size_t i,
                    size_t w,
                    double sign,
                    std::span<const size_t> zero,
                    SignSplit& out);

}  // namespace nncert::ops
