// Input perturbation sets and the concretisation of linear bounds over them.
//
// Bound propagation (CROWN) ends with linear functions a_r . x + b_r of the input x; this module
// turns them into numbers: min (or max) of a_r . x over the set of allowed inputs. The sets:
//   kBox   lo <= x <= hi
//   kLinf  ||x - center||_inf <= eps, optionally intersected with a clip box [lo, hi]
//   kL2    ||x - center||_2   <= eps, optionally intersected with a clip box
//   kL1    ||x - center||_1   <= eps, optionally intersected with a clip box
// each optionally intersected with linear constraints G x <= h. All in float64, x flat (row-major
// over the input tensor), n = x's length. docs/bounds.md ("Perturbation sets") has the maths.
//
// Exactness of concretize (in real arithmetic; the float64 evaluation rounds to nearest):
//   box, Linf (clipped or not), L2 and L1 balls without clip: closed form, exact, point attained;
//   L1 ball ∩ clip box: exact (greedy fractional knapsack), point attained;
//   L2 ball ∩ clip box: exact by one-dimensional Lagrangian duality on the ball constraint
//     (breakpoint search); the value returned is the dual value (a valid lower bound for any
//     multiplier), equal to the optimum up to rounding;
//   with linear constraints: a sound lower bound by Lagrangian duality on G x <= h, with the
//     multipliers optimised by projected Adam for a fixed budget (never looser than the bound
//     over the set without the constraints).
#pragma once

#include <cstdint>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "ops/op_def.h"

namespace nncert {

// G x <= h: g has one row of n coefficients per constraint, h one bound per constraint.
struct LinearConstraints {
  std::vector<std::vector<double>> g;
  std::vector<double> h;
  bool empty() const { return g.empty(); }
};

struct Perturbation {
  enum class Kind { kBox, kLinf, kL2, kL1 };

  Kind kind = Kind::kBox;
  std::vector<double> center;  // Linf / L2 / L1: the ball's centre (n values); empty for kBox
  double eps = 0;              // Linf / L2 / L1: the radius (>= 0)
  // kBox: the box (required). Balls: an optional clip box intersected with the ball (both empty
  // for none), e.g. the valid pixel range [0, 1].
  std::vector<double> lo, hi;
  LinearConstraints constraints;  // optional, intersected with the set

  static Perturbation box(std::vector<double> lo, std::vector<double> hi);
  // A ball of `kind` (kLinf, kL2 or kL1), optionally clipped to [clip_lo, clip_hi].
  static Perturbation ball(Kind kind,
                           std::vector<double> center,
                           double eps,
                           std::vector<double> clip_lo = {},
                           std::vector<double> clip_hi = {});

  // Number of input values n.
  int64_t size() const {
    return static_cast<int64_t>(kind == Kind::kBox ? lo.size() : center.size());
  }
  bool has_clip() const { return kind != Kind::kBox && !lo.empty(); }
  // Sizes agree, every number is finite, eps >= 0, lo <= hi, and the set without the linear
  // constraints is not empty (a clip box that misses the ball is refused). Constraint rows that
  // are all zeros must have h >= 0 (0 <= h). kShapeMismatch for sizes, kInvalidArgument otherwise.
  Status validate() const;
  // validate() and size() == n.
  Status validate(int64_t n) const;
};

const char* perturbation_kind_name(Perturbation::Kind kind);  // "box", "Linf", "L2", "L1"

// The multipliers of the linear constraints: Adam ascent on the Lagrangian dual, projected to
// lambda >= 0, keeping the best value; it stops early when a feasible point closes the duality
// gap. The learning rate decays geometrically from `lr` to `lr * final_lr_fraction` over the
// budget. Constraint rows and the objective are normalised to unit 2-norm first, and every step
// is scaled by max(1, max_i lambda_i), so lr is relative to the multipliers' size.
// Measured against Z3's exact LP optimum (600 bounds, n <= 6, m <= 3 cutting constraints, box /
// Linf / L1 sets): worst relative gap ~0.1 after 100 iterations, ~0.02 after 300, ~7e-5 after
// 3000; most bounds are far closer (tests/unit/test_perturbation.cpp).
struct ConcretizeOptions {
  int dual_iterations = 300;
  double lr = 0.5;
  double final_lr_fraction = 1e-3;
  int threads = 0;  // rows are independent and run in parallel (0 = all hardware threads)
};

// min (lower = true) or max (lower = false) of a_r . x over the set, for every row r of a
// ([s, n], row-major, float64), written to out[r] (overwritten, not accumulated; add the bias
// yourself). When argopt is given ([s, n]), row r receives a point of the set attaining out[r]
// (up to rounding) where one is known: always for sets without linear constraints; with
// constraints only when the dual bound was closed (a feasible point within 1e-12 relative of the
// bound was met); otherwise the row is filled with NaN.
// Linear constraints that make the set empty: when the dual value provably exceeds the largest
// value of a_r . x over the set without the constraints (impossible for a non-empty set), out[r]
// is +inf (lower) / -inf (upper), argopt NaN — vacuously sound. An empty set is not always
// detected (the dual is a fixed budget); the finite bound returned then is still sound.
// A row whose bound comes out NaN (NaN coefficients) gets -inf (lower) / +inf (upper).
// Errors: the set fails validate(n), s < 0, or bad options (kInvalidArgument / kShapeMismatch).
Status concretize(const Perturbation& p,
                  const double* a,
                  int64_t s,
                  int64_t n,
                  bool lower,
                  double* out,
                  double* argopt = nullptr,
                  const ConcretizeOptions& options = {});

// A float64 box containing the set (for IBP), as an Interval of tensors of `shape` (whose numel
// must be the set's size). Without constraints it is the smallest such box (per coordinate, the
// exact range over ball ∩ clip). With use_constraints, each coordinate's range is also tightened
// by concretize over the constraints (2n dual problems); an empty set found that way is
// kInvalidArgument.
Expected<Interval> enclosing_box(const Perturbation& p,
                                 const Shape& shape,
                                 bool use_constraints = false,
                                 const ConcretizeOptions& options = {});

// True when the dual proves the set empty (only possible with linear constraints): concretize of
// the zero row gives +inf.
Expected<bool> proven_empty(const Perturbation& p, const ConcretizeOptions& options = {});

}  // namespace nncert
