// Tensor: an N-d array with a shape, a dtype (float32, float64 or int64) and contiguous row-major
// storage shared between copies (like a torch tensor: copying a Tensor does not copy the data;
// use clone() for that). Everything in nncert that holds numbers holds Tensors: weights, runtime
// activations, bounds. No Eigen here: kernels map the raw buffers in their own .cpp files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"

namespace nncert {

enum class DType : uint8_t { kF32, kF64, kI64 };

const char* dtype_name(DType dtype);
size_t dtype_size(DType dtype);
inline bool is_float(DType dtype) {
  return dtype == DType::kF32 || dtype == DType::kF64;
}

// A shape: one extent per dimension. In graph value infos, -1 marks a dimension that is not
// known statically (e.g. a dynamic batch); tensors themselves always have concrete shapes.
using Shape = std::vector<int64_t>;

// Product of the extents (1 for a scalar); -1 if any extent is unknown; saturates at INT64_MAX.
int64_t shape_numel(const Shape& shape);
bool shape_is_static(const Shape& shape);
std::string shape_to_string(const Shape& shape);  // "[1, 3, 32, 32]", "?" for -1
// Row-major strides of a contiguous tensor of this shape.
std::vector<int64_t> shape_strides(const Shape& shape);

template <class T>
struct DTypeOf;
template <>
struct DTypeOf<float> {
  static constexpr DType value = DType::kF32;
};
template <>
struct DTypeOf<double> {
  static constexpr DType value = DType::kF64;
};
template <>
struct DTypeOf<int64_t> {
  static constexpr DType value = DType::kI64;
};

class Tensor {
 public:
  // An empty float32 tensor of shape [0]; is_valid() is false.
  Tensor() = default;
  // Zero-initialised tensor. Extents must be >= 0; throws std::bad_alloc when the size is
  // beyond any machine (more than 2^41 elements) or memory runs out.
  Tensor(DType dtype, Shape shape);
  // The same without zeroing: for outputs that the caller writes in full (hot op kernels).
  static Tensor uninitialized(DType dtype, Shape shape);

  template <class T>
  static Tensor from_vector(Shape shape, const std::vector<T>& values);
  static Tensor scalar(DType dtype, double value);

  bool is_valid() const { return storage_ != nullptr; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t rank() const { return static_cast<int64_t>(shape_.size()); }
  int64_t dim(int64_t i) const { return shape_.at(static_cast<size_t>(i < 0 ? i + rank() : i)); }
  int64_t numel() const { return numel_; }
  size_t nbytes() const { return static_cast<size_t>(numel_) * dtype_size(dtype_); }

  // Typed access; aborts if T does not match the dtype.
  template <class T>
  T* data() {
    NNCERT_CHECK(DTypeOf<T>::value == dtype_, "tensor dtype mismatch");
    return static_cast<T*>(storage_.get());
  }
  template <class T>
  const T* data() const {
    NNCERT_CHECK(DTypeOf<T>::value == dtype_, "tensor dtype mismatch");
    return static_cast<const T*>(storage_.get());
  }
  void* raw() { return storage_.get(); }
  const void* raw() const { return storage_.get(); }

  // Element i (flat, row-major) converted to double / int64, whatever the dtype.
  double get(int64_t i) const;
  int64_t get_int(int64_t i) const;
  void set(int64_t i, double v);
  std::vector<double> to_double_vector() const;
  std::vector<int64_t> to_int_vector() const;

  // Same data, new dtype (a copy unless the dtype already matches, then a shallow copy).
  Tensor to(DType dtype) const;
  // Same storage, new shape with the same number of elements.
  Tensor reshaped(Shape shape) const;
  Tensor clone() const;
  // True if every element of a float tensor is finite (always true for int64).
  bool all_finite() const;

 private:
  DType dtype_ = DType::kF32;
  Shape shape_{0};
  int64_t numel_ = 0;
  std::shared_ptr<void> storage_;
};

template <class T>
Tensor Tensor::from_vector(Shape shape, const std::vector<T>& values) {
  Tensor t(DTypeOf<T>::value, std::move(shape));
  NNCERT_CHECK(static_cast<int64_t>(values.size()) == t.numel(), "from_vector size mismatch");
  T* d = t.data<T>();
  for (size_t i = 0; i < values.size(); ++i)
    d[i] = values[i];
  return t;
}

}  // namespace nncert
