// Image manipulations as affine families: a family maps a few parameters theta (a box Theta in
// R^d, d small) to images
//   x(theta) = clip(base + W^T theta, lo, hi)        (W: d rows of n coefficients)
// around a sample x0 (brightness / contrast, per-feature steps, a scratch line:
// manipulation_families.h). Before the clip the image is affine in theta, and the clip acts per
// pixel, so each pixel of x is monotone in every theta_j over a box: the per-pixel hull over a
// sub-box of Theta is exact (`hull`). `manipulation_graph` prepends the map theta -> x to the
// model (Gemm -> Clip -> Reshape), so the bound engines bound the network over theta directly:
// the pixels stay correlated, which the per-pixel hull box forgets.
//
// The grid check over Theta (DLV, Huang et al., CAV 2017, and nncert's certified version) is in
// manipulation_check.h; docs/manipulation.md has the semantics.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "graph/graph.h"

namespace nncert {

// How an image is laid out in the model's flat input: channels x height x width, row-major.
struct ImageLayout {
  int64_t channels = 1, height = 1, width = 1;
  int64_t size() const { return channels * height * width; }
};

struct Manipulation {
  std::string family;                      // "brightness-contrast", "pixel-steps", "scratch"
  std::vector<std::string> parameters;     // one name per theta dimension, e.g. "contrast"
  std::vector<double> theta_lo, theta_hi;  // Theta (d values each)
  std::vector<int64_t> default_grid;       // cells per theta dimension the family suggests
  std::vector<double> x0;                  // the unmanipulated sample (n values)
  std::vector<double> base;                // n values
  std::vector<double> w;                   // [d, n] row-major
  double lo = 0, hi = 1;                   // the clip range (valid pixel values)
  ImageLayout layout;
  std::vector<int64_t> pixels;  // the features the family moves (empty: every feature)
  std::vector<int64_t> line;    // scratch: the segment (column0, row0, column1, row1)

  int64_t dims() const { return static_cast<int64_t>(theta_lo.size()); }
  int64_t size() const { return static_cast<int64_t>(base.size()); }

  // Sizes agree (layout.size() == n, w is d x n, d >= 1), numbers are finite, theta_lo <= theta_hi,
  // lo <= hi, default_grid has d positive entries. kInvalidArgument / kShapeMismatch.
  Status validate() const;

  // x(theta) in float64 (theta has d values).
  std::vector<double> image(const std::vector<double>& theta) const;
  // True when every parameter moves exactly one pixel and no pixel is moved by two parameters:
  // then the images of a theta box are exactly the per-pixel hull (pixel-steps).
  bool hull_is_exact() const;
  // For hull_is_exact families: a theta in [theta_lo, theta_hi] with image(theta) == x for an x
  // of the hull of Theta (the unmoved pixels of x are ignored).
  std::vector<double> theta_for(const std::vector<double>& x) const;
  // The per-pixel range of x(theta) over the box [tlo, thi] (exact up to rounding, moved
  // outward by a relative 1e-12 so that float64 images of the box lie inside; then clipped).
  void hull(const std::vector<double>& tlo,
            const std::vector<double>& thi,
            std::vector<double>& xlo,
            std::vector<double>& xhi) const;
};

// The model with theta -> x(theta) prepended: a new first input "theta" of shape [1, d] (the
// model's input dtype) -> Gemm(theta, W, base) -> Clip(lo, hi) -> Reshape to the old input's
// shape (batch axis -1) -> the old input's readers. `model` must be prepared and specialised to
// one sample with exactly one input of m.size() values. The result is prepared the same way.
// Errors: kShapeMismatch (input size), kInvalidArgument (bad manipulation, not one input).
Expected<Graph> manipulation_graph(const Graph& model, const Manipulation& m);

}  // namespace nncert
