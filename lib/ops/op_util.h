// Helpers shared by op implementations: axis normalisation, broadcasting, dtype dispatch and
// small argument checks. Internal to lib/ops (and kernels' callers); no heavy includes.
#pragma once

#include <cmath>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "ops/op_def.h"

namespace nncert::ops {

inline Status shape_error(const std::string& msg) { return {ErrorCode::kShapeMismatch, msg}; }
inline Status attr_error(const std::string& msg) { return {ErrorCode::kInvalidGraph, msg}; }
inline Status unsupported(const std::string& msg) { return {ErrorCode::kUnsupported, msg}; }

// Normalises a possibly negative axis against `rank`; fails when out of range.
Expected<int64_t> normalize_axis(int64_t axis, int64_t rank);

// a * b for extents and element counts; nullopt when the product does not fit in int64.
inline std::optional<int64_t> checked_mul(int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
  return r;
}

// Numpy-style broadcast of two static-or-unknown shapes (-1 extents stay -1 unless the other
// side fixes them).
Expected<Shape> broadcast_shapes(const Shape& a, const Shape& b);

// Number of inputs actually present (trailing optional inputs may be kNoValue / invalid).
inline bool has_input(std::span<const TypeInfo> in, size_t i) {
  return i < in.size() && (in[i].shape_known || in[i].value.has_value());
}
inline bool has_input(std::span<const Tensor> in, size_t i) {
  return i < in.size() && in[i].is_valid();
}

// An integer list from a constant input (e.g. Reshape's shape); nullopt when not constant.
std::optional<std::vector<int64_t>> const_ints(std::span<const TypeInfo> in, size_t i);

// Output info helper.
inline TypeInfo make_info(DType dtype, Shape shape) {
  TypeInfo t;
  t.dtype = dtype;
  t.shape = std::move(shape);
  return t;
}

// Requires the input to be a float tensor.
Status expect_float(std::span<const TypeInfo> in, size_t i, const char* what);

}  // namespace nncert::ops

// Calls BODY with `T` bound to float or double according to `dtype`; int64 gives kUnsupported.
#define NNCERT_FLOAT_DISPATCH(dtype, T, ...)                                         \
  [&]() -> ::nncert::Status {                                                        \
    switch (dtype) {                                                                 \
      case ::nncert::DType::kF32: {                                                  \
        using T = float;                                                             \
        __VA_ARGS__;                                                                 \
      } break;                                                                       \
      case ::nncert::DType::kF64: {                                                  \
        using T = double;                                                            \
        __VA_ARGS__;                                                                 \
      } break;                                                                       \
      default:                                                                       \
        return {::nncert::ErrorCode::kUnsupported, "int64 tensors are not supported here"}; \
    }                                                                                \
    return ::nncert::Status::ok();                                                   \
  }()

// Same, for any dtype including int64.
#define NNCERT_ANY_DISPATCH(dtype, T, ...)        \
  [&]() -> ::nncert::Status {                     \
    switch (dtype) {                              \
      case ::nncert::DType::kF32: {               \
        using T = float;                          \
        __VA_ARGS__;                              \
      } break;                                    \
      case ::nncert::DType::kF64: {               \
        using T = double;                         \
        __VA_ARGS__;                              \
      } break;                                    \
      case ::nncert::DType::kI64: {               \
        using T = int64_t;                        \
        __VA_ARGS__;                              \
      } break;                                    \
    }                                             \
    return ::nncert::Status::ok();                \
  }()
