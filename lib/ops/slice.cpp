// Slice: y = x[starts:ends:steps] along `axes` (opset >= 10 form: starts, ends, axes, steps are
// inputs). Out-of-range starts/ends are clamped as in numpy; negative steps walk backwards.
#include <algorithm>
#include <limits>

#include "ops/bound_forward.h"
#include "ops/elementwise.h"
#include "ops/interval.h"
#include "ops/relaxation.h"

namespace nncert::ops {
namespace {

struct Plan {
  Shape out;
  std::vector<int64_t> start, step;  // per input axis
};

Expected<Plan> make_plan(const Shape& s,
                         const std::vector<int64_t>& starts,
                         const std::vector<int64_t>& ends,
                         std::vector<int64_t> axes,
                         std::vector<int64_t> steps) {
  const auto rank = static_cast<int64_t>(s.size());
  if (axes.empty())
    for (int64_t i = 0; i < static_cast<int64_t>(starts.size()); ++i)
      axes.push_back(i);
  if (steps.empty())
    steps.assign(starts.size(), 1);
  if (starts.size() != ends.size() || axes.size() != starts.size() || steps.size() != starts.size())
    return shape_error("Slice starts/ends/axes/steps have different lengths");
  Plan p;
  p.out = s;
  p.start.assign(s.size(), 0);
  p.step.assign(s.size(), 1);
  std::vector<bool> seen(s.size(), false);
  for (size_t i = 0; i < axes.size(); ++i) {
    NNCERT_ASSIGN_OR_RETURN(int64_t ax, normalize_axis(axes[i], rank));
    if (seen[static_cast<size_t>(ax)])
      return attr_error("Slice axis " + std::to_string(axes[i]) + " is listed twice");
    seen[static_cast<size_t>(ax)] = true;
    const int64_t dim = s[static_cast<size_t>(ax)];
    int64_t step = steps[i];
    if (step == 0)
      return attr_error("Slice step 0");
    if (dim <= 0) {  // unknown extent, or an empty axis (the clamps below need dim >= 1)
      p.out[static_cast<size_t>(ax)] = dim < 0 ? -1 : 0;
      continue;
    }
    // A step longer than the axis takes at most one element; clamping it keeps the arithmetic
    // below (and the executor's index steps) far from int64 overflow.
    step = std::clamp<int64_t>(step, -dim, dim);
    int64_t b = starts[i], e = ends[i];
    if (b < 0)
      b += dim;
    if (e < 0 && e != std::numeric_limits<int64_t>::min())
      e += dim;
    if (ends[i] <= std::numeric_limits<int64_t>::min() / 2)
      e = -1;
    int64_t len = 0;
    if (step > 0) {
      b = std::clamp<int64_t>(b, 0, dim);
      e = std::clamp<int64_t>(e, 0, dim);
      len = e > b ? 1 + (e - b - 1) / step : 0;
    } else {
      b = std::clamp<int64_t>(b, 0, dim - 1);
      e = std::clamp<int64_t>(e, -1, dim - 1);
      len = b > e ? 1 + (b - e - 1) / (-step) : 0;
    }
    p.out[static_cast<size_t>(ax)] = len;
    p.start[static_cast<size_t>(ax)] = b;
    p.step[static_cast<size_t>(ax)] = step;
  }
  return p;
}

Expected<Plan> plan_from(std::span<const TypeInfo> in) {
  auto starts = const_ints(in, 1), ends = const_ints(in, 2);
  if (!starts || !ends)
    return unsupported("Slice with non-constant starts/ends");
  std::vector<int64_t> axes, steps;
  if (has_input(in, 3)) {
    auto a = const_ints(in, 3);
    if (!a)
      return unsupported("Slice with non-constant axes");
    axes = *a;
  }
  if (has_input(in, 4)) {
    auto st = const_ints(in, 4);
    if (!st)
      return unsupported("Slice with non-constant steps");
    steps = *st;
  }
  return make_plan(in[0].shape, *starts, *ends, axes, steps);
}

Status infer(const Node& node, std::span<const TypeInfo> in, std::vector<TypeInfo>& out) {
  bool consts = true;
  for (size_t i = 1; i < in.size(); ++i)
    if (has_input(in, i) && !in[i].value)
      consts = false;
  if (!in[0].shape_known || !consts)
    return unknown_output(in, out);
  NNCERT_ASSIGN_OR_RETURN(Plan p, plan_from(in));
  out.assign(1, make_info(in[0].dtype, p.out));
  return Status::ok();
}

// y[j] = x[start + j * step] per axis
Status forward(const Node& node,
               std::span<const Tensor> in,
               std::span<const TypeInfo> out_types,
               std::vector<Tensor>& out,
               const ExecContext& ctx) {
  NNCERT_ASSIGN_OR_RETURN(Plan p, plan_from(infos_of(in)));
  const Tensor& x = in[0];
  out[0] = Tensor(x.dtype(), p.out);
  const size_t r = p.out.size();
  auto xs = shape_strides(x.shape());
  int64_t base = 0;
  std::vector<int64_t> st(r);
  for (size_t d = 0; d < r; ++d) {
    base += p.start[d] * xs[d];
    st[d] = p.step[d] * xs[d];
  }
  if (out[0].numel() == 0)
    return Status::ok();
  return NNCERT_ANY_DISPATCH(x.dtype(), T, {
    const T* px = x.data<T>();
    T* py = out[0].data<T>();
    std::vector<int64_t> idx(r, 0);
    int64_t src = base;
    for (int64_t o = 0; o < out[0].numel(); ++o) {
      py[o] = px[src];
      for (size_t d = r; d-- > 0;) {
        src += st[d];
        if (++idx[d] < p.out[d])
          break;
        src -= st[d] * p.out[d];
        idx[d] = 0;
      }
    }
  });
}

// dL/dx[start + j * step] = dL/dy[j] per axis, 0 where x is not read
Status vjp(const Node& node,
           std::span<const Tensor> in,
           std::span<const Tensor> out,
           std::span<const Tensor> grad_out,
           std::vector<Tensor>& grad_in,
           const ExecContext& ctx) {
  const Tensor& x = in[0];
  if (!is_float(x.dtype()) || !grad_out[0].is_valid())
    return Status::ok();
  NNCERT_ASSIGN_OR_RETURN(Plan p, plan_from(infos_of(in)));
  const Tensor gy = grad_out[0].to(x.dtype());
  Tensor gx(x.dtype(), x.shape());
  grad_in[0] = gx;
  if (gy.numel() == 0)
    return Status::ok();
  const size_t r = p.out.size();
  auto xs = shape_strides(x.shape());
  int64_t base = 0;
  std::vector<int64_t> st(r);
  for (size_t d = 0; d < r; ++d) {
    base += p.start[d] * xs[d];
    st[d] = p.step[d] * xs[d];
  }
  return NNCERT_FLOAT_DISPATCH(x.dtype(), T, {
    const T* pg = gy.data<T>();
    T* px = gx.data<T>();
    std::vector<int64_t> idx(r, 0);
    int64_t src = base;
    for (int64_t o = 0; o < gy.numel(); ++o) {
      px[src] += pg[o];
      for (size_t d = r; d-- > 0;) {
        src += st[d];
        if (++idx[d] < p.out[d])
          break;
        src -= st[d] * p.out[d];
        idx[d] = 0;
      }
    }
  });
}

}  // namespace

extern const OpDef kOpSlice{"Slice",
                            3,
                            5,
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
