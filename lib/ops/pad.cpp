// Pad: pads = [x1_begin, x2_begin, ..., x1_end, x2_end, ...] (opset >= 11 form, optional
// constant_value and axes inputs); modes constant, reflect, edge. Negative pads crop.
#include "ops/bound_forward.h"
#include "ops/elementwise.h"
#include "ops/interval.h"
#include "ops/relaxation.h"

namespace nncert::ops {
namespace {

Expected<std::vector<int64_t>> full_pads(std::span<const TypeInfo> in, size_t rank) {
  auto pads = const_ints(in, 1);
  if (!pads)
    return unsupported("Pad with non-constant pads");
  std::vector<int64_t> axes;
  if (has_input(in, 3)) {
    auto a = const_ints(in, 3);
    if (!a)
      return unsupported("Pad with non-constant axes");
    axes = *a;
  } else {
    for (size_t i = 0; i < rank; ++i)
      axes.push_back(static_cast<int64_t>(i));
  }
  if (pads->size() != 2 * axes.size())
    return shape_error("Pad has " + std::to_string(pads->size()) + " pad values for " +
                       std::to_string(axes.size()) + " axes");
  std::vector<int64_t> full(2 * rank, 0);
  std::vector<bool> seen(rank, false);
  for (size_t i = 0; i < axes.size(); ++i) {
    NNCERT_ASSIGN_OR_RETURN(int64_t ax, normalize_axis(axes[i], static_cast<int64_t>(rank)));
    if (seen[static_cast<size_t>(ax)])
      return attr_error("Pad axis " + std::to_string(axes[i]) + " is listed twice");
    seen[static_cast<size_t>(ax)] = true;
    full[static_cast<size_t>(ax)] = (*pads)[i];
    full[rank + static_cast<size_t>(ax)] = (*pads)[axes.size() + i];
  }
  return full;
}

Status infer(const Node& node, std::span<const TypeInfo> in, std::vector<TypeInfo>& out) {
  const std::string mode = node.attrs.get_string("mode", "constant");
  if (mode != "constant" && mode != "reflect" && mode != "edge" && mode != "wrap")
    return unsupported("Pad mode '" + mode + "'");
  if (!in[0].shape_known || !in[1].value || (has_input(in, 3) && !in[3].value))
    return unknown_output(in, out);
  const size_t r = in[0].shape.size();
  NNCERT_ASSIGN_OR_RETURN(auto pads, full_pads(in, r));
  Shape s = in[0].shape;
  for (size_t d = 0; d < r; ++d)
    if (s[d] >= 0) {
      auto grown = checked_add(pads[d], pads[r + d]);
      if (grown)
        grown = checked_add(s[d], *grown);
      if (!grown)
        return shape_error("Pad pads " + std::to_string(pads[d]) + " and " +
                           std::to_string(pads[r + d]) + " are out of range");
      s[d] = *grown;
      if (s[d] < 0)
        return shape_error("Pad crops more than the whole axis");
      if (mode != "constant" && in[0].shape[d] == 0 && s[d] > 0)
        return shape_error("Pad mode '" + mode + "' on an empty axis");
    }
  out.assign(1, make_info(in[0].dtype, s));
  return Status::ok();
}

// Maps an output coordinate to an input coordinate (or -1 for the constant).
int64_t source(int64_t o, int64_t before, int64_t n, const std::string& mode) {
  int64_t i = o - before;
  if (i >= 0 && i < n)
    return i;
  if (mode == "constant")
    return -1;
  if (mode == "edge")
    return i < 0 ? 0 : n - 1;
  if (mode == "wrap")
    return ((i % n) + n) % n;
  // reflect (mirror without repeating the edge)
  if (n == 1)
    return 0;
  const int64_t period = 2 * (n - 1);
  i = ((i % period) + period) % period;
  return i < n ? i : period - i;
}

// y[o] = x[src(o)] or the constant value
Status forward(const Node& node,
               std::span<const Tensor> in,
               std::span<const TypeInfo> out_types,
               std::vector<Tensor>& out,
               const ExecContext& ctx) {
  const Tensor& x = in[0];
  const size_t r = static_cast<size_t>(x.rank());
  NNCERT_ASSIGN_OR_RETURN(auto pads, full_pads(infos_of(in), r));
  const std::string mode = node.attrs.get_string("mode", "constant");
  const double cval = has_input(in, 2) && in[2].numel() > 0 ? in[2].get(0) : 0.0;
  out[0] = Tensor(x.dtype(), out_types[0].shape);
  const Shape& os = out_types[0].shape;
  auto xs = shape_strides(x.shape());
  return NNCERT_ANY_DISPATCH(x.dtype(), T, {
    // Typed copies: int64 values do not round-trip through double, and a NaN or huge constant
    // for an int64 tensor saturates instead of being cast (undefined behaviour).
    const T c = value_as<T>(cval);
    const T* px = x.data<T>();
    T* py = out[0].data<T>();
    std::vector<int64_t> idx(r, 0);
    for (int64_t o = 0; o < out[0].numel(); ++o) {
      int64_t src = 0;
      bool is_const = false;
      for (size_t d = 0; d < r; ++d) {
        int64_t s = source(idx[d], pads[d], x.shape()[d], mode);
        if (s < 0) {
          is_const = true;
          break;
        }
        src += s * xs[d];
      }
      py[o] = is_const ? c : px[src];
      for (size_t d = r; d-- > 0;) {
        if (++idx[d] < os[d])
          break;
        idx[d] = 0;
      }
    }
  });
}

// dL/dx[src(o)] += dL/dy[o] (reflect/edge/wrap accumulate); dL/dc = sum of dL/dy over padding
Status vjp(const Node& node,
           std::span<const Tensor> in,
           std::span<const Tensor> out,
           std::span<const Tensor> grad_out,
           std::vector<Tensor>& grad_in,
           const ExecContext& ctx) {
  const Tensor& x = in[0];
  if (!is_float(x.dtype()) || !grad_out[0].is_valid())
    return Status::ok();
  const size_t r = static_cast<size_t>(x.rank());
  NNCERT_ASSIGN_OR_RETURN(auto pads, full_pads(infos_of(in), r));
  const std::string mode = node.attrs.get_string("mode", "constant");
  const Tensor gy = grad_out[0].to(x.dtype());
  const Shape& os = gy.shape();
  Tensor gx(x.dtype(), x.shape());
  auto xs = shape_strides(x.shape());
  double gc = 0;  // gradient of the constant value
  Status st = NNCERT_FLOAT_DISPATCH(x.dtype(), T, {
    const T* pg = gy.data<T>();
    T* px = gx.data<T>();
    std::vector<int64_t> idx(r, 0);
    for (int64_t o = 0; o < gy.numel(); ++o) {
      int64_t src = 0;
      bool is_const = false;
      for (size_t d = 0; d < r; ++d) {
        int64_t s = source(idx[d], pads[d], x.shape()[d], mode);
        if (s < 0) {
          is_const = true;
          break;
        }
        src += s * xs[d];
      }
      if (is_const)
        gc += static_cast<double>(pg[o]);
      else
        px[src] += pg[o];
      for (size_t d = r; d-- > 0;) {
        if (++idx[d] < os[d])
          break;
        idx[d] = 0;
      }
    }
  });
  if (!st.is_ok())
    return st;
  grad_in[0] = gx;
  if (has_input(in, 2) && is_float(in[2].dtype()) && in[2].numel() > 0) {
    Tensor g(in[2].dtype(), in[2].shape());
    g.set(0, gc);
    grad_in[2] = g;
  }
  return Status::ok();
}

}  // namespace

extern const OpDef kOpPad{"Pad",
                          2,
                          4,
                          &infer,
                          &forward,
                          nullptr,
                          &ibp_monotone<&forward>,
                          &vjp,
                          &crown_affine<&forward, &vjp>,
                          /*crown_needs_bounds=*/false,
                          /*relax=*/nullptr,
                          &bound_forward_affine<&forward, &split_monotone>};

}  // namespace nncert::ops
