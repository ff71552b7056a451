#include "core/tensor.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>

namespace nncert {

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return "float32";
    case DType::kF64:
      return "float64";
    case DType::kI64:
      return "int64";
  }
  return "?";
}

size_t dtype_size(DType dtype) {
  return dtype == DType::kF32 ? 4 : 8;
}

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  bool saturated = false;
  for (int64_t d : shape) {
    if (d < 0)
      return -1;
    if (d == 0)
      return 0;
    // Saturate instead of overflowing: no real tensor gets near 2^63 elements, and callers that
    // allocate refuse sizes this large.
    if (saturated || n > std::numeric_limits<int64_t>::max() / d)
      saturated = true;
    else
      n *= d;
  }
  return saturated ? std::numeric_limits<int64_t>::max() : n;
}

bool shape_is_static(const Shape& shape) {
  for (int64_t d : shape)
    if (d < 0)
      return false;
  return true;
}

std::string shape_to_string(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i)
      s += ", ";
    s += shape[i] < 0 ? std::string("?") : std::to_string(shape[i]);
  }
  return s + "]";
}

std::vector<int64_t> shape_strides(const Shape& shape) {
  std::vector<int64_t> st(shape.size(), 1);
  for (size_t i = shape.size(); i-- > 1;)
    st[i - 1] = st[i] * shape[i];
  return st;
}

namespace {
// float -> int64 without undefined behaviour: NaN -> 0, out of range -> saturated.
int64_t to_int_saturating(double v) {
  if (std::isnan(v))
    return 0;
  if (v >= 9.2233720368547758e18)
    return std::numeric_limits<int64_t>::max();
  if (v <= -9.2233720368547758e18)
    return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(v);
}

// 64-byte aligned, zeroed storage; throws std::bad_alloc when memory runs out so callers at
// module boundaries can turn it into kOutOfMemory.
// Tensor buffers of a training step come and go by the hundred; glibc would hand every one above
// its mmap threshold back to the kernel and fault it in again (page faults and page clearing were
// a tenth of a training step). Raising the thresholds once keeps such buffers in the heap.
void tune_allocator() {
#ifdef __GLIBC__
  static const bool done = [] {
    mallopt(M_MMAP_THRESHOLD, 256 << 20);
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
    return true;
  }();
  (void)done;
#endif
}

std::shared_ptr<void> allocate(size_t bytes, bool zero = true) {
  tune_allocator();
  if (bytes > (size_t{1} << 44))
    throw std::bad_alloc();  // 16 TiB: certainly not available
  size_t rounded = ((bytes + 63) / 64) * 64;
  if (rounded == 0)
    rounded = 64;
  void* p = std::aligned_alloc(64, rounded);
  if (p == nullptr)
    throw std::bad_alloc();
  if (zero)
    std::memset(p, 0, rounded);
  return {p, [](void* q) {
            std::free(q);
          }};
}
}  // namespace

Tensor::Tensor(DType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)) {
  numel_ = shape_numel(shape_);
  NNCERT_CHECK(numel_ >= 0, "tensor with unknown extent " + shape_to_string(shape_));
  if (numel_ > (int64_t{1} << 41))
    throw std::bad_alloc();
  storage_ = allocate(nbytes());
}

Tensor Tensor::uninitialized(DType dtype, Shape shape) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.numel_ = shape_numel(t.shape_);
  NNCERT_CHECK(t.numel_ >= 0, "tensor with unknown extent " + shape_to_string(t.shape_));
  if (t.numel_ > (int64_t{1} << 41))
    throw std::bad_alloc();
  t.storage_ = allocate(t.nbytes(), false);
  return t;
}

Tensor Tensor::scalar(DType dtype, double value) {
  Tensor t(dtype, {});
  t.set(0, value);
  return t;
}

double Tensor::get(int64_t i) const {
  switch (dtype_) {
    case DType::kF32:
      return data<float>()[i];
    case DType::kF64:
      return data<double>()[i];
    case DType::kI64:
      return static_cast<double>(data<int64_t>()[i]);
  }
  return 0;
}

int64_t Tensor::get_int(int64_t i) const {
  if (dtype_ == DType::kI64)
    return data<int64_t>()[i];
  return to_int_saturating(get(i));
}

void Tensor::set(int64_t i, double v) {
  switch (dtype_) {
    case DType::kF32:
      data<float>()[i] = static_cast<float>(v);
      break;
    case DType::kF64:
      data<double>()[i] = v;
      break;
    case DType::kI64:
      data<int64_t>()[i] = to_int_saturating(v);
      break;
  }
}

std::vector<double> Tensor::to_double_vector() const {
  std::vector<double> v(static_cast<size_t>(numel_));
  for (int64_t i = 0; i < numel_; ++i)
    v[static_cast<size_t>(i)] = get(i);
  return v;
}

std::vector<int64_t> Tensor::to_int_vector() const {
  std::vector<int64_t> v(static_cast<size_t>(numel_));
  for (int64_t i = 0; i < numel_; ++i)
    v[static_cast<size_t>(i)] = get_int(i);
  return v;
}

Tensor Tensor::to(DType dtype) const {
  if (dtype == dtype_)
    return *this;
  Tensor out(dtype, shape_);
  if (dtype == DType::kI64) {
    int64_t* o = out.data<int64_t>();
    for (int64_t i = 0; i < numel_; ++i)
      o[i] = to_int_saturating(get(i));
  } else if (dtype == DType::kF32) {
    float* o = out.data<float>();
    for (int64_t i = 0; i < numel_; ++i)
      o[i] = static_cast<float>(get(i));
  } else {
    double* o = out.data<double>();
    for (int64_t i = 0; i < numel_; ++i)
      o[i] = get(i);
  }
  return out;
}

Tensor Tensor::reshaped(Shape shape) const {
  NNCERT_CHECK(shape_numel(shape) == numel_, "reshape changes the element count");
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::clone() const {
  Tensor t = uninitialized(dtype_, shape_);
  if (numel_ > 0)
    std::memcpy(t.raw(), raw(), nbytes());
  return t;
}

bool Tensor::all_finite() const {
  if (dtype_ == DType::kI64)
    return true;
  for (int64_t i = 0; i < numel_; ++i)
    if (!std::isfinite(get(i)))
      return false;
  return true;
}

}  // namespace nncert
