// MaxPool (ONNX opset 17): max over each (dilated) window, with explicit or automatic padding
// and ceil_mode; padding cells never win. The optional second output (Indices) holds int64 flat
// indices into X (row-major over N, C and the spatial dims; column-major spatial order when
// storage_order = 1). The compute is kernels::max_pool.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "ops/interval.h"
#include "ops/op_util.h"
#include "ops/spatial.h"
#include "ops/vjp_util.h"
#include "runtime/kernels/pool.h"

namespace nncert::ops {

namespace {

const WindowSpec kSpec{.op = "MaxPool"};

// True when the node asks for the second output (Indices).
bool wants_indices(const Node& node) {
  return node.outputs.size() >= 2 && node.outputs[1] != kNoValue;
}

// Rewrites flat row-major indices into X as ONNX's storage_order = 1 indices: the same
// (n, c) plane offset, spatial coordinates in column-major order.
void to_column_major(const Shape& x, Tensor& indices) {
  int64_t plane = 1;
  for (size_t i = 2; i < x.size(); ++i)
    plane *= x[i];
  int64_t* idx = indices.data<int64_t>();
  std::vector<int64_t> coord(x.size() - 2);
  for (int64_t j = 0; j < indices.numel(); ++j) {
    if (idx[j] < 0)
      continue;
    int64_t rest = idx[j] % plane;
    int64_t col = 0;
    int64_t mult = 1;
    // Row-major coordinates, peeled from the last spatial dim; in column-major order the
    // first spatial dim varies fastest.
    for (size_t i = x.size(); i-- > 2;) {
      coord[i - 2] = rest % x[i];
      rest /= x[i];
    }
    for (size_t i = 0; i < coord.size(); ++i) {
      col += coord[i] * mult;
      mult *= x[i + 2];
    }
    idx[j] = idx[j] - idx[j] % plane + col;
  }
}

// y[n,c,o] = max_{k in window(o), inside x} x[n,c,o*s - pb + k*d]; Indices = its flat index
Status max_pool_infer(const Node& node, std::span<const TypeInfo> in, std::vector<TypeInfo>& out) {
  if (in.empty())
    return attr_error("MaxPool needs input X");
  NNCERT_RETURN_IF_ERROR(expect_float(in, 0, "MaxPool input X"));
  const int64_t order = node.attrs.get_int("storage_order", 0);
  if (order != 0 && order != 1)
    return attr_error("MaxPool storage_order must be 0 or 1");
  out.assign(wants_indices(node) ? 2 : 1, TypeInfo{});
  out[0].dtype = in[0].dtype;
  if (!known(in[0])) {
    out[0].shape_known = false;
  } else {
    NNCERT_ASSIGN_OR_RETURN(PoolSetup st, resolve_pool(node, kSpec, shape_of(in[0])));
    out[0].shape = std::move(st.out);
  }
  if (out.size() == 2) {
    out[1] = out[0];
    out[1].dtype = DType::kI64;
  }
  return Status::ok();
}

Status max_pool_forward(const Node& node,
                        std::span<const Tensor> in,
                        std::span<const TypeInfo> out_types,
                        std::vector<Tensor>& out,
                        const ExecContext& ctx) {
  if (in.empty() || !in[0].is_valid())
    return attr_error("MaxPool needs input X");
  const Tensor& x = in[0];
  NNCERT_ASSIGN_OR_RETURN(PoolSetup st, resolve_pool(node, kSpec, x.shape()));
  const bool indices = wants_indices(node);
  if (out_types.size() < (indices ? 2u : 1u) || out_types[0].shape != st.out ||
      out_types[0].dtype != x.dtype() ||
      (indices && (out_types[1].shape != st.out || out_types[1].dtype != DType::kI64)))
    return shape_error("MaxPool output " + shape_to_string(st.out) +
                       " does not match the inferred output types");
  if (out.size() < (indices ? 2u : 1u))
    out.resize(indices ? 2 : 1);
  out[0] = Tensor(out_types[0].dtype, out_types[0].shape);
  if (indices)
    out[1] = Tensor(DType::kI64, out_types[1].shape);
  Tensor& y = out[0];
  int64_t* argmax = indices ? out[1].data<int64_t>() : nullptr;
  NNCERT_RETURN_IF_ERROR(NNCERT_FLOAT_DISPATCH(
      x.dtype(),
      T,
      kernels::max_pool<T>(
          st.p, x.shape(), x.data<T>(), y.shape(), y.data<T>(), argmax, ctx.threads)));
  if (indices && node.attrs.get_int("storage_order", 0) == 1)
    to_column_major(x.shape(), out[1]);
  return Status::ok();
}

// One comparison per window tap: numel(y) * prod(kernel)
double max_pool_flops(const Node& node, std::span<const Shape> in, std::span<const Shape> out) {
  if (out.empty())
    return 0.0;
  double window = 1.0;
  for (int64_t k : node.attrs.get_ints("kernel_shape"))
    window *= static_cast<double>(k);
  return static_cast<double>(std::max<int64_t>(shape_numel(out[0]), 0)) * window;
}

// dL/dx[i] = sum of dL/dy[o] over the windows o whose first maximal element is x[i]
Status max_pool_vjp(const Node& node,
                    std::span<const Tensor> in,
                    std::span<const Tensor> out,
                    std::span<const Tensor> grad_out,
                    std::vector<Tensor>& grad_in,
                    const ExecContext& /*ctx*/) {
  if (!grad_out[0].is_valid())
    return Status::ok();
  const Tensor& x = in[0];
  const DType dt = x.dtype();
  NNCERT_ASSIGN_OR_RETURN(PoolSetup st, resolve_pool(node, kSpec, x.shape()));
  const Tensor gy = grad_as(grad_out[0], dt, out[0].shape());
  Tensor gx(dt, x.shape());
  NNCERT_RETURN_IF_ERROR(NNCERT_FLOAT_DISPATCH(dt, T, {
    const T* px = x.data<T>();
    const T* pg = gy.data<T>();
    T* po = gx.data<T>();
    std::fill(po, po + gx.numel(), T(0));
    // The first maximal cell of each window (in window order), found as the forward scans it.
    std::vector<int64_t> best(static_cast<size_t>(gy.numel()), -1);
    for_each_pool_cell(st.p, x.shape(), gy.shape(), [&](int64_t yi, int64_t xi) {
      int64_t& b = best[static_cast<size_t>(yi)];
      if (b < 0 || px[xi] > px[b])
        b = xi;
    });
    for (int64_t i = 0; i < gy.numel(); ++i)
      if (best[static_cast<size_t>(i)] >= 0)
        po[best[static_cast<size_t>(i)]] += pg[i];
  }));
  grad_in[0] = gx;
  return Status::ok();
}

// The windows of a MaxPool over its input intervals [l_i, u_i], for the relaxation below. The
// cells (flat input indices, inside the input: padding never wins) of output o are
// cell[begin[o] .. begin[o + 1]) in window order.
struct PoolWindows {
  std::vector<int64_t> begin, cell;
  std::vector<int64_t> star;   // position in `cell` of i*, the first largest lower bound
  std::vector<uint8_t> exact;  // l_{i*} >= u_j for every other cell j: y = x_{i*}
  std::vector<double> top_u;   // max_j u_j
};

Expected<PoolWindows> pool_windows(const Node& node,
                                   const Interval& x,
                                   std::span<const TypeInfo> out_types) {
  const Tensor xl = x.lo.to(DType::kF64);
  const Tensor xu = x.hi.to(DType::kF64);
  NNCERT_ASSIGN_OR_RETURN(PoolSetup st, resolve_pool(node, kSpec, xl.shape()));
  const Shape& ys = out_types[0].shape;
  const auto no = static_cast<size_t>(shape_numel(ys));
  PoolWindows w;
  w.begin.assign(no + 1, 0);
  // Cells come window by window (for_each_pool_cell walks the outputs in order).
  for_each_pool_cell(st.p, xl.shape(), ys, [&](int64_t yi, int64_t xi) {
    w.cell.push_back(xi);
    ++w.begin[static_cast<size_t>(yi) + 1];
  });
  for (size_t o = 0; o < no; ++o) {
    if (w.begin[o + 1] == 0)
      return unsupported("CROWN through MaxPool: a window holds only padding");
    w.begin[o + 1] += w.begin[o];
  }
  const double* pl = xl.data<double>();
  const double* pu = xu.data<double>();
  w.star.assign(no, 0);
  w.exact.assign(no, 0);
  w.top_u.assign(no, -std::numeric_limits<double>::infinity());
  for (size_t o = 0; o < no; ++o) {
    int64_t b = w.begin[o];
    for (int64_t k = w.begin[o]; k < w.begin[o + 1]; ++k)
      if (pl[w.cell[static_cast<size_t>(k)]] > pl[w.cell[static_cast<size_t>(b)]])
        b = k;
    double other_u = -std::numeric_limits<double>::infinity();
    for (int64_t k = w.begin[o]; k < w.begin[o + 1]; ++k) {
      const double u = pu[w.cell[static_cast<size_t>(k)]];
      w.top_u[o] = std::max(w.top_u[o], u);
      if (k != b)
        other_u = std::max(other_u, u);
    }
    w.star[o] = b;
    w.exact[o] = pl[w.cell[static_cast<size_t>(b)]] >= other_u;
  }
  return w;
}

// CROWN (auto_LiRPA's BoundMaxPool), per output window W with input intervals [l_i, u_i] over
// its cells inside the input (padding cells never win, i.e. act as -inf; auto_LiRPA pads the
// upper bounds with 0 instead, the same for non-negative inputs):
//   i* = the first cell of W with the largest lower bound (window order, as torch's argmax);
//   lower:  y >= sum_{i in W} alpha_i x_i, alpha on the simplex (max >= every convex
//           combination); CROWN's choice, and alpha's start, is alpha = e_{i*}: y >= x_{i*};
//   upper:  y <= max_{j in W} u_j, or
//   both:   y = x_{i*}  if l_{i*} >= u_j for every other cell j of W (i* always wins).
// Overlapping windows (kernel != stride), dilation, padding and ceil_mode follow from the window
// enumeration: every output has its own i*, line and alpha. `alpha` is [S, cells] (one simplex
// per window, cells in PoolWindows order), or null for alpha = e_{i*}.
Status max_pool_lines(const PoolWindows& w,
                      int64_t n_in,
                      const Tensor& a,
                      bool lower,
                      const Tensor* alpha,
                      std::vector<Tensor>& a_in,
                      Tensor& bias) {
  const auto no = static_cast<int64_t>(w.star.size());
  const int64_t s = a.dim(0);
  const auto cells = static_cast<int64_t>(w.cell.size());
  if (a.numel() != s * no)
    return shape_error("MaxPool coefficient rows do not match the output");
  if (alpha && alpha->numel() != s * cells)
    return shape_error("MaxPool alpha does not match its windows");
  a_in.assign(std::max<size_t>(a_in.size(), 1), Tensor());
  a_in[0] = Tensor(DType::kF64, {s, n_in});
  const Tensor ad = a.to(DType::kF64);
  const double* pa = ad.data<double>();
  const double* pal = alpha ? alpha->data<double>() : nullptr;
  double* po = a_in[0].data<double>();
  for (int64_t r = 0; r < s; ++r) {
    double acc = 0;
    double* orow = po + r * n_in;
    for (int64_t o = 0; o < no; ++o) {
      const double c = pa[r * no + o];
      if (c == 0)
        continue;
      const auto ou = static_cast<size_t>(o);
      if ((c >= 0) != lower && !w.exact[ou]) {
        acc += c * w.top_u[ou];  // y <= max u
      } else if (pal == nullptr || w.exact[ou]) {
        orow[w.cell[static_cast<size_t>(w.star[ou])]] += c;  // y >= x_{i*}, or y = x_{i*}
      } else {
        for (int64_t k = w.begin[ou]; k < w.begin[ou + 1]; ++k)
          orow[w.cell[static_cast<size_t>(k)]] += c * pal[r * cells + k];
      }
    }
    bias.set(r, bias.get(r) + acc);
  }
  return Status::ok();
}

Status max_pool_crown(const Node& node,
                      std::span<const Interval> in_bounds,
                      std::span<const bool> /*is_const*/,
                      std::span<const TypeInfo> out_types,
                      const Tensor& a,
                      bool lower,
                      std::vector<Tensor>& a_in,
                      Tensor& bias,
                      const ExecContext& /*ctx*/) {
  NNCERT_ASSIGN_OR_RETURN(PoolWindows w, pool_windows(node, in_bounds[0], out_types));
  return max_pool_lines(w, in_bounds[0].lo.numel(), a, lower, nullptr, a_in, bias);
}

// alpha-CROWN: alpha = e_{i*} per window.
Status max_pool_alpha_init(const Node& node,
                           std::span<const Interval> in_bounds,
                           std::span<const bool> /*is_const*/,
                           std::span<const TypeInfo> out_types,
                           Tensor& alpha0) {
  NNCERT_ASSIGN_OR_RETURN(PoolWindows w, pool_windows(node, in_bounds[0], out_types));
  alpha0 = Tensor(DType::kF64, {static_cast<int64_t>(w.cell.size())});
  for (int64_t k : w.star)
    alpha0.data<double>()[k] = 1.0;
  return Status::ok();
}

Status max_pool_alpha_crown(const Node& node,
                            std::span<const Interval> in_bounds,
                            std::span<const bool> /*is_const*/,
                            std::span<const TypeInfo> out_types,
                            const Tensor& a,
                            bool lower,
                            const Tensor& alpha,
                            std::vector<Tensor>& a_in,
                            Tensor& bias,
                            const ExecContext& /*ctx*/) {
  NNCERT_ASSIGN_OR_RETURN(PoolWindows w, pool_windows(node, in_bounds[0], out_types));
  return max_pool_lines(w, in_bounds[0].lo.numel(), a, lower, &alpha, a_in, bias);
}

// The line each coefficient selects, at x: sum_i alpha_i x_i (lower), x_{i*} (exact) or max u;
// d/d alpha_i of c * (sum_i alpha_i x_i) is c * x_i.
Status max_pool_alpha_relaxed(const Node& node,
                              std::span<const Interval> in_bounds,
                              std::span<const bool> /*is_const*/,
                              std::span<const TypeInfo> out_types,
                              const Tensor& a,
                              bool lower,
                              const Tensor& alpha,
                              std::span<const Tensor> x_rows,
                              Tensor& y_rows,
                              Tensor& grad,
                              const ExecContext& /*ctx*/) {
  NNCERT_ASSIGN_OR_RETURN(PoolWindows w, pool_windows(node, in_bounds[0], out_types));
  const auto no = static_cast<int64_t>(w.star.size());
  const auto cells = static_cast<int64_t>(w.cell.size());
  const int64_t s = a.dim(0);
  const int64_t n_in = in_bounds[0].lo.numel();
  if (a.numel() != s * no || alpha.numel() != s * cells || x_rows.empty() ||
      x_rows[0].numel() != s * n_in)
    return shape_error("MaxPool relaxed rows do not match the windows");
  const Tensor ad = a.to(DType::kF64);
  const double* pa = ad.data<double>();
  const double* pal = alpha.data<double>();
  const double* px = x_rows[0].data<double>();
  y_rows = Tensor(DType::kF64, {s, no});
  grad = Tensor(DType::kF64, {s, cells});
  double* py = y_rows.data<double>();
  double* pg = grad.data<double>();
  for (int64_t r = 0; r < s; ++r) {
    const double* xr = px + r * n_in;
    for (int64_t o = 0; o < no; ++o) {
      const double c = pa[r * no + o];
      const auto ou = static_cast<size_t>(o);
      const double x_star = xr[w.cell[static_cast<size_t>(w.star[ou])]];
      if (w.exact[ou]) {
        py[r * no + o] = x_star;
        continue;
      }
      double lo = 0;
      for (int64_t k = w.begin[ou]; k < w.begin[ou + 1]; ++k)
        lo += pal[r * cells + k] * xr[w.cell[static_cast<size_t>(k)]];
      if ((c >= 0) != lower) {
        // An infinite upper line only meets a zero coefficient here: keep the values finite.
        py[r * no + o] = std::isfinite(w.top_u[ou]) ? w.top_u[ou] : lo;
        continue;
      }
      py[r * no + o] = lo;
      for (int64_t k = w.begin[ou]; k < w.begin[ou + 1]; ++k)
        pg[r * cells + k] = c * xr[w.cell[static_cast<size_t>(k)]];
    }
  }
  return Status::ok();
}

// Euclidean projection of every window's alpha onto the simplex {alpha >= 0, sum alpha = 1}:
// alpha_i <- max(alpha_i + t, 0) with the t that makes the sum 1 (sort-based, Duchi et al. 2008).
Status max_pool_alpha_project(const Node& node,
                              std::span<const Interval> in_bounds,
                              std::span<const TypeInfo> out_types,
                              Tensor& alpha) {
  NNCERT_ASSIGN_OR_RETURN(PoolWindows w, pool_windows(node, in_bounds[0], out_types));
  const auto cells = static_cast<int64_t>(w.cell.size());
  const int64_t s = alpha.numel() / std::max<int64_t>(cells, 1);
  if (alpha.numel() != s * cells)
    return shape_error("MaxPool alpha does not match its windows");
  double* pa = alpha.data<double>();
  std::vector<double> v;
  for (int64_t r = 0; r < s; ++r)
    for (size_t o = 0; o + 1 < w.begin.size(); ++o) {
      double* p = pa + r * cells + w.begin[o];
      const auto m = static_cast<size_t>(w.begin[o + 1] - w.begin[o]);
      v.assign(p, p + m);
      std::sort(v.begin(), v.end(), std::greater<>());
      double sum = 0, t = 0;
      for (size_t j = 0; j < m; ++j) {
        sum += v[j];
        const double tj = (1 - sum) / static_cast<double>(j + 1);
        if (v[j] + tj > 0)
          t = tj;
      }
      for (size_t j = 0; j < m; ++j)
        p[j] = std::max(p[j] + t, 0.0);
    }
  return Status::ok();
}

const CrownAlphaRule kMaxPoolAlpha{
    &max_pool_alpha_init, &max_pool_alpha_crown, &max_pool_alpha_relaxed, &max_pool_alpha_project};

}  // namespace

extern const OpDef kOpMaxPool{"MaxPool",
                              1,
                              1,
                              max_pool_infer,
                              max_pool_forward,
                              max_pool_flops,
                              &ibp_monotone<&max_pool_forward>,
                              &max_pool_vjp,
                              &max_pool_crown,
                              /*crown_needs_bounds=*/true,
                              /*relax=*/nullptr,
                              /*bound_forward=*/nullptr,
                              /*alpha_range=*/nullptr,
                              /*crown_needs_bounds_fn=*/nullptr,
                              &kMaxPoolAlpha};

}  // namespace nncert::ops
