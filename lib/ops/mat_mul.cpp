// MatMul (ONNX opset 17): numpy matmul. 1-D operands are promoted (A to [1, K], B to [K, 1])
// and the added dim is dropped from the result; leading (batch) dims broadcast.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "core/parallel.h"
#include "ops/bivariate.h"
#include "ops/bound_forward.h"
#include "ops/interval.h"
#include "ops/op_util.h"
#include "ops/relaxation.h"
#include "runtime/kernels/gemm.h"

namespace nncert::ops {

namespace {

struct MatMulDims {
  Shape batch;  // broadcast batch shape
  int64_t m = -1;
  int64_t n = -1;
  int64_t k = -1;
  Shape out;
};

Expected<MatMulDims> resolve(const Shape& a, const Shape& b) {
  if (a.empty() || b.empty())
    return shape_error("MatMul operands must have rank >= 1, got " + shape_to_string(a) + " and " +
                       shape_to_string(b));
  MatMulDims d;
  const bool a1 = a.size() == 1;
  const bool b1 = b.size() == 1;
  d.m = a1 ? 1 : a[a.size() - 2];
  d.k = a.back();
  const int64_t kb = b1 ? b[0] : b[b.size() - 2];
  d.n = b1 ? 1 : b.back();
  if (d.k >= 0 && kb >= 0 && d.k != kb)
    return shape_error("MatMul inner dimensions differ: " + shape_to_string(a) + " x " +
                       shape_to_string(b));
  if (d.k < 0)
    d.k = kb;
  const Shape ba = a1 ? Shape{} : Shape(a.begin(), a.end() - 2);
  const Shape bb = b1 ? Shape{} : Shape(b.begin(), b.end() - 2);
  auto batch = broadcast_shapes(ba, bb);
  if (!batch)
    return shape_error("MatMul batch dims do not broadcast: " + shape_to_string(a) + " x " +
                       shape_to_string(b));
  d.batch = *batch;
  d.out = d.batch;
  if (!a1)
    d.out.push_back(d.m);
  if (!b1)
    d.out.push_back(d.n);
  return d;
}

// Y[..., i, j] = sum_k A[..., i, k] * B[..., k, j]
Status mat_mul_infer(const Node& node, std::span<const TypeInfo> in, std::vector<TypeInfo>& out) {
  if (in.size() < 2)
    return attr_error("MatMul needs inputs A and B");
  NNCERT_RETURN_IF_ERROR(expect_float(in, 0, "MatMul input A"));
  NNCERT_RETURN_IF_ERROR(expect_float(in, 1, "MatMul input B"));
  if (!known(in[0]) || !known(in[1]))
    return unknown_output(in, out);
  NNCERT_ASSIGN_OR_RETURN(MatMulDims d, resolve(shape_of(in[0]), shape_of(in[1])));
  out.assign(1, make_info(in[0].dtype, std::move(d.out)));
  return Status::ok();
}

// Element offset of each flat batch index of `batch` into an operand with batch dims `own`
// (right-aligned, broadcast where own has extent 1 or is missing), in units of matrices.
std::vector<int64_t> batch_offsets(const Shape& batch, const Shape& own) {
  const int64_t count = shape_numel(batch);
  std::vector<int64_t> offs(static_cast<size_t>(count), 0);
  const size_t r = batch.size();
  std::vector<int64_t> stride(r, 0);
  int64_t s = 1;
  for (size_t i = own.size(); i-- > 0;) {
    const size_t j = r - own.size() + i;
    stride[j] = own[i] == 1 ? 0 : s;
    s *= own[i];
  }
  std::vector<int64_t> idx(r, 0);
  for (int64_t f = 0; f < count; ++f) {
    int64_t o = 0;
    for (size_t i = 0; i < r; ++i)
      o += idx[i] * stride[i];
    offs[static_cast<size_t>(f)] = o;
    for (size_t i = r; i-- > 0;) {
      if (++idx[i] < batch[i])
        break;
      idx[i] = 0;
    }
  }
  return offs;
}

template <class T>
void run_mat_mul(const MatMulDims& d, const Tensor& a, const Tensor& b, Tensor& y, int threads) {
  const T* pa = a.data<T>();
  const T* pb = b.data<T>();
  T* py = y.data<T>();
  const int64_t count = shape_numel(d.batch);
  if (count == 0 || d.m == 0 || d.n == 0)
    return;
  const Shape ba = a.rank() == 1 ? Shape{} : Shape(a.shape().begin(), a.shape().end() - 2);
  const Shape bb = b.rank() == 1 ? Shape{} : Shape(b.shape().begin(), b.shape().end() - 2);
  if (shape_numel(bb) == 1 && ba == d.batch) {
    // B is one matrix shared by every batch item: one [count*M, K] x [K, N] product.
    kernels::gemm<T>(false, false, count * d.m, d.n, d.k, T(1), pa, pb, T(0), py, threads);
    return;
  }
  const std::vector<int64_t> oa = batch_offsets(d.batch, ba);
  const std::vector<int64_t> ob = batch_offsets(d.batch, bb);
  const int nthreads = resolve_threads(threads);
  const double work = static_cast<double>(d.m) * static_cast<double>(d.n) *
                      static_cast<double>(std::max<int64_t>(d.k, 1));
  // Many small products: share the batch out; few large ones: let each GEMM use the threads.
  const bool outer = count >= nthreads || work < 1e6;
  const int64_t grain = std::max<int64_t>(1, static_cast<int64_t>(1e6 / std::max(work, 1.0)));
  auto body = [&](int64_t first, int64_t last) {
    for (int64_t i = first; i < last; ++i) {
      kernels::gemm<T>(false,
                       false,
                       d.m,
                       d.n,
                       d.k,
                       T(1),
                       pa + oa[static_cast<size_t>(i)] * d.m * d.k,
                       pb + ob[static_cast<size_t>(i)] * d.k * d.n,
                       T(0),
                       py + i * d.m * d.n,
                       outer ? 1 : nthreads);
    }
  };
  if (outer) {
    parallel_for(count, nthreads, grain, body);
  } else {
    body(0, count);
  }
}

Status mat_mul_forward(const Node& node,
                       std::span<const Tensor> in,
                       std::span<const TypeInfo> out_types,
                       std::vector<Tensor>& out,
                       const ExecContext& ctx) {
  if (in.size() < 2 || !in[0].is_valid() || !in[1].is_valid())
    return attr_error("MatMul needs inputs A and B");
  const Tensor& a = in[0];
  const Tensor b = in[1].to(a.dtype());
  NNCERT_ASSIGN_OR_RETURN(MatMulDims d, resolve(a.shape(), b.shape()));
  NNCERT_RETURN_IF_ERROR(alloc_checked_output("MatMul", d.out, a.dtype(), out_types, out, false));
  Tensor& y = out[0];
  return NNCERT_FLOAT_DISPATCH(a.dtype(), T, run_mat_mul<T>(d, a, b, y, ctx.threads));
}

// 2 * prod(batch) * M * N * K = 2 * numel(Y) * K
double mat_mul_flops(const Node& node, std::span<const Shape> in, std::span<const Shape> out) {
  if (in.empty() || in[0].empty() || out.empty())
    return 0.0;
  return 2.0 * static_cast<double>(std::max<int64_t>(shape_numel(out[0]), 0)) *
         static_cast<double>(std::max<int64_t>(in[0].back(), 0));
}

// Per batch item: ga += G B^T, gb += A^T G (broadcast batch items accumulate into the shared
// operand matrix, in batch order); ga / gb nullptr: not wanted.
template <class T>
void mat_mul_vjp_typed(const MatMulDims& d,
                       const Tensor& a,
                       const Tensor& b,
                       const Tensor& gy,
                       Tensor* ga,
                       Tensor* gb,
                       int threads) {
  const Shape ba = a.rank() == 1 ? Shape{} : Shape(a.shape().begin(), a.shape().end() - 2);
  const Shape bb = b.rank() == 1 ? Shape{} : Shape(b.shape().begin(), b.shape().end() - 2);
  const std::vector<int64_t> oa = batch_offsets(d.batch, ba);
  const std::vector<int64_t> ob = batch_offsets(d.batch, bb);
  const T* pa = a.data<T>();
  const T* pb = b.data<T>();
  const T* pg = gy.data<T>();
  T* pga = ga ? ga->data<T>() : nullptr;
  T* pgb = gb ? gb->data<T>() : nullptr;
  if (pga)
    std::fill(pga, pga + ga->numel(), T(0));
  if (pgb)
    std::fill(pgb, pgb + gb->numel(), T(0));
  const int64_t count = shape_numel(d.batch);
  if (pga && d.n > 0 && shape_numel(bb) == 1 && ba == d.batch) {
    // B is one matrix shared by every batch item: G [count*M, N] B^T in one product.
    kernels::gemm<T>(false, true, count * d.m, d.k, d.n, T(1), pg, pb, T(0), pga, threads);
    pga = nullptr;
  }
  for (int64_t t = 0; t < count; ++t) {
    const int64_t a0 = oa[static_cast<size_t>(t)] * d.m * d.k;
    const int64_t b0 = ob[static_cast<size_t>(t)] * d.k * d.n;
    const T* g = pg + t * d.m * d.n;
    if (pga && d.n > 0)
      kernels::gemm<T>(false, true, d.m, d.k, d.n, T(1), g, pb + b0, T(1), pga + a0, threads);
    if (pgb && d.m > 0)
      kernels::gemm<T>(true, false, d.k, d.n, d.m, T(1), pa + a0, g, T(1), pgb + b0, threads);
  }
}

// dL/dA = unbroadcast(G B^T), dL/dB = unbroadcast(A^T G) per batch item (G = dL/dY; broadcast
// batch items accumulate into the shared operand matrix; 1-D operands as [1, K] / [K, 1]); each
// only when ctx.wants_grad.
Status mat_mul_vjp(const Node& /*node*/,
                   std::span<const Tensor> in,
                   std::span<const Tensor> out,
                   std::span<const Tensor> grad_out,
                   std::vector<Tensor>& grad_in,
                   const ExecContext& ctx) {
  if (!grad_out[0].is_valid())
    return Status::ok();
  const DType dt = in[0].dtype();
  const Tensor& a = in[0];
  const Tensor b = in[1].to(dt);
  NNCERT_ASSIGN_OR_RETURN(MatMulDims d, resolve(a.shape(), b.shape()));
  const Tensor gy = grad_out[0].dtype() == dt ? grad_out[0] : grad_out[0].to(dt);
  if (gy.shape() != out[0].shape())
    return shape_error("MatMul output gradient has shape " + shape_to_string(gy.shape()));
  const bool want_a = ctx.wants_grad(0);
  const bool want_b = ctx.wants_grad(1) && in[1].dtype() == dt;
  Tensor ga = want_a ? Tensor(dt, a.shape()) : Tensor();
  Tensor gb = want_b ? Tensor(dt, b.shape()) : Tensor();
  NNCERT_RETURN_IF_ERROR(NNCERT_FLOAT_DISPATCH(
      dt,
      T,
      mat_mul_vjp_typed<T>(
          d, a, b, gy, want_a ? &ga : nullptr, want_b ? &gb : nullptr, ctx.threads)));
  grad_in[0] = ga;
  grad_in[1] = gb;
  return Status::ok();
}

// CROWN through Y = A B with both operands non-constant: every product A[i,k] B[k,j] takes the
// McCormick planes of Mul (auto_LiRPA's BoundMatMul, via BoundLinear's MulHelper):
//   lower  A B >= A lB + lA B - lA lB,  upper  A B <= A uB + lA B - lA uB   (element-wise in k).
// A coefficient row G over Y (G+ / G- its positive / negative parts) becomes, for a lower bound,
//   over A:  G+ lB^T + G- uB^T,   over B:  lA^T G,   bias: -<G+, lA lB> - <G-, lA uB>,
// and for an upper bound lB and uB swap. Broadcast batch dims and 1-D operands as in the VJP
// (mat_mul_vjp_typed computes G B^T and A^T G per row).
Status mat_mul_crown_bilinear(const Node& /*node*/,
                              std::span<const Interval> in_bounds,
                              const Tensor& a,
                              bool lower,
                              std::vector<Tensor>& a_in,
                              Tensor& bias) {
  const Tensor al = in_bounds[0].lo.to(DType::kF64);
  const Tensor bl = in_bounds[1].lo.to(DType::kF64);
  const Tensor bu = in_bounds[1].hi.to(DType::kF64);
  NNCERT_ASSIGN_OR_RETURN(MatMulDims d, resolve(al.shape(), bl.shape()));
  const int64_t s = a.dim(0);
  const int64_t n_out = shape_numel(d.out);
  const int64_t na = al.numel(), nb = bl.numel();
  if (a.numel() != s * n_out)
    return shape_error("MatMul coefficient rows do not match the output " + shape_to_string(d.out));
  for (const Tensor* t : {&al, &bl, &bu})
    for (int64_t i = 0; i < t->numel(); ++i)
      if (!std::isfinite(t->data<double>()[i])) {
        // Unbounded operands: the vacuous bound (only rows that read the product are affected).
        a_in.assign(in_bounds.size(), Tensor());
        a_in[0] = Tensor(DType::kF64, {s, na});
        a_in[1] = Tensor(DType::kF64, {s, nb});
        const Tensor ad = a.to(DType::kF64);
        for (int64_t r = 0; r < s; ++r)
          for (int64_t j = 0; j < n_out; ++j)
            if (ad.data<double>()[r * n_out + j] != 0) {
              bias.set(r,
                       lower ? -std::numeric_limits<double>::infinity()
                             : std::numeric_limits<double>::infinity());
              break;
            }
        return Status::ok();
      }
  // The products lA lB and lA uB (the McCormick biases summed over k).
  Tensor p_ll(DType::kF64, d.out), p_lu(DType::kF64, d.out);
  run_mat_mul<double>(d, al, bl, p_ll, 1);
  run_mat_mul<double>(d, al, bu, p_lu, 1);
  // Lower bound: G+ meets the lower planes (lB), G- the upper ones (uB); an upper bound swaps.
  const Tensor& b_pos = lower ? bl : bu;
  const Tensor& b_neg = lower ? bu : bl;
  const Tensor& p_pos = lower ? p_ll : p_lu;
  const Tensor& p_neg = lower ? p_lu : p_ll;
  a_in.assign(in_bounds.size(), Tensor());
  a_in[0] = Tensor(DType::kF64, {s, na});
  a_in[1] = Tensor(DType::kF64, {s, nb});
  const Tensor ad = a.to(DType::kF64);
  const double* pa = ad.data<double>();
  Tensor gp(DType::kF64, d.out), gn(DType::kF64, d.out);
  Tensor ga1(DType::kF64, al.shape()), gb1(DType::kF64, bl.shape());
  Tensor ga2(DType::kF64, al.shape()), gb2(DType::kF64, bl.shape());
  double* pgp = gp.data<double>();
  double* pgn = gn.data<double>();
  for (int64_t r = 0; r < s; ++r) {
    const double* g = pa + r * n_out;
    double acc = 0;
    bool any_pos = false, any_neg = false;
    for (int64_t j = 0; j < n_out; ++j) {
      pgp[j] = std::max(g[j], 0.0);
      pgn[j] = std::min(g[j], 0.0);
      any_pos |= g[j] > 0;
      any_neg |= g[j] < 0;
      acc -= pgp[j] * p_pos.data<double>()[j] + pgn[j] * p_neg.data<double>()[j];
    }
    bias.set(r, bias.get(r) + acc);
    double* oa = a_in[0].data<double>() + r * na;
    double* ob = a_in[1].data<double>() + r * nb;
    if (any_pos) {
      mat_mul_vjp_typed<double>(d, al, b_pos, gp, &ga1, &gb1, 1);
      for (int64_t i = 0; i < na; ++i)
        oa[i] += ga1.data<double>()[i];
      for (int64_t i = 0; i < nb; ++i)
        ob[i] += gb1.data<double>()[i];
    }
    if (any_neg) {
      mat_mul_vjp_typed<double>(d, al, b_neg, gn, &ga2, &gb2, 1);
      for (int64_t i = 0; i < na; ++i)
        oa[i] += ga2.data<double>()[i];
      for (int64_t i = 0; i < nb; ++i)
        ob[i] += gb2.data<double>()[i];
    }
  }
  return Status::ok();
}

// CROWN through y = x B with a constant 2-D B [K, N] and x [..., 1, K] holding one row:
//   Lambda_x = Lambda_y B^T (one GEMM for all S rows). Other forms go through the generic
//   row-by-row VJP map.
Status mat_mul_crown(const Node& node,
                     std::span<const Interval> in_bounds,
                     std::span<const bool> is_const,
                     std::span<const TypeInfo> out_types,
                     const Tensor& a,
                     bool lower,
                     std::vector<Tensor>& a_in,
                     Tensor& bias,
                     const ExecContext& ctx) {
  if (!is_const[0] && !is_const[1])
    return mat_mul_crown_bilinear(node, in_bounds, a, lower, a_in, bias);
  const Tensor& x = in_bounds[0].lo;
  const bool simple = !is_const[0] && is_const[1] && in_bounds[1].lo.rank() == 2 && x.rank() >= 2 &&
                      x.dim(-1) == in_bounds[1].lo.dim(0) && x.numel() == x.dim(-1) &&
                      a.dtype() == DType::kF64;
  if (!simple)
    return crown_affine_impl(&mat_mul_forward,
                             &mat_mul_vjp,
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
  const Tensor b = in_bounds[1].lo.to(DType::kF64);
  const int64_t k = b.dim(0), n = b.dim(1), s = a.dim(0);
  a_in.assign(in_bounds.size(), Tensor());
  a_in[0] = Tensor(DType::kF64, {s, k});
  kernels::gemm<double>(false,
                        true,
                        s,
                        k,
                        n,
                        1.0,
                        a.data<double>(),
                        b.data<double>(),
                        0.0,
                        a_in[0].data<double>(),
                        ctx.threads);
  return Status::ok();
}

// Forward mode: with one operand constant, each Jacobian entry is one entry of it: split it
// by sign.
Status sign_split(const Node& node,
                  std::span<const Tensor> in,
                  std::span<const bool> is_const,
                  size_t i,
                  SignSplit& out) {
  return split_weight(node, in, is_const, i, 1 - i, 1.0, {}, out);
}

}  // namespace

extern const OpDef kOpMatMul{"MatMul",
                             2,
                             2,
                             mat_mul_infer,
                             mat_mul_forward,
                             mat_mul_flops,
                             &ibp_bilinear<&mat_mul_forward>,
                             &mat_mul_vjp,
                             &mat_mul_crown,
                             /*crown_needs_bounds=*/false,
                             /*relax=*/nullptr,
                             &bound_forward_affine<&mat_mul_forward, &sign_split>,
                             /*alpha_range=*/nullptr,
                             &two_variable_inputs};

}  // namespace nncert::ops
