#include "ops/bound_forward.h"

#include <algorithm>
#include <memory>

#include "ops/op_util.h"

namespace nncert::ops {

namespace {

// Row k of a [n, numel] coefficient tensor as a tensor of `shape` (a copy).
Tensor row_of(const Tensor& w, int64_t k, const Shape& shape) {
  Tensor r(DType::kF64, shape);
  const int64_t m = r.numel();
  std::copy_n(w.data<double>() + k * m, m, r.data<double>());
  return r;
}

bool shares(const Tensor& a, const Tensor& b) {
  return a.raw() == b.raw();
}

// A float64 copy that owns its storage (forward rules may return their input itself).
Tensor own(const Tensor& t) {
  return t.dtype() == DType::kF64 ? t.clone() : t.to(DType::kF64);
}

// dst[j] += y[j] - y0[j]
void add_difference(double* dst, const Tensor& y, const Tensor& y0) {
  const Tensor a = y.to(DType::kF64), b = y0.to(DType::kF64);
  const double* pa = a.data<double>();
  const double* pb = b.data<double>();
  const int64_t m = a.numel();
  for (int64_t j = 0; j < m; ++j)
    dst[j] += pa[j] - pb[j];
}

}  // namespace

Status bound_forward_impl(ForwardFn fwd,
                          SplitFn split,
                          const Node& node,
                          std::span<const LinearBounds> in,
                          std::span<const TypeInfo> out_types,
                          std::vector<LinearBounds>& out,
                          const ExecContext& ctx) {
  const size_t m = in.size();
  // std::vector<bool> has no contiguous storage to make a span of.
  std::unique_ptr<bool[]> is_const(new bool[m + 1]);
  std::vector<Tensor> zero(m);  // constants at their values, variables at 0
  int64_t n = -1;
  bool exact = true;  // every variable input is one affine function (lower == upper)
  for (size_t i = 0; i < m; ++i) {
    const LinearBounds& b = in[i];
    is_const[i] = !b.lw.is_valid();
    if (is_const[i]) {
      zero[i] = b.lb;
      continue;
    }
    zero[i] = Tensor(DType::kF64, b.lb.shape());
    n = b.lw.dim(0);
    exact = exact && shares(b.lw, b.uw) && shares(b.lb, b.ub);
  }
  if (n < 0)
    return {ErrorCode::kInternal, node.op + ": forward-mode rule called on constant inputs"};
  const std::span<const bool> cs(is_const.get(), m);
  std::vector<SignSplit> splits(m);
  for (size_t i = 0; i < m; ++i)
    if (!is_const[i])
      NNCERT_RETURN_IF_ERROR(split(node, zero, cs, i, splits[i]));

  auto run = [&](const std::vector<Tensor>& args, std::vector<Tensor>& y) {
    y.assign(out_types.size(), Tensor());
    return fwd(node, args, out_types, y, ctx);
  };
  std::vector<Tensor> f0;
  NNCERT_RETURN_IF_ERROR(run(zero, f0));
  out.assign(out_types.size(), LinearBounds());
  std::vector<size_t> outs;  // outputs with float values
  for (size_t o = 0; o < f0.size() && o < out.size(); ++o) {
    if (!f0[o].is_valid() || !is_float(f0[o].dtype()))
      continue;
    outs.push_back(o);
    const int64_t numel = f0[o].numel();
    out[o].lw = Tensor(DType::kF64, {n, numel});
    out[o].uw = exact ? out[o].lw : Tensor(DType::kF64, {n, numel});
  }
  std::vector<Tensor> y;
  if (exact) {
    // One affine function in: y = f(v) exactly, jointly in all variable inputs.
    std::vector<Tensor> args = zero;
    for (size_t i = 0; i < m; ++i)
      if (!is_const[i])
        args[i] = in[i].lb;
    NNCERT_RETURN_IF_ERROR(run(args, y));
    for (size_t o : outs) {
      out[o].lb = own(y[o]).reshaped(f0[o].shape());
      out[o].ub = out[o].lb;
    }
    for (int64_t k = 0; k < n; ++k) {
      for (size_t i = 0; i < m; ++i)
        if (!is_const[i])
          args[i] = row_of(in[i].lw, k, zero[i].shape());
      NNCERT_RETURN_IF_ERROR(run(args, y));
      for (size_t o : outs)
        add_difference(out[o].lw.data<double>() + k * f0[o].numel(), y[o], f0[o]);
    }
    return Status::ok();
  }
  for (size_t o : outs) {
    out[o].lb = own(f0[o]);
    out[o].ub = own(f0[o]);
  }
  std::vector<Tensor> p0;
  for (size_t i = 0; i < m; ++i) {
    if (is_const[i])
      continue;
    const LinearBounds& b = in[i];
    for (int part = 0; part < 2; ++part) {
      const bool pos = part == 0;
      if (!(pos ? splits[i].has_pos : splits[i].has_neg))
        continue;
      std::vector<Tensor> args = pos ? splits[i].pos : splits[i].neg;
      args[i] = zero[i];
      NNCERT_RETURN_IF_ERROR(run(args, p0));
      // M+ maps lower to lower and upper to upper; M- swaps them.
      const Tensor& wl = pos ? b.lw : b.uw;
      const Tensor& bl = pos ? b.lb : b.ub;
      const Tensor& wu = pos ? b.uw : b.lw;
      const Tensor& bu = pos ? b.ub : b.lb;
      // One pass serves both sides where the input's lower and upper functions are the same.
      args[i] = bl;
      NNCERT_RETURN_IF_ERROR(run(args, y));
      for (size_t o : outs) {
        add_difference(out[o].lb.data<double>(), y[o], p0[o]);
        if (shares(bl, bu))
          add_difference(out[o].ub.data<double>(), y[o], p0[o]);
      }
      if (!shares(bl, bu)) {
        args[i] = bu;
        NNCERT_RETURN_IF_ERROR(run(args, y));
        for (size_t o : outs)
          add_difference(out[o].ub.data<double>(), y[o], p0[o]);
      }
      for (int64_t k = 0; k < n; ++k) {
        args[i] = row_of(wl, k, zero[i].shape());
        NNCERT_RETURN_IF_ERROR(run(args, y));
        for (size_t o : outs) {
          const int64_t numel = f0[o].numel();
          add_difference(out[o].lw.data<double>() + k * numel, y[o], p0[o]);
          if (shares(wl, wu))
            add_difference(out[o].uw.data<double>() + k * numel, y[o], p0[o]);
        }
        if (!shares(wl, wu)) {
          args[i] = row_of(wu, k, zero[i].shape());
          NNCERT_RETURN_IF_ERROR(run(args, y));
          for (size_t o : outs)
            add_difference(out[o].uw.data<double>() + k * f0[o].numel(), y[o], p0[o]);
        }
      }
    }
  }
  return Status::ok();
}

Status split_monotone(const Node& /*node*/,
                      std::span<const Tensor> in,
                      std::span<const bool> /*is_const*/,
                      size_t /*i*/,
                      SignSplit& out) {
  out.pos.assign(in.begin(), in.end());
  out.has_pos = true;
  return Status::ok();
}

Status split_identity(std::span<const Tensor> in,
                      std::span<const bool> is_const,
                      size_t /*i*/,
                      bool positive,
                      SignSplit& out) {
  std::vector<Tensor> args(in.begin(), in.end());
  for (size_t j = 0; j < args.size(); ++j)
    if (is_const[j] && args[j].is_valid())
      args[j] = Tensor(args[j].dtype(), args[j].shape());
  (positive ? out.pos : out.neg) = std::move(args);
  (positive ? out.has_pos : out.has_neg) = true;
  return Status::ok();
}

Status split_weight(const Node& node,
                    std::span<const Tensor> in,
                    std::span<const bool> is_const,
                    size_t i,
                    size_t w,
                    double sign,
                    std::span<const size_t> zero,
                    SignSplit& out) {
  for (size_t j = 0; j < in.size(); ++j)
    if (j != i && !is_const[j])
      return unsupported(node.op + " with more than one operand depending on the model input " +
                         "is not affine");
  if (w >= in.size() || !in[w].is_valid())
    return unsupported(node.op + ": no constant weight to split by sign");
  const Tensor wt = in[w].to(DType::kF64);
  Tensor wp(DType::kF64, wt.shape()), wn(DType::kF64, wt.shape());
  const double* pw = wt.data<double>();
  double* pp = wp.data<double>();
  double* pn = wn.data<double>();
  bool any_pos = false, any_neg = false;
  for (int64_t j = 0; j < wt.numel(); ++j) {
    pp[j] = std::max(pw[j], 0.0);
    pn[j] = std::min(pw[j], 0.0);
    any_pos = any_pos || pw[j] > 0;
    any_neg = any_neg || pw[j] < 0;
  }
  std::vector<Tensor> base(in.begin(), in.end());
  for (size_t z : zero)
    if (z < base.size() && base[z].is_valid())
      base[z] = Tensor(base[z].dtype(), base[z].shape());
  out.pos = base;
  out.neg = std::move(base);
  out.pos[w] = wp;
  out.neg[w] = wn;
  out.has_pos = any_pos;
  out.has_neg = any_neg;
  if (sign < 0) {
    std::swap(out.pos, out.neg);
    std::swap(out.has_pos, out.has_neg);
  }
  return Status::ok();
}

}  // namespace nncert::ops
