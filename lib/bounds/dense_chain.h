// A fast bound engine for the networks most verification benchmarks use: a chain of dense affine
// layers, element-wise affine maps and ReLUs from the graph's one input to its one output (ACAS Xu,
// fully connected MNIST / control networks). The general engines (crown.h) run any graph through
// the op table; on such chains their per-op overhead dominates, and branch and bound bounds
// thousands of small domains. This engine extracts the chain's weights once and bounds a batch
// of input boxes with a few dense matrix products per layer:
//   * intermediate bounds by forward linear (symbolic interval) propagation, each neuron's lower
//     and upper linear function of the input kept in centre/radius form, intersected with IBP;
//   * the requested rows C y by backward CROWN over those intermediate bounds (the same ReLU
//     relaxations as crown.h: the upper line through (l, 0) and (u, u), the lower slope 1 when
//     u > -l, else 0).
// Every bound is moved outward by a slack that covers float64 rounding (the error model of
// rounding.h: gamma_k times the magnitudes involved), so results are sound for the exact real
// network whose weights are the graph's constants.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/status.h"
#include "graph/graph.h"

namespace nncert {

class DenseChain {
 public:
  struct Impl;
  explicit DenseChain(std::unique_ptr<Impl> impl);
  ~DenseChain();
  DenseChain(const DenseChain&) = delete;
  DenseChain& operator=(const DenseChain&) = delete;

  // The chain of `g` (prepared, batch 1, static shapes), or kUnsupported naming the first node
  // that does not fit (an op outside Gemm/MatMul/Add/Sub/Mul/Div/Neg/Relu/BatchNormalization and
  // the layout-preserving Flatten/Reshape/Squeeze/Unsqueeze/Identity/Dropout, a branch, a
  // non-constant weight).
  // allow_avx2 = false: the baseline x86-64 build of the numeric core even where the CPU has
  // AVX2 + FMA (tests compare the two; NNCERT_NO_AVX2=1 in the environment does the same).
  static Expected<std::shared_ptr<const DenseChain>> extract(const Graph& g,
                                                             bool allow_avx2 = true);

  int64_t num_inputs() const;
  int64_t num_outputs() const;
  int64_t num_relu() const;  // ReLU neurons

  // y = f(x) in float64 (for screening candidate points; not a proof).
  void forward(const double* x, double* y) const;

  // For each of `boxes` input boxes (lo, hi: boxes x num_inputs, row-major) and each row of c
  // (rows x num_outputs, row-major): lower[b * rows + r] <= min over the box of (c_r . y), and,
  // when `coeffs` is not null, coeffs[(b * rows + r) * num_inputs + i] = a_i of a linear lower
  // bound a . x + k <= c_r . y valid on the box whose minimum is lower[b * rows + r].
  // safe_rounding = false leaves out the rounding slack (for comparisons with other tools).
  // crown_intermediate = false skips the backward passes for unstable neurons (intermediate
  // bounds by forward propagation only): several times cheaper, looser on wide boxes.
  // relu_state (boxes x num_relu, optional): in, what is known of each ReLU neuron on the box
  // (kActive: its input is >= 0 there, kInactive: <= 0; e.g. from a box containing it), which
  // spares its backward pass; out, what these bounds prove.
  void lower_bounds(const double* lo,
                    const double* hi,
                    int64_t boxes,
                    const double* c,
                    int64_t rows,
                    bool safe_rounding,
                    double* lower,
                    double* coeffs,
                    bool crown_intermediate = true,
                    uint8_t* relu_state = nullptr) const;
  static constexpr uint8_t kUnknown = 0, kActive = 1, kInactive = 2;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace nncert
