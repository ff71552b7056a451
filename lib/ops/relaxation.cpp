#include "ops/relaxation.h"

#include "ops/op_util.h"

namespace nncert::ops {

namespace {
// [S, numel(shape)]: one row of coefficients per specification.
Shape rows_shape(int64_t s, const Shape& shape) {
  return {s, shape_numel(shape)};
}
}  // namespace

Status crown_affine_impl(ForwardFn fwd,
                         VjpFn vjp,
                         bool multilinear,
                         const Node& node,
                         std::span<const Interval> in_bounds,
                         std::span<const bool> is_const,
                         std::span<const TypeInfo> out_types,
                         const Tensor& a,
                         bool lower,
                         std::vector<Tensor>& a_in,
                         Tensor& bias,
                         const ExecContext& ctx) {
  if (fwd == nullptr || vjp == nullptr)
    return unsupported(node.op + " has no backward map");
  const int64_t s = a.dim(0);
  size_t variables = 0;
  for (size_t i = 0; i < in_bounds.size(); ++i)
    if (in_bounds[i].lo.is_valid() && !is_const[i])
      ++variables;
  if (multilinear && variables > 1)
    return unsupported(node.op + " of two non-constant operands has no linear relaxation yet");
  // Constant part: f with every variable input at zero (batch 1), dotted with each row of a.
  std::vector<Tensor> zero_in;
  for (size_t i = 0; i < in_bounds.size(); ++i) {
    if (!in_bounds[i].lo.is_valid()) {
      zero_in.emplace_back();
    } else if (is_const[i]) {
      zero_in.push_back(in_bounds[i].lo);
    } else {
      zero_in.emplace_back(in_bounds[i].lo.dtype(), in_bounds[i].lo.shape());
    }
  }
  std::vector<Tensor> f0(out_types.size());
  NNCERT_RETURN_IF_ERROR(fwd(node, zero_in, out_types, f0, ctx));
  // This rule handles one output (the engine bounds single-output nodes).
  const Tensor& y0 = f0[0];
  const int64_t n_out = y0.numel();
  for (int64_t r = 0; r < s; ++r) {
    double acc = 0;
    for (int64_t j = 0; j < n_out; ++j)
      acc += a.get(r * n_out + j) * y0.get(j);
    bias.set(r, bias.get(r) + acc);
  }
  // Linear part: the VJP of each coefficient row (batch-1 shapes, so ops that reduce or move the
  // batch axis stay exact; batching rows through the batch axis is a later optimisation).
  std::vector<Tensor> vin, vout(out_types.size()), gout(out_types.size());
  for (size_t i = 0; i < in_bounds.size(); ++i) {
    if (!in_bounds[i].lo.is_valid()) {
      vin.emplace_back();
    } else if (is_const[i]) {
      vin.push_back(in_bounds[i].lo);
    } else {
      vin.emplace_back(a.dtype(), in_bounds[i].lo.shape());
    }
  }
  for (size_t k = 0; k < out_types.size(); ++k)
    vout[k] = Tensor(a.dtype(), out_types[k].shape);
  a_in.assign(in_bounds.size(), Tensor());
  for (size_t i = 0; i < in_bounds.size(); ++i)
    if (in_bounds[i].lo.is_valid() && !is_const[i])
      a_in[i] = Tensor(a.dtype(), rows_shape(s, in_bounds[i].lo.shape()));
  for (int64_t r = 0; r < s; ++r) {
    Tensor row(a.dtype(), out_types[0].shape);
    for (int64_t j = 0; j < n_out; ++j)
      row.set(j, a.get(r * n_out + j));
    gout[0] = row;
    std::vector<Tensor> gin(in_bounds.size());
    NNCERT_RETURN_IF_ERROR(vjp(node, vin, vout, gout, gin, ctx));
    for (size_t i = 0; i < in_bounds.size(); ++i) {
      if (!a_in[i].is_valid())
        continue;
      if (!gin[i].is_valid())
        return unsupported(node.op + ": no coefficients for an input");
      const int64_t n_in = gin[i].numel();
      for (int64_t j = 0; j < n_in; ++j)
        a_in[i].set(r * n_in + j, gin[i].get(j));
    }
  }
  (void)lower;  // exact: the same map bounds from both sides
  return Status::ok();
}

void apply_element_relaxation(
    const ElementRelaxation& r, const Tensor& a, bool lower, Tensor& a_in, Tensor& bias) {
  const int64_t n = r.al.numel();
  const int64_t s = a.dim(0);
  // Typed float64 views (the bound engines work in float64).
  const Tensor al = r.al.to(DType::kF64), bl = r.bl.to(DType::kF64);
  const Tensor au = r.au.to(DType::kF64), bu = r.bu.to(DType::kF64);
  const Tensor ad = a.to(DType::kF64);
  a_in = Tensor(DType::kF64, a.shape());
  const double* pa = ad.data<double>();
  double* po = a_in.data<double>();
  const double *sl = al.data<double>(), *il = bl.data<double>();
  const double *su = au.data<double>(), *iu = bu.data<double>();
  for (int64_t row = 0; row < s; ++row) {
    double acc = 0;
    const double* c = pa + row * n;
    double* o = po + row * n;
    for (int64_t j = 0; j < n; ++j) {
      // lower bound: c >= 0 takes the lower line, c < 0 the upper; an upper bound the reverse.
      const bool use_lower = (c[j] >= 0) == lower;
      o[j] = c[j] * (use_lower ? sl[j] : su[j]);
      acc += c[j] * (use_lower ? il[j] : iu[j]);
    }
    bias.set(row, bias.get(row) + acc);
  }
}

Status crown_element_impl(RelaxFn relax,
                          const Node& node,
                          std::span<const Interval> in_bounds,
                          const Tensor& a,
                          bool lower,
                          std::vector<Tensor>& a_in,
                          Tensor& bias) {
  const Interval x{in_bounds[0].lo.to(DType::kF64), in_bounds[0].hi.to(DType::kF64)};
  ElementRelaxation r;
  NNCERT_RETURN_IF_ERROR(relax(node, x, nullptr, r, nullptr));
  a_in.assign(in_bounds.size(), Tensor());
  apply_element_relaxation(r, a, lower, a_in[0], bias);
  return Status::ok();
}

ElementRelaxation make_relaxation(const Interval& in) {
  const Shape& s = in.lo.shape();
  return {Tensor(DType::kF64, s), Tensor(DType::kF64, s), Tensor(DType::kF64, s),
          Tensor(DType::kF64, s)};
}

Interval make_interval_like(const Interval& in) {
  const Shape& s = in.lo.shape();
  return {Tensor(DType::kF64, s), Tensor(DType::kF64, s)};
}

}  // namespace nncert::ops
