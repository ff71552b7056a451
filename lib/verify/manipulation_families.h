// The named manipulation families of the DLV-style check (docs/manipulation.md), each an affine
// family x(theta) = clip(base + W^T theta, lo, hi) around a sample x0 (manipulation.h):
//
//   brightness-contrast  theta = (alpha, beta):   x = clip(alpha * x0 + beta)           d = 2
//   pixel-steps          theta_k in [-steps, steps] for k chosen features p_k:
//                        x_{p_k} = clip(x0_{p_k} + step_size * theta_k), others x0      d = k
//                        (DLV's per-feature manipulations; the integer thetas are its grid)
//   scratch              theta = t: the pixels of a line segment (every channel) set to t d = 1
//
// Features / lines the user does not give are chosen by a first-order estimate of how much the
// manipulation can lower the margin between the label and the runner-up class (`margin_gradient`).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "core/status.h"
#include "graph/graph.h"
#include "verify/manipulation.h"

namespace nncert {

// The gradient w.r.t. x of f_r(x) - f_label(x) at x0 (flat, float64), where r is the highest
// scoring class other than the label: the direction in which the label's lead shrinks fastest.
// `model` is prepared and specialised to one sample.
Expected<std::vector<double>> margin_gradient(const Graph& model,
                                              const std::vector<double>& x0,
                                              int64_t label);

struct BrightnessContrastOptions {
  double contrast_lo = 0.8, contrast_hi = 1.2;       // alpha
  double brightness_lo = -0.1, brightness_hi = 0.1;  // beta (in data units)
  int64_t grid = 4;                                  // cells per parameter
};
Expected<Manipulation> brightness_contrast(const std::vector<double>& x0,
                                           const ImageLayout& layout,
                                           double lo,
                                           double hi,
                                           const BrightnessContrastOptions& o);

struct PixelStepsOptions {
  std::vector<int64_t> pixels;  // flat feature indices; empty: the `count` most effective
  int64_t count = 4;
  int64_t steps = 2;       // theta_k in [-steps, steps]
  double step_size = 0.1;  // in data units
  int64_t grid = 0;        // cells per feature; 0: 2 * steps (one per step, DLV's lattice)
};
// `gradient` (margin_gradient at x0) ranks the features when `pixels` is empty: feature i scores
// max over both directions of gradient_i * (clip(x0_i +- steps * step_size) - x0_i), ties by index.
Expected<Manipulation> pixel_steps(const std::vector<double>& x0,
                                   const ImageLayout& layout,
                                   double lo,
                                   double hi,
                                   const PixelStepsOptions& o,
                                   const std::vector<double>& gradient);

struct ScratchOptions {
  // (column0, row0, column1, row1), inclusive; empty: the best candidate line (below).
  std::optional<std::array<int64_t, 4>> line;
  int64_t length = 0;  // candidate lines' length in pixels; 0: half the smaller image side
  std::optional<double> intensity_lo, intensity_hi;  // t's range; default: [lo, hi]
  int64_t grid = 8;
};
// Candidates: horizontal, vertical and both diagonal segments of `length` pixels starting at
// every second row and column; the one whose pixels give the largest first-order drop of the
// margin over t in {t_lo, t_hi} wins (ties: the first in that order).
Expected<Manipulation> scratch(const std::vector<double>& x0,
                               const ImageLayout& layout,
                               double lo,
                               double hi,
                               const ScratchOptions& o,
                               const std::vector<double>& gradient);

// The pixels (row-major in one channel: row * width + column) of the segment, by a DDA with
// max(|dx|, |dy|) + 1 points, each rounded to the nearest pixel.
std::vector<int64_t> line_pixels(const ImageLayout& layout, const std::array<int64_t, 4>& line);

}  // namespace nncert
