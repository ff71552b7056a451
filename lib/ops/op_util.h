// Helpers shared by op implementations: axis normalisation, broadcasting, dtype dispatch, small
// argument checks and the common steps of infer / forward rules (operand shapes, unknown
// outputs, output allocation). Internal to lib/ops (and kernels' callers); no heavy includes.
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "core/tensor.h"
#include "ops/op_def.h"

namespace nncert::ops {

inline Status shape_error(const std::string& msg) {
  return {ErrorCode::kShapeMismatch, msg};
}
inline Status attr_error(const std::string& msg) {
  return {ErrorCode::kInvalidGraph, msg};
}
inline Status unsupported(const std::string& msg) {
  return {ErrorCode::kUnsupported, msg};
}

// Normalises a possibly negative axis against `rank`; fails when out of range.
Expected<int64_t> normalize_axis(int64_t axis, int64_t rank);

// double -> int64 without undefined behaviour: truncates toward zero, saturates at the int64
// range, NaN gives 0. (A plain cast is undefined for NaN, infinities and huge values.)
int64_t saturate_to_int(double v);

// A double as T (float, double or int64) without undefined behaviour (int64: saturate_to_int).
template <class T>
T value_as(double v) {
  if constexpr (std::is_same_v<T, int64_t>)
    return saturate_to_int(v);
  else
    return static_cast<T>(v);
}

// int64 element arithmetic wraps around (two's complement, as other ONNX runtimes compute it)
// instead of overflowing, which would be undefined behaviour.
inline int64_t wrapping_add(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}
inline int64_t wrapping_sub(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}
inline int64_t wrapping_mul(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
}
inline int64_t wrapping_neg(int64_t a) {
  return wrapping_sub(0, a);
}

// a * b for extents and element counts; nullopt when the product does not fit in int64.
inline std::optional<int64_t> checked_mul(int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r))
    return std::nullopt;
  return r;
}

// a + b; nullopt when the sum does not fit in int64.
inline std::optional<int64_t> checked_add(int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r))
    return std::nullopt;
  return r;
}

// Numpy-style broadcast of two static-or-unknown shapes (-1 extents stay -1 unless the other
// side fixes them).
Expected<Shape> broadcast_shapes(const Shape& a, const Shape& b);

// Whether anything is known about a value: its shape, or a constant that carries one.
inline bool known(const TypeInfo& t) {
  return t.shape_known || t.value.has_value();
}
// The shape of a known value, taken from the constant when there is one.
inline const Shape& shape_of(const TypeInfo& t) {
  return t.value ? t.value->shape() : t.shape;
}

// Number of inputs actually present (trailing optional inputs may be kNoValue / invalid).
inline bool has_input(std::span<const TypeInfo> in, size_t i) {
  return i < in.size() && known(in[i]);
}
inline bool has_input(std::span<const Tensor> in, size_t i) {
  return i < in.size() && in[i].is_valid();
}

// Input i's shape, or nullptr when it is absent or unknown: for rules that check whatever
// operand shapes they are given (Conv's weight, Gemm's C, ...).
inline const Shape* known_shape(std::span<const TypeInfo> in, size_t i) {
  return has_input(in, i) ? &shape_of(in[i]) : nullptr;
}
// The same for a concrete, possibly absent (invalid) tensor.
inline const Shape* known_shape(const Tensor& t) {
  return t.is_valid() ? &t.shape() : nullptr;
}

// Infos for concrete inputs as the executor builds them (each tensor is its own constant value,
// an absent input has an unknown shape), so that forward rules can reuse the infer-time parsing
// of constant inputs (const_ints).
std::vector<TypeInfo> infos_of(std::span<const Tensor> in);

// An integer list from a constant input (e.g. Reshape's shape); nullopt when not constant.
std::optional<std::vector<int64_t>> const_ints(std::span<const TypeInfo> in, size_t i);

// Output info helper.
inline TypeInfo make_info(DType dtype, Shape shape) {
  TypeInfo t;
  t.dtype = dtype;
  t.shape = std::move(shape);
  return t;
}

// The answer of a shape rule whose inputs do not pin the output down (an unknown input shape, a
// non-constant axes / sizes input): `n` outputs of input 0's dtype whose rank is unknown.
Status unknown_output(std::span<const TypeInfo> in, std::vector<TypeInfo>& out, size_t n = 1);

// Requires the input to be a float tensor.
Status expect_float(std::span<const TypeInfo> in, size_t i, const char* what);

// Allocates out[0] for a forward rule after checking that the output shape `resolved` from the
// concrete inputs, and their dtype, agree with the inferred type (a mismatch means the graph
// changed under the rule); `op` names the op in the message.
Status alloc_checked_output(const char* op,
                            const Shape& resolved,
                            DType dtype,
                            std::span<const TypeInfo> out_types,
                            std::vector<Tensor>& out,
                            bool zero = true);

// A row-major shape split at `axis`: an axis-wise copy runs `outer` times over the axis, each
// time over contiguous blocks of (extent * inner) elements.
struct AxisBlocks {
  int64_t outer = 1;  // product of the extents before axis
  int64_t inner = 1;  // product of the extents after axis
};
AxisBlocks axis_blocks(const Shape& s, int64_t axis);

}  // namespace nncert::ops

// One case of the dispatch macros below: binds `T` to TYPE and runs the body.
#define NNCERT_DTYPE_CASE_(DTYPE, TYPE, T, ...) \
  case ::nncert::DType::DTYPE: {                \
    using T = TYPE;                             \
    __VA_ARGS__;                                \
  } break

// Calls BODY with `T` bound to float or double according to `dtype`; int64 gives kUnsupported.
#define NNCERT_FLOAT_DISPATCH(dtype, T, ...)                                                \
  [&]() -> ::nncert::Status {                                                               \
    switch (dtype) {                                                                        \
      NNCERT_DTYPE_CASE_(kF32, float, T, __VA_ARGS__);                                      \
      NNCERT_DTYPE_CASE_(kF64, double, T, __VA_ARGS__);                                     \
      default:                                                                              \
        return {::nncert::ErrorCode::kUnsupported, "int64 tensors are not supported here"}; \
    }                                                                                       \
    return ::nncert::Status::ok();                                                          \
  }()

// Same, for any dtype including int64.
#define NNCERT_ANY_DISPATCH(dtype, T, ...)               \
  [&]() -> ::nncert::Status {                            \
    switch (dtype) {                                     \
      NNCERT_DTYPE_CASE_(kF32, float, T, __VA_ARGS__);   \
      NNCERT_DTYPE_CASE_(kF64, double, T, __VA_ARGS__);  \
      NNCERT_DTYPE_CASE_(kI64, int64_t, T, __VA_ARGS__); \
    }                                                    \
    return ::nncert::Status::ok();                       \
  }()

namespace nncert::ops {
// The gradient of a broadcast operand: sums `grad` (shaped like the broadcast result) over the
// axes that broadcasting expanded, giving a tensor of `shape` (numpy's unbroadcast).
Tensor sum_to_shape(const Tensor& grad, const Shape& shape);

// Walks the row-major index space `shape` in runs: for each run, fn(i, off, n, s) covers the
// linear indices i .. i + n - 1, which map to the operand offsets off + k * s (k < n), where
// `strides` are the operand's strides over `shape` (0 on broadcast or reduced axes). Adjacent
// axes that the operand walks contiguously are merged first, so the runs are as long as possible
// (a suffix broadcast of a bias is one run per row; a full reduction is one run).
template <class Fn>
void for_each_run(const Shape& shape, const std::vector<int64_t>& strides, Fn&& fn) {
  int64_t total = 1;
  for (int64_t d : shape)
    total *= d;
  if (total == 0)
    return;
  // Merged axes, outermost first: (extent, stride); extent-1 axes dropped.
  int64_t ext[16], st[16];
  int nd = 0;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1)
      continue;
    if (nd > 0 && st[nd - 1] == strides[d] * shape[d]) {
      ext[nd - 1] *= shape[d];
      st[nd - 1] = strides[d];
      continue;
    }
    if (nd == 16) {  // more than 16 unmergeable axes: element by element (never in practice)
      std::vector<int64_t> idx(shape.size(), 0);
      for (int64_t i = 0; i < total; ++i) {
        int64_t off = 0;
        for (size_t k = 0; k < shape.size(); ++k)
          off += idx[k] * strides[k];
        fn(i, off, int64_t{1}, int64_t{0});
        for (size_t k = shape.size(); k-- > 0;) {
          if (++idx[k] < shape[k])
            break;
          idx[k] = 0;
        }
      }
      return;
    }
    ext[nd] = shape[d];
    st[nd] = strides[d];
    ++nd;
  }
  if (nd == 0) {
    fn(int64_t{0}, int64_t{0}, int64_t{1}, int64_t{0});
    return;
  }
  const int64_t n = ext[nd - 1], s = st[nd - 1];
  int64_t idx[16] = {0};
  int64_t off = 0;
  for (int64_t i = 0; i < total; i += n) {
    fn(i, off, n, s);
    for (int d = nd - 2; d >= 0; --d) {
      off += st[d];
      if (++idx[d] < ext[d])
        break;
      off -= st[d] * ext[d];
      idx[d] = 0;
    }
  }
}
}  // namespace nncert::ops
