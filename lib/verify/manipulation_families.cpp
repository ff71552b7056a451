#include "verify/manipulation_families.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <set>

#include "runtime/autodiff.h"
#include "runtime/executor.h"

namespace nncert {

namespace {

Status check_sample(const std::vector<double>& x0,
                    const ImageLayout& layout,
                    double lo,
                    double hi,
                    const char* family) {
  const std::string where = std::string(family) + ": ";
  if (layout.channels < 1 || layout.height < 1 || layout.width < 1)
    return {ErrorCode::kInvalidArgument, where + "bad image layout"};
  if (static_cast<int64_t>(x0.size()) != layout.size())
    return {ErrorCode::kShapeMismatch,
            where + "the sample has " + std::to_string(x0.size()) + " values, the image " +
                std::to_string(layout.channels) + "x" + std::to_string(layout.height) + "x" +
                std::to_string(layout.width)};
  if (!(std::isfinite(lo) && std::isfinite(hi) && lo <= hi))
    return {ErrorCode::kInvalidArgument, where + "bad pixel range"};
  return Status::ok();
}

Manipulation make(const char* family,
                  const std::vector<double>& x0,
                  const ImageLayout& layout,
                  double lo,
                  double hi,
                  int64_t d) {
  Manipulation m;
  m.family = family;
  m.x0 = x0;
  m.base = x0;
  m.w.assign(static_cast<size_t>(d) * x0.size(), 0.0);
  m.lo = lo;
  m.hi = hi;
  m.layout = layout;
  return m;
}

// Sum over the pixels of gradient_i * (t - x0_i): the first-order change of f_r - f_label when
// those pixels are set to t.
double line_effect(const std::vector<int64_t>& pixels,
                   const ImageLayout& layout,
                   const std::vector<double>& x0,
                   const std::vector<double>& g,
                   double t) {
  const int64_t plane = layout.height * layout.width;
  double s = 0;
  for (int64_t c = 0; c < layout.channels; ++c)
    for (int64_t p : pixels) {
      const auto i = static_cast<size_t>(c * plane + p);
      s += g[i] * (t - x0[i]);
    }
  return s;
}

}  // namespace

Expected<std::vector<double>> margin_gradient(const Graph& model,
                                              const std::vector<double>& x0,
                                              int64_t label) {
  if (model.inputs().size() != 1 || model.outputs().empty())
    return Status(ErrorCode::kInvalidArgument, "margin gradient: one input and an output needed");
  const Shape& s = model.value(model.inputs()[0]).shape;
  if (shape_numel(s) != static_cast<int64_t>(x0.size()))
    return Status(ErrorCode::kShapeMismatch, "margin gradient: the sample does not fit the input");
  RunOptions ro;
  ro.dtype = DType::kF64;
  const Tensor x = Tensor::from_vector<double>(s, x0);
  NNCERT_ASSIGN_OR_RETURN(Executor ex, Executor::create(model, ro));
  NNCERT_ASSIGN_OR_RETURN(std::vector<Tensor> out, ex.run({x}));
  const std::vector<double> y = out[0].to_double_vector();
  if (label < 0 || label >= static_cast<int64_t>(y.size()) || y.size() < 2)
    return Status(ErrorCode::kInvalidArgument, "margin gradient: label outside the classes");
  int64_t r = label == 0 ? 1 : 0;
  for (int64_t j = 0; j < static_cast<int64_t>(y.size()); ++j)
    if (j != label && y[static_cast<size_t>(j)] > y[static_cast<size_t>(r)])
      r = j;
  Tensor seed(DType::kF64, out[0].shape());
  seed.set(r, 1);
  seed.set(label, -1);
  std::vector<Tensor> seeds(model.outputs().size());
  seeds[0] = seed;
  GradientOptions go;
  go.parameter_grads = false;
  NNCERT_ASSIGN_OR_RETURN(GradientResult gr, gradient(model, {x}, seeds, ro, go));
  const Tensor& gx = gr.value_grads[static_cast<size_t>(model.inputs()[0])];
  if (!gx.is_valid())
    return std::vector<double>(x0.size(), 0.0);
  return gx.to_double_vector();
}

Expected<Manipulation> brightness_contrast(const std::vector<double>& x0,
                                           const ImageLayout& layout,
                                           double lo,
                                           double hi,
                                           const BrightnessContrastOptions& o) {
  NNCERT_RETURN_IF_ERROR(check_sample(x0, layout, lo, hi, "brightness-contrast"));
  if (o.grid < 1)
    return Status(ErrorCode::kInvalidArgument, "brightness-contrast: grid must be >= 1");
  // x = clip(alpha * x0 + beta): base 0, W = [x0; 1].
  Manipulation m = make("brightness-contrast", x0, layout, lo, hi, 2);
  const size_t n = x0.size();
  std::fill(m.base.begin(), m.base.end(), 0.0);
  for (size_t i = 0; i < n; ++i) {
    m.w[i] = x0[i];
    m.w[n + i] = 1;
  }
  m.parameters = {"contrast", "brightness"};
  m.theta_lo = {o.contrast_lo, o.brightness_lo};
  m.theta_hi = {o.contrast_hi, o.brightness_hi};
  m.default_grid = {o.grid, o.grid};
  NNCERT_RETURN_IF_ERROR(m.validate());
  return m;
}

Expected<Manipulation> pixel_steps(const std::vector<double>& x0,
                                   const ImageLayout& layout,
                                   double lo,
                                   double hi,
                                   const PixelStepsOptions& o,
                                   const std::vector<double>& gradient) {
  NNCERT_RETURN_IF_ERROR(check_sample(x0, layout, lo, hi, "pixel-steps"));
  const auto n = static_cast<int64_t>(x0.size());
  if (o.steps < 0 || !(std::isfinite(o.step_size) && o.step_size > 0) || o.grid < 0)
    return Status(ErrorCode::kInvalidArgument,
                  "pixel-steps: steps must be >= 0, the step size > 0, the grid >= 0");
  std::vector<int64_t> pixels = o.pixels;
  if (pixels.empty()) {
    if (o.count < 1 || o.count > n)
      return Status(ErrorCode::kInvalidArgument,
                    "pixel-steps: the pixel count must lie in [1, " + std::to_string(n) + "]");
    if (static_cast<int64_t>(gradient.size()) != n)
      return Status(ErrorCode::kShapeMismatch, "pixel-steps: the gradient does not fit the image");
    // First-order drop of the label's lead when feature i moves by the full range either way.
    const double reach = static_cast<double>(o.steps) * o.step_size;
    std::vector<double> score(static_cast<size_t>(n));
    for (size_t i = 0; i < score.size(); ++i) {
      const double up = std::clamp(x0[i] + reach, lo, hi) - x0[i];
      const double down = std::clamp(x0[i] - reach, lo, hi) - x0[i];
      score[i] = std::max(gradient[i] * up, gradient[i] * down);
    }
    std::vector<int64_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      return score[static_cast<size_t>(a)] > score[static_cast<size_t>(b)];
    });
    pixels.assign(order.begin(), order.begin() + o.count);
  }
  std::set<int64_t> seen;
  for (int64_t p : pixels) {
    if (p < 0 || p >= n)
      return Status(ErrorCode::kInvalidArgument,
                    "pixel-steps: feature " + std::to_string(p) + " is outside the image (" +
                        std::to_string(n) + " values)");
    if (!seen.insert(p).second)
      return Status(ErrorCode::kInvalidArgument,
                    "pixel-steps: feature " + std::to_string(p) + " is listed twice");
  }
  const auto d = static_cast<int64_t>(pixels.size());
  Manipulation m = make("pixel-steps", x0, layout, lo, hi, d);
  const int64_t grid = o.grid > 0 ? o.grid : std::max<int64_t>(1, 2 * o.steps);
  for (int64_t k = 0; k < d; ++k) {
    const int64_t p = pixels[static_cast<size_t>(k)];
    m.w[static_cast<size_t>(k * n + p)] = o.step_size;
    m.parameters.push_back("step[" + std::to_string(p) + "]");
    m.theta_lo.push_back(-static_cast<double>(o.steps));
    m.theta_hi.push_back(static_cast<double>(o.steps));
    m.default_grid.push_back(grid);
  }
  m.pixels = pixels;
  NNCERT_RETURN_IF_ERROR(m.validate());
  return m;
}

std::vector<int64_t> line_pixels(const ImageLayout& layout, const std::array<int64_t, 4>& line) {
  const auto [c0, r0, c1, r1] = line;
  const int64_t steps = std::max(std::abs(c1 - c0), std::abs(r1 - r0));
  std::vector<int64_t> out;
  for (int64_t k = 0; k <= steps; ++k) {
    const double f = steps == 0 ? 0.0 : static_cast<double>(k) / static_cast<double>(steps);
    const auto c = static_cast<int64_t>(
        std::lround(static_cast<double>(c0) + f * static_cast<double>(c1 - c0)));
    const auto r = static_cast<int64_t>(
        std::lround(static_cast<double>(r0) + f * static_cast<double>(r1 - r0)));
    const int64_t p = r * layout.width + c;
    if (out.empty() || out.back() != p)
      out.push_back(p);
  }
  return out;
}

Expected<Manipulation> scratch(const std::vector<double>& x0,
                               const ImageLayout& layout,
                               double lo,
                               double hi,
                               const ScratchOptions& o,
                               const std::vector<double>& gradient) {
  NNCERT_RETURN_IF_ERROR(check_sample(x0, layout, lo, hi, "scratch"));
  const double t_lo = o.intensity_lo.value_or(lo), t_hi = o.intensity_hi.value_or(hi);
  if (o.grid < 1)
    return Status(ErrorCode::kInvalidArgument, "scratch: grid must be >= 1");
  auto inside = [&](int64_t c, int64_t r) {
    return c >= 0 && c < layout.width && r >= 0 && r < layout.height;
  };
  std::array<int64_t, 4> line{};
  if (o.line) {
    line = *o.line;
    if (!inside(line[0], line[1]) || !inside(line[2], line[3]))
      return Status(ErrorCode::kInvalidArgument,
                    "scratch: the line (" + std::to_string(line[0]) + "," +
                        std::to_string(line[1]) + ")-(" + std::to_string(line[2]) + "," +
                        std::to_string(line[3]) + ") leaves the " + std::to_string(layout.width) +
                        "x" + std::to_string(layout.height) + " image (columns, rows from 0)");
  } else {
    if (gradient.size() != x0.size())
      return Status(ErrorCode::kShapeMismatch, "scratch: the gradient does not fit the image");
    const int64_t length =
        o.length > 0 ? o.length : std::max<int64_t>(1, std::min(layout.height, layout.width) / 2);
    if (length > std::max(layout.height, layout.width))
      return Status(ErrorCode::kInvalidArgument, "scratch: the line is longer than the image");
    const int64_t dirs[4][2] = {{1, 0}, {0, 1}, {1, 1}, {1, -1}};
    double best = -std::numeric_limits<double>::infinity();
    bool found = false;
    for (const auto& dir : dirs)
      for (int64_t r = 0; r < layout.height; r += 2)
        for (int64_t c = 0; c < layout.width; c += 2) {
          const std::array<int64_t, 4> cand{
              c, r, c + dir[0] * (length - 1), r + dir[1] * (length - 1)};
          if (!inside(cand[2], cand[3]))
            continue;
          const std::vector<int64_t> px = line_pixels(layout, cand);
          const double e = std::max(line_effect(px, layout, x0, gradient, t_lo),
                                    line_effect(px, layout, x0, gradient, t_hi));
          if (e > best) {
            best = e;
            line = cand;
            found = true;
          }
        }
    if (!found)
      return Status(ErrorCode::kInvalidArgument,
                    "scratch: no line of " + std::to_string(length) + " pixels fits the image");
  }
  // x = x0 off the line; on the line every channel is t: base 0 there, W = 1 there.
  Manipulation m = make("scratch", x0, layout, lo, hi, 1);
  const int64_t plane = layout.height * layout.width;
  for (int64_t c = 0; c < layout.channels; ++c)
    for (int64_t p : line_pixels(layout, line)) {
      const auto i = static_cast<size_t>(c * plane + p);
      m.base[i] = 0;
      m.w[i] = 1;
      m.pixels.push_back(c * plane + p);
    }
  m.parameters = {"intensity"};
  m.theta_lo = {t_lo};
  m.theta_hi = {t_hi};
  m.default_grid = {o.grid};
  m.line.assign(line.begin(), line.end());
  NNCERT_RETURN_IF_ERROR(m.validate());
  return m;
}

}  // namespace nncert
