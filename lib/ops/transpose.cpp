// Transpose: y = x with axes permuted by `perm` (default: reversed).
#include <algorithm>

#include "ops/bound_forward.h"
#include "ops/elementwise.h"
#include "ops/interval.h"
#include "ops/relaxation.h"

namespace nncert::ops {
namespace {

Expected<std::vector<int64_t>> permutation(const Node& node, size_t rank) {
  std::vector<int64_t> perm = node.attrs.get_ints("perm");
  if (perm.empty()) {
    for (size_t i = 0; i < rank; ++i)
      perm.push_back(static_cast<int64_t>(rank - 1 - i));
  }
  if (perm.size() != rank)
    return shape_error("Transpose perm has the wrong length");
  std::vector<bool> seen(rank, false);
  for (int64_t p : perm) {
    if (p < 0 || p >= static_cast<int64_t>(rank) || seen[static_cast<size_t>(p)])
      return attr_error("Transpose perm is not a permutation");
    seen[static_cast<size_t>(p)] = true;
  }
  return perm;
}

Status infer(const Node& node, std::span<const TypeInfo> in, std::vector<TypeInfo>& out) {
  if (!in[0].shape_known)
    return unknown_output(in, out);
  NNCERT_ASSIGN_OR_RETURN(auto perm, permutation(node, in[0].shape.size()));
  Shape s(perm.size());
  for (size_t i = 0; i < perm.size(); ++i)
    s[i] = in[0].shape[static_cast<size_t>(perm[i])];
  out.assign(1, make_info(in[0].dtype, s));
  return Status::ok();
}

// y[i_perm[0], ..., i_perm[r-1]] = x[i_0, ..., i_{r-1}]
Status forward(const Node& node,
               std::span<const Tensor> in,
               std::span<const TypeInfo> out_types,
               std::vector<Tensor>& out,
               const ExecContext& ctx) {
  const Tensor& x = in[0];
  NNCERT_ASSIGN_OR_RETURN(auto perm, permutation(node, x.shape().size()));
  out[0] = Tensor(x.dtype(), out_types[0].shape);
  const size_t r = perm.size();
  auto xs = shape_strides(x.shape());
  std::vector<int64_t> src_stride(r);  // stride in x of each output axis
  for (size_t i = 0; i < r; ++i)
    src_stride[i] = xs[static_cast<size_t>(perm[i])];
  const Shape& os = out_types[0].shape;
  std::vector<int64_t> idx(r, 0);
  return NNCERT_ANY_DISPATCH(x.dtype(), T, {
    const T* px = x.data<T>();
    T* py = out[0].data<T>();
    std::fill(idx.begin(), idx.end(), 0);
    int64_t src = 0;
    for (int64_t o = 0; o < out[0].numel(); ++o) {
      py[o] = px[src];
      for (size_t d = r; d-- > 0;) {
        src += src_stride[d];
        if (++idx[d] < os[d])
          break;
        src -= src_stride[d] * os[d];
        idx[d] = 0;
      }
    }
  });
}

// dL/dx = transpose(dL/dy, inverse(perm)): dL/dx[src(o)] = dL/dy[o]
Status vjp(const Node& node,
           std::span<const Tensor> in,
           std::span<const Tensor> out,
           std::span<const Tensor> grad_out,
           std::vector<Tensor>& grad_in,
           const ExecContext& ctx) {
  const Tensor& x = in[0];
  if (!is_float(x.dtype()) || !grad_out[0].is_valid())
    return Status::ok();
  NNCERT_ASSIGN_OR_RETURN(auto perm, permutation(node, x.shape().size()));
  const Tensor gy = grad_out[0].to(x.dtype());
  Tensor gx(x.dtype(), x.shape());
  const size_t r = perm.size();
  auto xs = shape_strides(x.shape());
  std::vector<int64_t> src_stride(r);  // stride in x of each output axis
  for (size_t i = 0; i < r; ++i)
    src_stride[i] = xs[static_cast<size_t>(perm[i])];
  const Shape& os = gy.shape();
  std::vector<int64_t> idx(r, 0);
  Status st = NNCERT_FLOAT_DISPATCH(x.dtype(), T, {
    const T* pg = gy.data<T>();
    T* px = gx.data<T>();
    int64_t src = 0;
    for (int64_t o = 0; o < gy.numel(); ++o) {
      px[src] = pg[o];
      for (size_t d = r; d-- > 0;) {
        src += src_stride[d];
        if (++idx[d] < os[d])
          break;
        src -= src_stride[d] * os[d];
        idx[d] = 0;
      }
    }
  });
  if (!st.is_ok())
    return st;
  grad_in[0] = gx;
  return Status::ok();
}

}  // namespace

extern const OpDef kOpTranspose{"Transpose",
                                1,
                                1,
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
