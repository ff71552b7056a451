// The op table: one OpDef record per supported op type, holding function pointers to that op's
// rules. Each op's rules live in one file lib/ops/<op>.cpp; lib/ops/op_table.cpp lists them.
// A nullptr rule means "not supported by this op" and analyses that need it refuse the graph
// naming every such node (passes/validate.h). Later layers add bound rules (IBP, CROWN, ...) as
// further fields here, not as switch statements elsewhere.
#pragma once

#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "graph/graph.h"

namespace nncert {

// What shape inference knows about a value: dtype, shape (-1 = unknown extent), and the value
// itself when it is a constant (or when the executor runs the rule on concrete tensors).
struct TypeInfo {
  DType dtype = DType::kF32;
  Shape shape;
  bool shape_known = true;  // false: not even the rank is known
  std::optional<Tensor> value;
};

struct ExecContext {
  int threads = 0;  // 0: all hardware threads
  // VJP rules only: need_grad[i] false says the caller will not read grad_in[i] (e.g. the
  // gradient of a weight while attacking the input), so the rule may leave it invalid and skip
  // its cost. Empty (every other rule, and gradient() with all gradients wanted): every input.
  std::span<const bool> need_grad = {};
  bool wants_grad(size_t i) const { return i >= need_grad.size() || need_grad[i]; }
};

// Infers output dtypes/shapes from input infos; returns kShapeMismatch / kInvalidGraph with a
// message (without the node name; the caller adds it) when the inputs do not fit.
using InferFn = Status (*)(const Node& node,
                           std::span<const TypeInfo> in,
                           std::vector<TypeInfo>& out);
// Computes the outputs from concrete inputs. `out` arrives with one default Tensor per output;
// `out_types` holds the inferred (concrete) output shapes and dtypes. Absent optional inputs
// are default (invalid) tensors.
using ForwardFn = Status (*)(const Node& node,
                             std::span<const Tensor> in,
                             std::span<const TypeInfo> out_types,
                             std::vector<Tensor>& out,
                             const ExecContext& ctx);
// An element-wise interval [lo, hi] over a value (both tensors of the value's shape and dtype).
struct Interval {
  Tensor lo, hi;
};

// Interval bound propagation (IBP): sound output intervals from input intervals. Constant inputs
// arrive as degenerate intervals (lo == hi). `out_types` holds the concrete output shapes.
using IbpFn = Status (*)(const Node& node,
                         std::span<const Interval> in,
                         std::span<const TypeInfo> out_types,
                         std::vector<Interval>& out,
                         const ExecContext& ctx);
// Vector-Jacobian product (reverse-mode autodiff): from the forward inputs `in`, outputs `out`
// and the loss gradients `grad_out` w.r.t. each output (an invalid tensor means zero), compute
// `grad_in[i]` = d loss / d in[i] with in[i]'s shape and dtype. `grad_in` arrives with one invalid
// tensor per input; inputs that take no gradient (integers, axes, shapes) stay invalid. Inputs
// with !ctx.wants_grad(i) may stay invalid too; a rule that ignores ctx.need_grad just computes
// more than asked.
using VjpFn = Status (*)(const Node& node,
                         std::span<const Tensor> in,
                         std::span<const Tensor> out,
                         std::span<const Tensor> grad_out,
                         std::vector<Tensor>& grad_in,
                         const ExecContext& ctx);
// Backward linear bound propagation (CROWN). `a` holds S rows of linear coefficients over the
// node's (first) output, shaped [S, numel(output)]; the rule writes, for every input that is not
// constant, the coefficients over that input ([S, numel(input)]) into `a_in[i]`, and
// adds the constant part to `bias` ([S]). `lower` says which side is bounded: a lower bound uses
// the op's lower relaxation where a coefficient is >= 0 and its upper relaxation where it is < 0;
// an upper bound the reverse. `in_bounds` are the inputs' intervals (constants exact);
// `is_const[i]` marks constant inputs.
using CrownFn = Status (*)(const Node& node,
                           std::span<const Interval> in_bounds,
                           std::span<const bool> is_const,
                           std::span<const TypeInfo> out_types,
                           const Tensor& a,
                           bool lower,
                           std::vector<Tensor>& a_in,
                           Tensor& bias,
                           const ExecContext& ctx);
// Per-element linear bounds of an element-wise activation y = f(x) over x in [l, u]:
//   al * x + bl <= f(x) <= au * x + bu   (all four tensors float64, shaped like the input).
struct ElementRelaxation {
  Tensor al, bl, au, bu;
};
// Element-wise activations expose their relaxation directly, so the bound engines can apply it
// per coefficient row and optimise it (alpha-CROWN). `in` is the input interval (float64, any
// shape: the rule is element-wise). `alpha`, when not null, selects among the valid lines where
// the op has a choice: alpha->lo[j] in [0, 1] parametrises the lower line of element j and
// alpha->hi[j] the upper line (same shape as `in`); the relaxation must be sound for EVERY alpha
// in [0, 1] (or in the op's alpha_range). With `alpha` null the rule makes its default (CROWN)
// choice; then, when `alpha_default` is not null, it also writes the alpha values that reproduce
// that choice.
using RelaxFn = Status (*)(const Node& node,
                           const Interval& in,
                           const Interval* alpha,
                           ElementRelaxation& out,
                           Interval* alpha_default);
// Forward-mode linear bounds (bounds/forward.h): every value v is bounded by two linear functions
// of the graph input x (all graph inputs flattened and concatenated, n values):
//   lw^T x + lb <= v <= uw^T x + ub  element-wise over the input box,
// with lw, uw shaped [n, numel(v)] (row k: the coefficients of x_k, one per element of v) and lb,
// ub shaped like v, all float64. A constant has invalid lw / uw and lb = ub = its value (any
// dtype); an absent optional input has every tensor invalid. lw and uw (lb and ub) may share
// storage: the bounds are then one exact affine function (an engine may keep sharing them).
struct LinearBounds {
  Tensor lw, lb, uw, ub;
};
// Forward-mode rule of an op that is affine in its non-constant inputs: from the inputs' linear
// bounds, writes one LinearBounds per float output (`out` arrives with one empty entry per
// output) that holds for every input inside its bounds. An op with a sign-changing linear map
// must take each input's lower or upper bound per coefficient sign (lib/ops/bound_forward.h).
using BoundForwardFn = Status (*)(const Node& node,
                                  std::span<const LinearBounds> in,
                                  std::span<const TypeInfo> out_types,
                                  std::vector<LinearBounds>& out,
                                  const ExecContext& ctx);
// The box of an op's alpha values when it is not [0, 1] (e.g. LeakyRelu's slope in [a, 1]).
using AlphaRangeFn = std::pair<double, double> (*)(const Node& node);
// Whether a CROWN rule reads its inputs' intervals for this node, given which inputs are constant
// (ops whose relaxation is exact in one case and needs intervals in another: Mul, MatMul, Div,
// Max, Min read them only when two factors / operands are not constant).
using CrownNeedsBoundsFn = bool (*)(const Node& node, std::span<const bool> is_const);
// alpha-CROWN for an op whose relaxation is not element-wise (MaxPool; the same shape fits
// Softmax or Max): per coefficient row, `count` parameters alpha (a flat vector, [S, count] for S
// rows) select among the op's valid lines; the op defines their feasible set (`project`) and
// every feasible alpha must give a sound relaxation. The arguments are those of CrownFn.
//   init:     alpha0 ([count], float64): the parameters that reproduce the `crown` rule's choice.
//   crown:    the `crown` rule with the lines alpha selects (row r of `a` uses row r of alpha).
//   relaxed:  the relaxed op at S points, for the gradient: from x_rows (per input, [S, numel];
//             invalid for constants) writes y_rows [S, numel(out)], where element o of row r is
//             the line that a[r, o] selects (as `crown` does; a zero coefficient selects the line
//             a non-negative one would) evaluated at row r of x_rows, and grad [S, count] =
//             d (sum_o a[r, o] * y_rows[r, o]) / d alpha[r] at fixed x_rows.
//   project:  maps alpha [S, count] onto the feasible set, in place.
struct CrownAlphaRule {
  Status (*init)(const Node& node,
                 std::span<const Interval> in_bounds,
                 std::span<const bool> is_const,
                 std::span<const TypeInfo> out_types,
                 Tensor& alpha0);
  Status (*crown)(const Node& node,
                  std::span<const Interval> in_bounds,
                  std::span<const bool> is_const,
                  std::span<const TypeInfo> out_types,
                  const Tensor& a,
                  bool lower,
                  const Tensor& alpha,
                  std::vector<Tensor>& a_in,
                  Tensor& bias,
                  const ExecContext& ctx);
  Status (*relaxed)(const Node& node,
                    std::span<const Interval> in_bounds,
                    std::span<const bool> is_const,
                    std::span<const TypeInfo> out_types,
                    const Tensor& a,
                    bool lower,
                    const Tensor& alpha,
                    std::span<const Tensor> x_rows,
                    Tensor& y_rows,
                    Tensor& grad,
                    const ExecContext& ctx);
  Status (*project)(const Node& node,
                    std::span<const Interval> in_bounds,
                    std::span<const TypeInfo> out_types,
                    Tensor& alpha);
};
// Floating-point operations of one execution (multiply-add = 2), for benchmarks.
using FlopsFn = double (*)(const Node& node, std::span<const Shape> in, std::span<const Shape> out);

struct OpDef {
  std::string_view name;  // ONNX op_type
  int min_inputs = 1;
  int max_inputs = 1;  // -1: variadic
  InferFn infer = nullptr;
  ForwardFn forward = nullptr;
  FlopsFn flops = nullptr;          // nullptr: counted as one op per output element
  IbpFn ibp = nullptr;              // nullptr: no interval rule (bound engines refuse the node)
  VjpFn vjp = nullptr;              // nullptr: not differentiable here (autodiff refuses the node)
  CrownFn crown = nullptr;          // nullptr: no linear relaxation (CROWN refuses the node)
  bool crown_needs_bounds = false;  // the relaxation reads its inputs' intervals (activations)
  RelaxFn relax = nullptr;          // element-wise activations: per-element lines (see RelaxFn)
  BoundForwardFn bound_forward = nullptr;  // affine ops: forward-mode linear bounds
  AlphaRangeFn alpha_range = nullptr;      // nullptr: alpha in [0, 1]
  // When set, decides per node instead of crown_needs_bounds whether the engine must bound the
  // node's non-constant inputs before running `crown` (crown_needs_bounds then says whether the
  // op is nonlinear in general: Max / Min true, Mul / MatMul / Div false, being affine with a
  // constant operand).
  CrownNeedsBoundsFn crown_needs_bounds_fn = nullptr;
  // Non-element-wise ops with optimisable lines (alpha-CROWN); nullptr: `crown` is fixed.
  const CrownAlphaRule* crown_alpha = nullptr;
};

// nullptr if the op type is not in the table.
const OpDef* find_op(std::string_view op_type);
std::span<const OpDef* const> all_ops();

}  // namespace nncert
