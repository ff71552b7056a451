// Linear relaxations of element-wise ops of two non-constant operands (Mul, Div, Max, Min), shared
// by their op files and by MatMul: per output element, a lower and an upper plane in the two
// operands, applied backward with numpy broadcasting. Internal to lib/ops.
//
// McCormick (auto_LiRPA's MulHelper, middle = False): for x in [xl, xu], y in [yl, yu],
//   x*y >= yl*x + xl*y - xl*yl      ((x - xl)(y - yl) >= 0)
//   x*y <= yu*x + xl*y - xl*yu      ((x - xl)(y - yu) <= 0)
// auto_LiRPA takes these two planes for every element; so does nncert.
#pragma once

#include <span>
#include <vector>

#include "ops/op_def.h"

namespace nncert::ops {

// z >= lx*x + ly*y + lb and z <= ux*x + uy*y + ub.
struct Plane2 {
  double lx = 0, ly = 0, lb = 0;
  double ux = 0, uy = 0, ub = 0;
};

// The planes of z = x*y (McCormick, as above). Non-finite operand bounds give the vacuous planes
// (slopes 0, bias -inf / +inf).
Plane2 mccormick(double xl, double xu, double yl, double yu);

// The planes of z = max(x, y) (auto_LiRPA's BoundMinMax with its default alpha = 1):
//   xl >= yu: z = x;  yl >= xu: z = y;  otherwise, with A the operand of larger upper bound
//   (x on ties) and B the other:  z >= B, and
//     uA > uB:  z <= k*(A - uA) + uA,  k = (uA - uB) / (uA - lA)   (through (lA, uB), (uA, uA));
//     uA = uB = u:  z <= dA*(A - lA) + dB*(B - u) + u,  dA = (u - m)/(u - lA), dB = (u - m)/(u -
//     lB),
//                   m = max(lA, lB)   (exact at the box's vertices (lA, lB), (u, lB), (lA, u)).
// min(x, y) = -max(-x, -y). Non-finite bounds give the vacuous planes.
Plane2 max_planes(double xl, double xu, double yl, double yu);
Plane2 min_planes(double xl, double xu, double yl, double yu);

// Linear bounds of r = 1/y on [yl, yu] not containing 0: ql*y + bl <= 1/y <= qu*y + bu.
// y > 0 (convex): above by the chord, below by the tangent at the midpoint (auto_LiRPA's
// BoundReciprocal); y < 0 (concave): the mirror image. Returns false when 0 is in [yl, yu].
struct Line2 {
  double ql = 0, bl = 0, qu = 0, bu = 0;
};
bool reciprocal_lines(double yl, double yu, Line2& out);

// Per-element planes of z = f(x, y) over the broadcast output (float64 tensors shaped like the
// output), applied backward: a row coefficient c >= 0 takes the lower plane for a lower bound
// (the upper for an upper bound), c < 0 the other one; an input's coefficients are summed over the
// output elements that read it (broadcasting). A constant input's terms go into the bias.
// Elements whose coefficient is 0 contribute nothing (so an infinite plane bias stays harmless).
struct BivariateRelaxation {
  Shape out;
  std::vector<Plane2> planes;  // one per output element
};

// Fills `r.out` and one plane per output element from f(xl, xu, yl, yu) of the broadcast operand
// intervals (inputs 0 and 1 of in_bounds).
template <class F>
void make_bivariate(std::span<const Interval> in, const Shape& out, F f, BivariateRelaxation& r);

Status apply_bivariate(const BivariateRelaxation& r,
                       std::span<const Interval> in_bounds,
                       std::span<const bool> is_const,
                       const Tensor& a,
                       bool lower,
                       std::vector<Tensor>& a_in,
                       Tensor& bias);

// The CROWN rule of Max / Min (`planes` = max_planes / min_planes): one input is the identity; two
// inputs (either may be constant) take the planes per element; more inputs are refused.
Status crown_pick(Plane2 (*planes)(double, double, double, double),
                  const Node& node,
                  std::span<const Interval> in_bounds,
                  std::span<const bool> is_const,
                  std::span<const TypeInfo> out_types,
                  const Tensor& a,
                  bool lower,
                  std::vector<Tensor>& a_in,
                  Tensor& bias);
// True when the node has two or more inputs (Max / Min read their intervals then).
bool several_inputs(const Node& node, std::span<const bool> is_const);

// Flat index into a tensor of shape `in` for every element of the broadcast shape `out`.
std::vector<int64_t> broadcast_index(const Shape& in, const Shape& out);

// True when at least two inputs are present and not constant (the multilinear ops' test for
// needing their inputs' intervals).
bool two_variable_inputs(const Node& node, std::span<const bool> is_const);
// True when input 1 is present and not constant (Div by a variable divisor).
bool second_input_variable(const Node& node, std::span<const bool> is_const);

template <class F>
void make_bivariate(std::span<const Interval> in, const Shape& out, F f, BivariateRelaxation& r) {
  r.out = out;
  const std::vector<int64_t> ix = broadcast_index(in[0].lo.shape(), out);
  const std::vector<int64_t> iy = broadcast_index(in[1].lo.shape(), out);
  const Tensor xl = in[0].lo.to(DType::kF64), xu = in[0].hi.to(DType::kF64);
  const Tensor yl = in[1].lo.to(DType::kF64), yu = in[1].hi.to(DType::kF64);
  const double *pxl = xl.data<double>(), *pxu = xu.data<double>();
  const double *pyl = yl.data<double>(), *pyu = yu.data<double>();
  r.planes.resize(ix.size());
  for (size_t j = 0; j < ix.size(); ++j) {
    const int64_t a = ix[j], b = iy[j];
    r.planes[j] = f(pxl[a], pxu[a], pyl[b], pyu[b]);
  }
}

}  // namespace nncert::ops
