// Generic elementwise drivers for op implementations: a unary map and an N-ary numpy-broadcast
// map, templated on the scalar functor (ggml-style "scalar functor + generic driver"). Inputs of
// any dtype are read through typed pointers; the output dtype is the op's.
#pragma once

#include <cmath>
#include <functional>
#include <limits>
#include <span>
#include <type_traits>
#include <vector>

#include "core/parallel.h"
#include "core/tensor.h"
#include "ops/op_def.h"
#include "ops/op_util.h"

namespace nncert::ops {

// out[i] = f(in[i]) for same-dtype float tensors.
template <class T, class F>
void unary_map(const Tensor& in, Tensor& out, F f, const ExecContext& ctx) {
  const T* x = in.data<T>();
  T* y = out.data<T>();
  parallel_for(in.numel(), ctx.threads, 1 << 15, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      y[i] = f(x[i]);
  });
}

// Strides of `s` broadcast to `out` (0 where broadcast).
std::vector<int64_t> broadcast_strides(const Shape& s, const Shape& out);

// out = f(a, b) with numpy broadcasting; a, b, out all of dtype T.
template <class T, class F>
void binary_broadcast(const Tensor& a, const Tensor& b, Tensor& out, F f, const ExecContext& ctx) {
  const T* pa = a.data<T>();
  const T* pb = b.data<T>();
  T* po = out.data<T>();
  const int64_t n = out.numel();
  if (a.shape() == out.shape() && b.shape() == out.shape()) {
    parallel_for(n, ctx.threads, 1 << 15, [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i)
        po[i] = f(pa[i], pb[i]);
    });
    return;
  }
  if (b.numel() == 1 && a.shape() == out.shape()) {
    const T v = pb[0];
    for (int64_t i = 0; i < n; ++i)
      po[i] = f(pa[i], v);
    return;
  }
  const Shape& os = out.shape();
  const size_t r = os.size();
  std::vector<int64_t> sa = broadcast_strides(a.shape(), os);
  std::vector<int64_t> sb = broadcast_strides(b.shape(), os);
  // Iterate rows of the last dimension with an odometer over the leading ones.
  const int64_t inner = r == 0 ? 1 : os[r - 1];
  const int64_t ia = r == 0 ? 0 : sa[r - 1];
  const int64_t ib = r == 0 ? 0 : sb[r - 1];
  const int64_t rows = inner == 0 ? 0 : n / inner;
  std::vector<int64_t> idx(r, 0);
  for (int64_t row = 0; row < rows; ++row) {
    int64_t oa = 0;
    int64_t ob = 0;
    for (size_t d = 0; d + 1 < r; ++d) {
      oa += idx[d] * sa[d];
      ob += idx[d] * sb[d];
    }
    T* o = po + row * inner;
    for (int64_t j = 0; j < inner; ++j)
      o[j] = f(pa[oa + j * ia], pb[ob + j * ib]);
    for (int64_t d = static_cast<int64_t>(r) - 2; d >= 0; --d) {
      if (++idx[static_cast<size_t>(d)] < os[static_cast<size_t>(d)])
        break;
      idx[static_cast<size_t>(d)] = 0;
    }
  }
}

// Shape rule for broadcasting binary / variadic ops: all inputs broadcast together, output
// dtype = first input's; inputs must share a dtype.
Status infer_broadcast(const Node& node, std::span<const TypeInfo> in, std::vector<TypeInfo>& out);
// Shape rule for unary ops: output = input 0's dtype and shape.
Status infer_same(const Node& node, std::span<const TypeInfo> in, std::vector<TypeInfo>& out);
// Shape rule for unary float ops (rejects int64 inputs).
Status infer_same_float(const Node& node, std::span<const TypeInfo> in, std::vector<TypeInfo>& out);

// Forward for a broadcasting binary op given a functor usable on float, double and int64.
template <class F>
Status forward_binary(std::span<const Tensor> in,
                      std::vector<Tensor>& out,
                      std::span<const TypeInfo> out_types,
                      F f,
                      const ExecContext& ctx) {
  out[0] = Tensor::uninitialized(out_types[0].dtype, out_types[0].shape);
  const Tensor a = in[0];
  const Tensor b = in[1].dtype() == a.dtype() ? in[1] : in[1].to(a.dtype());
  return NNCERT_ANY_DISPATCH(a.dtype(), T, binary_broadcast<T>(a, b, out[0], f, ctx));
}

// Forward for a unary float op given a functor templated on the scalar type.
template <class F>
Status forward_unary(std::span<const Tensor> in,
                     std::vector<Tensor>& out,
                     std::span<const TypeInfo> out_types,
                     F f,
                     const ExecContext& ctx) {
  out[0] = Tensor::uninitialized(out_types[0].dtype, out_types[0].shape);
  return NNCERT_FLOAT_DISPATCH(in[0].dtype(), T, unary_map<T>(in[0], out[0], f, ctx));
}

// The larger (Better = std::greater<>) or smaller (std::less<>) of two values; a NaN operand
// gives NaN, as in ONNX Runtime, and ties keep the first operand.
template <class Better>
struct NanPropagatingPick {
  template <class T>
  T operator()(T a, T b) const {
    if constexpr (std::is_floating_point_v<T>) {
      if (std::isnan(a) || std::isnan(b))
        return std::numeric_limits<T>::quiet_NaN();
    }
    return Better{}(b, a) ? b : a;
  }
};

// Forward for a variadic broadcasting selection (Max, Min): folds the inputs left to right with
// NanPropagatingPick<Better>, broadcasting at each step; a single input is copied.
template <class Better>
Status forward_pick(std::span<const Tensor> in, std::vector<Tensor>& out, const ExecContext& ctx) {
  Tensor acc = in[0];
  if (in.size() == 1) {
    out[0] = acc.clone();
    return Status::ok();
  }
  Shape shape = acc.shape();
  for (size_t i = 1; i < in.size(); ++i) {
    NNCERT_ASSIGN_OR_RETURN(shape, broadcast_shapes(acc.shape(), in[i].shape()));
    std::vector<Tensor> next(1);
    std::vector<TypeInfo> types{make_info(acc.dtype(), shape)};
    NNCERT_RETURN_IF_ERROR(forward_binary(
        std::vector<Tensor>{acc, in[i]}, next, types, NanPropagatingPick<Better>{}, ctx));
    acc = next[0];
  }
  out[0] = acc;
  return Status::ok();
}

}  // namespace nncert::ops
