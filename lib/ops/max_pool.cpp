// MaxPool (ONNX opset 17): max over each (dilated) window, with explicit or automatic padding
// and ceil_mode; padding cells never win. The optional second output (Indices) holds int64 flat
// indices into X (row-major over N, C and the spatial dims; column-major spatial order when
// storage_order = 1). The compute is kernels::max_pool.
#include <algorithm>
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

// CROWN (auto_LiRPA's BoundMaxPool, default non-optimised relaxation), per output window W with
// input intervals [l_i, u_i] over its cells inside the input (padding cells never win, i.e. act as
// -inf; auto_LiRPA pads the upper bounds with 0 instead, the same for non-negative inputs):
//   i* = the first cell of W with the largest lower bound (window order, as torch's argmax);
//   lower:  y >= x_{i*};
//   upper:  y <= x_{i*}        if l_{i*} >= u_j for every other cell j of W (i* always wins),
//           y <= max_{j in W} u_j   otherwise.
// Overlapping windows (kernel != stride), dilation, padding and ceil_mode follow from the window
// enumeration: every output has its own i* and line.
Status max_pool_crown(const Node& node,
                      std::span<const Interval> in_bounds,
                      std::span<const bool> /*is_const*/,
                      std::span<const TypeInfo> out_types,
                      const Tensor& a,
                      bool lower,
                      std::vector<Tensor>& a_in,
                      Tensor& bias,
                      const ExecContext& /*ctx*/) {
  const Tensor xl = in_bounds[0].lo.to(DType::kF64);
  const Tensor xu = in_bounds[0].hi.to(DType::kF64);
  NNCERT_ASSIGN_OR_RETURN(PoolSetup st, resolve_pool(node, kSpec, xl.shape()));
  const Shape& ys = out_types[0].shape;
  const int64_t n_out = shape_numel(ys);
  const int64_t n_in = xl.numel();
  const int64_t s = a.dim(0);
  if (a.numel() != s * n_out)
    return shape_error("MaxPool coefficient rows do not match the output " + shape_to_string(ys));
  const double* pl = xl.data<double>();
  const double* pu = xu.data<double>();
  const auto no = static_cast<size_t>(n_out);
  std::vector<int64_t> best(no, -1);  // i*
  // First pass: i* (the first largest lower bound); second: the largest upper bound of the other
  // cells and of all cells.
  for_each_pool_cell(st.p, xl.shape(), ys, [&](int64_t yi, int64_t xi) {
    int64_t& b = best[static_cast<size_t>(yi)];
    if (b < 0 || pl[xi] > pl[b])
      b = xi;
  });
  constexpr double kNegInf = -std::numeric_limits<double>::infinity();
  std::vector<double> other_u(no, kNegInf), all_u(no, kNegInf);
  for_each_pool_cell(st.p, xl.shape(), ys, [&](int64_t yi, int64_t xi) {
    const auto o = static_cast<size_t>(yi);
    all_u[o] = std::max(all_u[o], pu[xi]);
    if (xi != best[o])
      other_u[o] = std::max(other_u[o], pu[xi]);
  });
  for (size_t o = 0; o < no; ++o)
    if (best[o] < 0)
      return unsupported("CROWN through MaxPool: a window holds only padding");
  a_in.assign(in_bounds.size(), Tensor());
  a_in[0] = Tensor(DType::kF64, {s, n_in});
  const Tensor ad = a.to(DType::kF64);
  const double* pa = ad.data<double>();
  double* po = a_in[0].data<double>();
  for (int64_t r = 0; r < s; ++r) {
    double acc = 0;
    for (size_t o = 0; o < no; ++o) {
      const double c = pa[r * n_out + static_cast<int64_t>(o)];
      if (c == 0)
        continue;
      const int64_t i = best[o];
      const bool use_lower = (c >= 0) == lower;
      if (use_lower || pl[i] >= other_u[o])
        po[r * n_in + i] += c;  // y >= x_{i*}, or y = x_{i*}
      else
        acc += c * all_u[o];  // y <= max u
    }
    bias.set(r, bias.get(r) + acc);
  }
  return Status::ok();
}

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
                              true};

}  // namespace nncert::ops
