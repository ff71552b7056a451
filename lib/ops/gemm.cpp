// Gemm (ONNX opset 17): Y = alpha * op(A) * op(B) + beta * C on 2-D operands, op = transpose
// when transA / transB, C optional and unidirectionally broadcast to [M, N].
#include "runtime/kernels/gemm.h"

#include <algorithm>
#include <string>

#include "ops/bound_forward.h"
#include "ops/interval.h"
#include "ops/op_util.h"
#include "ops/relaxation.h"
#include "ops/vjp_util.h"

namespace nncert::ops {

namespace {

struct GemmDims {
  int64_t m = -1;
  int64_t n = -1;
  int64_t k = -1;
};

// Derives M, N, K from the operand shapes (nullptr = unknown) and checks them and C.
Expected<GemmDims> resolve(const Node& node, const Shape* a, const Shape* b, const Shape* c) {
  const bool trans_a = node.attrs.get_int("transA", 0) != 0;
  const bool trans_b = node.attrs.get_int("transB", 0) != 0;
  if (a && a->size() != 2)
    return shape_error("Gemm A must be 2-D, got " + shape_to_string(*a));
  if (b && b->size() != 2)
    return shape_error("Gemm B must be 2-D, got " + shape_to_string(*b));
  GemmDims d;
  int64_t kb = -1;
  if (a) {
    d.m = (*a)[trans_a ? 1 : 0];
    d.k = (*a)[trans_a ? 0 : 1];
  }
  if (b) {
    kb = (*b)[trans_b ? 1 : 0];
    d.n = (*b)[trans_b ? 0 : 1];
  }
  if (d.k >= 0 && kb >= 0 && d.k != kb)
    return shape_error("Gemm inner dimensions differ: op(A) " + shape_to_string({d.m, d.k}) +
                       " and op(B) " + shape_to_string({kb, d.n}) + " (transA = " +
                       std::to_string(trans_a) + ", transB = " + std::to_string(trans_b) + ")");
  if (d.k < 0)
    d.k = kb;
  if (c) {
    if (c->size() > 2)
      return shape_error("Gemm C must have rank <= 2, got " + shape_to_string(*c));
    const Shape target = {d.m, d.n};
    for (size_t i = 0; i < c->size(); ++i) {
      const int64_t ci = (*c)[i];
      const int64_t ti = target[2 - c->size() + i];
      if (ci >= 0 && ci != 1 && ti >= 0 && ci != ti)
        return shape_error("Gemm C " + shape_to_string(*c) + " cannot be broadcast to " +
                           shape_to_string(target));
    }
  }
  return d;
}

// Y[i,j] = alpha * sum_k op(A)[i,k] * op(B)[k,j] + beta * C[i,j]
Status gemm_infer(const Node& node, std::span<const TypeInfo> in, std::vector<TypeInfo>& out) {
  if (in.size() < 2)
    return attr_error("Gemm needs inputs A and B");
  NNCERT_RETURN_IF_ERROR(expect_float(in, 0, "Gemm input A"));
  NNCERT_RETURN_IF_ERROR(expect_float(in, 1, "Gemm input B"));
  if (has_input(in, 2))
    NNCERT_RETURN_IF_ERROR(expect_float(in, 2, "Gemm input C"));
  NNCERT_ASSIGN_OR_RETURN(
      GemmDims d, resolve(node, known_shape(in, 0), known_shape(in, 1), known_shape(in, 2)));
  out.assign(1, make_info(in[0].dtype, {d.m, d.n}));
  return Status::ok();
}

template <class T>
void run_gemm(const Node& node,
              const GemmDims& d,
              const Tensor& a,
              const Tensor& b,
              const Tensor& c,
              Tensor& y,
              int threads) {
  const T alpha = static_cast<T>(node.attrs.get_float("alpha", 1.0));
  const T beta = static_cast<T>(node.attrs.get_float("beta", 1.0));
  T* py = y.data<T>();
  // Y = alpha * op(A) op(B) with beta = 0 in the kernel (its fastest path, and the one that
  // scales across threads), then Y += beta * broadcast(C) in one cheap pass.
  kernels::gemm<T>(node.attrs.get_int("transA", 0) != 0,
                   node.attrs.get_int("transB", 0) != 0,
                   d.m,
                   d.n,
                   d.k,
                   alpha,
                   a.data<T>(),
                   b.data<T>(),
                   T(0),
                   py,
                   threads);
  if (c.is_valid() && beta != T(0)) {
    const T* pc = c.data<T>();
    const int64_t cr = c.rank() == 2 ? c.dim(0) : 1;
    const int64_t cc = c.rank() >= 1 ? c.dim(-1) : 1;
    for (int64_t i = 0; i < d.m; ++i)
      for (int64_t j = 0; j < d.n; ++j)
        py[i * d.n + j] += beta * pc[(cr == 1 ? 0 : i) * cc + (cc == 1 ? 0 : j)];
  }
}

Status gemm_forward(const Node& node,
                    std::span<const Tensor> in,
                    std::span<const TypeInfo> out_types,
                    std::vector<Tensor>& out,
                    const ExecContext& ctx) {
  if (in.size() < 2 || !in[0].is_valid() || !in[1].is_valid())
    return attr_error("Gemm needs inputs A and B");
  const Tensor& a = in[0];
  const Tensor b = in[1].to(a.dtype());
  const Tensor c = has_input(in, 2) ? in[2].to(a.dtype()) : Tensor();
  NNCERT_ASSIGN_OR_RETURN(GemmDims d, resolve(node, &a.shape(), &b.shape(), known_shape(c)));
  NNCERT_RETURN_IF_ERROR(
      alloc_checked_output("Gemm", {d.m, d.n}, a.dtype(), out_types, out, false));
  Tensor& y = out[0];
  return NNCERT_FLOAT_DISPATCH(a.dtype(), T, run_gemm<T>(node, d, a, b, c, y, ctx.threads));
}

// 2 * M * N * K
double gemm_flops(const Node& node, std::span<const Shape> in, std::span<const Shape> out) {
  if (in.empty() || in[0].size() != 2 || out.empty())
    return 0.0;
  const int64_t k = in[0][node.attrs.get_int("transA", 0) != 0 ? 0 : 1];
  return 2.0 * static_cast<double>(std::max<int64_t>(shape_numel(out[0]), 0)) *
         static_cast<double>(std::max<int64_t>(k, 0));
}

// dL/dop(A) = alpha G op(B)^T and dL/dop(B) = alpha op(A)^T G as GEMMs, each written in its
// operand's stored layout (transposed back when transA / transB); ga / gb nullptr: not wanted.
template <class T>
void gemm_vjp_typed(const Node& node,
                    const GemmDims& d,
                    const Tensor& a,
                    const Tensor& b,
                    const Tensor& gy,
                    Tensor* ga,
                    Tensor* gb,
                    int threads) {
  const bool ta = node.attrs.get_int("transA", 0) != 0;
  const bool tb = node.attrs.get_int("transB", 0) != 0;
  const T alpha = static_cast<T>(node.attrs.get_float("alpha", 1.0));
  const T* pa = a.data<T>();
  const T* pb = b.data<T>();
  const T* pg = gy.data<T>();
  if (ga) {
    T* out = ga->data<T>();
    if (d.n == 0) {
      std::fill(out, out + ga->numel(), T(0));
    } else if (!ta) {  // A [M, K] = alpha G op(B)^T
      kernels::gemm<T>(false, !tb, d.m, d.k, d.n, alpha, pg, pb, T(0), out, threads);
    } else {  // A [K, M] = alpha op(B) G^T
      kernels::gemm<T>(tb, true, d.k, d.m, d.n, alpha, pb, pg, T(0), out, threads);
    }
  }
  if (gb) {
    T* out = gb->data<T>();
    if (d.m == 0) {
      std::fill(out, out + gb->numel(), T(0));
    } else if (!tb) {  // B [K, N] = alpha op(A)^T G
      kernels::gemm<T>(!ta, false, d.k, d.n, d.m, alpha, pa, pg, T(0), out, threads);
    } else {  // B [N, K] = alpha G^T op(A)
      kernels::gemm<T>(true, ta, d.n, d.k, d.m, alpha, pg, pa, T(0), out, threads);
    }
  }
}

// dL/dop(A) = alpha * G op(B)^T, dL/dop(B) = alpha * op(A)^T G (transposed back when transA /
// transB), dL/dC = beta * unbroadcast(G), with G = dL/dY; each only when ctx.wants_grad.
Status gemm_vjp(const Node& node,
                std::span<const Tensor> in,
                std::span<const Tensor> /*out*/,
                std::span<const Tensor> grad_out,
                std::vector<Tensor>& grad_in,
                const ExecContext& ctx) {
  if (!grad_out[0].is_valid())
    return Status::ok();
  const DType dt = in[0].dtype();
  const Tensor b = in[1].to(dt);
  NNCERT_ASSIGN_OR_RETURN(
      GemmDims d,
      resolve(node, &in[0].shape(), &b.shape(), has_input(in, 2) ? &in[2].shape() : nullptr));
  const Tensor gy = grad_as(grad_out[0], dt, {d.m, d.n});
  const bool want_a = ctx.wants_grad(0);
  const bool want_b = ctx.wants_grad(1) && in[1].dtype() == dt;
  Tensor ga = want_a ? Tensor(dt, in[0].shape()) : Tensor();
  Tensor gb = want_b ? Tensor(dt, b.shape()) : Tensor();
  NNCERT_RETURN_IF_ERROR(NNCERT_FLOAT_DISPATCH(
      dt,
      T,
      gemm_vjp_typed<T>(
          node, d, in[0], b, gy, want_a ? &ga : nullptr, want_b ? &gb : nullptr, ctx.threads)));
  grad_in[0] = ga;
  grad_in[1] = gb;
  if (has_input(in, 2) && ctx.wants_grad(2) && in[2].dtype() == dt) {
    const double beta = node.attrs.get_float("beta", 1.0);
    Tensor gc = sum_to_shape(gy, in[2].shape());
    if (beta != 1.0) {
      gc = gc.clone();
      for (int64_t i = 0; i < gc.numel(); ++i)
        gc.set(i, beta * gc.get(i));
    }
    grad_in[2] = gc;
  }
  return Status::ok();
}

// CROWN through y = alpha x op(B) + beta C with constant B, C and a batch-1 x [1, K]:
//   Lambda_x = alpha Lambda_y op(B)^T (one GEMM for all S rows), bias += Lambda_y (beta C).
// Other forms (x transposed, B not constant) go through the generic row-by-row VJP map.
Status gemm_crown(const Node& node,
                  std::span<const Interval> in_bounds,
                  std::span<const bool> is_const,
                  std::span<const TypeInfo> out_types,
                  const Tensor& a,
                  bool lower,
                  std::vector<Tensor>& a_in,
                  Tensor& bias,
                  const ExecContext& ctx) {
  const bool simple = !is_const[0] && is_const[1] && (in_bounds.size() < 3 || is_const[2]) &&
                      node.attrs.get_int("transA", 0) == 0 && in_bounds[0].lo.rank() == 2 &&
                      in_bounds[0].lo.dim(0) == 1 && a.dtype() == DType::kF64;
  if (!simple)
    return crown_affine_impl(&gemm_forward,
                             &gemm_vjp,
                             true,
                             node,
                             in_bounds,
                             is_const,
                             out_types,
                             a,
                             lower,
                             a_in,
                             bias,
                             ctx);
  const bool trans_b = node.attrs.get_int("transB", 0) != 0;
  const Tensor b = in_bounds[1].lo.to(DType::kF64);
  const int64_t k = in_bounds[0].lo.dim(1);
  const int64_t n = trans_b ? b.dim(0) : b.dim(1);
  const int64_t s = a.dim(0);
  // Constant part first (uses only a and C), then the coefficients.
  if (in_bounds.size() > 2 && in_bounds[2].lo.is_valid()) {
    const Tensor& c = in_bounds[2].lo;
    const double beta = node.attrs.get_float("beta", 1.0);
    for (int64_t r = 0; r < s; ++r) {
      double acc = 0;
      for (int64_t j = 0; j < n; ++j)
        acc += a.get(r * n + j) * c.get(c.numel() == 1 ? 0 : j % c.numel());
      bias.set(r, bias.get(r) + beta * acc);
    }
  }
  a_in.assign(in_bounds.size(), Tensor());
  a_in[0] = Tensor(DType::kF64, {s, k});
  // op(B)^T is B itself when transB (stored [N, K]), else B^T (B stored [K, N]).
  kernels::gemm<double>(false,
                        !trans_b,
                        s,
                        k,
                        n,
                        node.attrs.get_float("alpha", 1.0),
                        a.data<double>(),
                        b.data<double>(),
                        0.0,
                        a_in[0].data<double>(),
                        ctx.threads);
  return Status::ok();
}

// Forward mode: the Jacobian in A has entries alpha * B[k, j], in B alpha * A[i, k]: split the
// constant operand by sign (swapped for alpha < 0); C only adds.
Status sign_split(const Node& node,
                  std::span<const Tensor> in,
                  std::span<const bool> is_const,
                  size_t i,
                  SignSplit& out) {
  const size_t zero[] = {2};
  return split_weight(
      node, in, is_const, i, i == 0 ? 1 : 0, node.attrs.get_float("alpha", 1.0), zero, out);
}

}  // namespace

extern const OpDef kOpGemm{"Gemm",
                           2,
                           3,
                           gemm_infer,
                           gemm_forward,
                           gemm_flops,
                           &ibp_bilinear<&gemm_forward>,
                           &gemm_vjp,
                           &gemm_crown,
                           /*crown_needs_bounds=*/false,
                           /*relax=*/nullptr,
                           &bound_forward_affine<&gemm_forward, &sign_split>};

}  // namespace nncert::ops
