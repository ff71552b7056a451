#include "verify/manipulation.h"

#include <algorithm>
#include <cmath>

#include "passes/passes.h"

namespace nncert {

Status Manipulation::validate() const {
  const auto d = static_cast<size_t>(dims());
  const auto n = static_cast<size_t>(size());
  const std::string where = "manipulation '" + family + "': ";
  if (d == 0)
    return {ErrorCode::kInvalidArgument, where + "no parameters"};
  if (theta_hi.size() != d || parameters.size() != d || default_grid.size() != d)
    return {ErrorCode::kShapeMismatch, where + "parameter lists of different lengths"};
  if (n == 0 || x0.size() != n || w.size() != d * n || layout.size() != size())
    return {ErrorCode::kShapeMismatch,
            where + "image sizes disagree (" + std::to_string(n) + " base values, " +
                std::to_string(x0.size()) + " sample values, layout " +
                std::to_string(layout.size()) + ")"};
  if (!(std::isfinite(lo) && std::isfinite(hi) && lo <= hi))
    return {ErrorCode::kInvalidArgument, where + "bad pixel range"};
  for (size_t j = 0; j < d; ++j) {
    if (!(std::isfinite(theta_lo[j]) && std::isfinite(theta_hi[j]) && theta_lo[j] <= theta_hi[j]))
      return {ErrorCode::kInvalidArgument,
              where + "parameter '" + parameters[j] + "' has the bad range [" +
                  std::to_string(theta_lo[j]) + ", " + std::to_string(theta_hi[j]) + "]"};
    if (default_grid[j] < 1)
      return {ErrorCode::kInvalidArgument, where + "grid sizes must be >= 1"};
  }
  for (double v : w)
    if (!std::isfinite(v))
      return {ErrorCode::kInvalidArgument, where + "non-finite coefficient"};
  for (size_t i = 0; i < n; ++i)
    if (!std::isfinite(base[i]) || !std::isfinite(x0[i]))
      return {ErrorCode::kInvalidArgument, where + "non-finite pixel value"};
  return Status::ok();
}

// x_i = clip(base_i + sum_j theta_j W[j, i], lo, hi)
std::vector<double> Manipulation::image(const std::vector<double>& theta) const {
  const auto d = static_cast<size_t>(dims());
  const auto n = static_cast<size_t>(size());
  NNCERT_CHECK(theta.size() == d, "theta has the wrong size");
  std::vector<double> x = base;
  for (size_t j = 0; j < d; ++j) {
    const double t = theta[j];
    const double* row = w.data() + j * n;
    for (size_t i = 0; i < n; ++i)
      x[i] += t * row[i];
  }
  for (double& v : x)
    v = std::clamp(v, lo, hi);
  return x;
}

bool Manipulation::hull_is_exact() const {
  const auto d = static_cast<size_t>(dims());
  const auto n = static_cast<size_t>(size());
  std::vector<char> used(n, 0);
  for (size_t j = 0; j < d; ++j) {
    int moved = 0;
    for (size_t i = 0; i < n; ++i)
      if (w[j * n + i] != 0) {
        if (used[i] || ++moved > 1)
          return false;
        used[i] = 1;
      }
    if (moved != 1)
      return false;
  }
  return true;
}

// x_p = clip(base_p + w theta_j) is monotone in theta_j, so (x_p - base_p) / w, kept inside the
// parameter's range, maps back onto x_p (a clipped x_p is reached from the end of the range).
std::vector<double> Manipulation::theta_for(const std::vector<double>& x) const {
  const auto d = static_cast<size_t>(dims());
  const auto n = static_cast<size_t>(size());
  NNCERT_CHECK(x.size() == n, "image of the wrong size");
  std::vector<double> theta(d, 0.0);
  for (size_t j = 0; j < d; ++j)
    for (size_t i = 0; i < n; ++i)
      if (const double c = w[j * n + i]; c != 0) {
        theta[j] = std::clamp((x[i] - base[i]) / c, theta_lo[j], theta_hi[j]);
        break;
      }
  return theta;
}

// Over a box the affine part of pixel i ranges over
//   [base_i + sum_j min(W[j,i] tlo_j, W[j,i] thi_j),  base_i + sum_j max(...)]
// (each term is monotone in its own theta_j), and clip is monotone: the clipped ends are exact.
void Manipulation::hull(const std::vector<double>& tlo,
                        const std::vector<double>& thi,
                        std::vector<double>& xlo,
                        std::vector<double>& xhi) const {
  const auto d = static_cast<size_t>(dims());
  const auto n = static_cast<size_t>(size());
  NNCERT_CHECK(tlo.size() == d && thi.size() == d, "theta box has the wrong size");
  xlo = base;
  xhi = base;
  for (size_t j = 0; j < d; ++j) {
    const double* row = w.data() + j * n;
    for (size_t i = 0; i < n; ++i) {
      const double a = row[i] * tlo[j], b = row[i] * thi[j];
      xlo[i] += std::min(a, b);
      xhi[i] += std::max(a, b);
    }
  }
  for (size_t i = 0; i < n; ++i) {
    xlo[i] = std::clamp(xlo[i] - 1e-12 * (1 + std::abs(xlo[i])), lo, hi);
    xhi[i] = std::clamp(xhi[i] + 1e-12 * (1 + std::abs(xhi[i])), lo, hi);
  }
}

Expected<Graph> manipulation_graph(const Graph& model, const Manipulation& m) {
  NNCERT_RETURN_IF_ERROR(m.validate());
  if (model.inputs().size() != 1)
    return Status(ErrorCode::kInvalidArgument, "manipulation: the model needs exactly one input");
  Graph g = model;
  const ValueId old = g.inputs()[0];
  const Value v = g.value(old);  // a copy: adding values may move the storage
  if (!v.shape_known || shape_numel(v.shape) != m.size())
    return Status(ErrorCode::kShapeMismatch,
                  "manipulation: the model input '" + v.name + "' " + shape_to_string(v.shape) +
                      " does not hold the " + std::to_string(m.size()) + " image values");
  const int64_t d = m.dims(), n = m.size();
  const ValueId theta = g.add_value(g.unique_name("theta"), v.dtype, {1, d});
  const ValueId w =
      g.add_constant(g.unique_name("manipulation_w"), Tensor::from_vector<double>({d, n}, m.w));
  const ValueId base =
      g.add_constant(g.unique_name("manipulation_base"), Tensor::from_vector<double>({n}, m.base));
  const ValueId lo =
      g.add_constant(g.unique_name("manipulation_lo"), Tensor::from_vector<double>({}, {m.lo}));
  const ValueId hi =
      g.add_constant(g.unique_name("manipulation_hi"), Tensor::from_vector<double>({}, {m.hi}));
  Shape target = v.shape;
  if (!target.empty())
    target[0] = -1;  // a batch of thetas gives a batch of images (AttackModel's batched copy)
  const ValueId shape =
      g.add_constant(g.unique_name("manipulation_shape"),
                     Tensor::from_vector<int64_t>({static_cast<int64_t>(target.size())}, target));
  const ValueId affine = g.add_value(g.unique_name("manipulation_affine"), v.dtype, {1, n});
  const ValueId clipped = g.add_value(g.unique_name("manipulation_clipped"), v.dtype, {1, n});
  Node gemm;
  gemm.name = g.unique_name("manipulation_gemm");
  gemm.op = "Gemm";
  gemm.inputs = {theta, w, base};
  gemm.outputs = {affine};
  g.add_node(std::move(gemm));
  Node clip;
  clip.name = g.unique_name("manipulation_clip");
  clip.op = "Clip";
  clip.inputs = {affine, lo, hi};
  clip.outputs = {clipped};
  g.add_node(std::move(clip));
  Node reshape;
  reshape.name = g.unique_name("manipulation_reshape");
  reshape.op = "Reshape";
  reshape.inputs = {clipped, shape};
  reshape.outputs = {old};
  g.add_node(std::move(reshape));
  g.inputs()[0] = theta;
  auto prepared = prepare_graph(g);
  if (!prepared)
    return prepared.status().with_context("manipulation graph");
  return g;
}

}  // namespace nncert
