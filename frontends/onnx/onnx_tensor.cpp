#include "frontends/onnx/onnx_tensor.h"

#include <algorithm>
#include <bit>
#include <cstring>

namespace nncert {

namespace {

float half_to_float(uint16_t h) {
  const uint32_t sign = (h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  uint32_t bits = 0;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      exp = 127 - 15 + 1;
      while ((mant & 0x400) == 0) {
        mant <<= 1;
        --exp;
      }
      mant &= 0x3ff;
      bits = sign | (exp << 23) | (mant << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f = 0;
  std::memcpy(&f, &bits, 4);
  return f;
}

float bf16_to_float(uint16_t h) {
  uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f = 0;
  std::memcpy(&f, &bits, 4);
  return f;
}

Status size_error(const onnx::TensorProto& p, size_t got, int64_t want) {
  return {ErrorCode::kParseError,
          "tensor '" + p.name() + "' holds " + std::to_string(got) + " values, its shape needs " +
              std::to_string(want)};
}

template <class Raw>
std::vector<Raw> raw_values(const std::string& raw) {
  std::vector<Raw> v(raw.size() / sizeof(Raw));
  if (!v.empty())
    std::memcpy(v.data(), raw.data(), v.size() * sizeof(Raw));
  return v;
}

// Bytes per value in raw_data (0 for types read elsewhere).
size_t raw_element_size(int t) {
  using TP = onnx::TensorProto;
  switch (t) {
    case TP::DOUBLE:
    case TP::INT64:
    case TP::UINT64:
      return 8;
    case TP::FLOAT:
    case TP::INT32:
    case TP::UINT32:
      return 4;
    case TP::FLOAT16:
    case TP::BFLOAT16:
    case TP::INT16:
    case TP::UINT16:
      return 2;
    default:
      return 1;
  }
}

}  // namespace

Expected<DType> dtype_from_onnx(int t) {
  using TP = onnx::TensorProto;
  switch (t) {
    case TP::FLOAT:
    case TP::FLOAT16:
    case TP::BFLOAT16:
      return DType::kF32;
    case TP::DOUBLE:
      return DType::kF64;
    case TP::INT8:
    case TP::UINT8:
    case TP::INT16:
    case TP::UINT16:
    case TP::INT32:
    case TP::UINT32:
    case TP::INT64:
    case TP::UINT64:
    case TP::BOOL:
      return DType::kI64;
    default:
      return Status(ErrorCode::kUnsupported,
                    "ONNX element type " + std::to_string(t) + " (" + TP::DataType_Name(t) + ")");
  }
}

Expected<Tensor> tensor_from_proto(const onnx::TensorProto& p) {
  using TP = onnx::TensorProto;
  if (p.data_location() == TP::EXTERNAL || p.external_data_size() > 0)
    return Status(ErrorCode::kUnsupported,
                  "tensor '" + p.name() + "' stores its data in an external file");
  NNCERT_ASSIGN_OR_RETURN(DType dtype, dtype_from_onnx(p.data_type()));
  Shape shape(p.dims().begin(), p.dims().end());
  for (int64_t d : shape)
    if (d < 0)
      return Status(ErrorCode::kParseError,
                    "tensor '" + p.name() + "' has a negative dimension " + std::to_string(d));
  // The element count, checked before anything multiplies the extents (they come from the file
  // and their product can overflow int64).
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d != 0 && n > (int64_t{1} << 34) / d) {
      n = -1;
      break;
    }
    n *= d;
  }
  if (n < 0 || n > (int64_t{1} << 34))
    return Status(ErrorCode::kParseError,
                  "tensor '" + p.name() + "' " + shape_to_string(shape) + " is implausibly large");
  const bool raw = p.has_raw_data();
  const std::string& r = p.raw_data();
  if (raw) {
    const size_t elem = raw_element_size(p.data_type());
    if (elem > 1 && r.size() % elem != 0)
      return Status(ErrorCode::kParseError,
                    "tensor '" + p.name() + "' has " + std::to_string(r.size()) +
                        " bytes of raw data, not a whole number of " + std::to_string(elem) +
                        "-byte values");
  }
  std::vector<double> fvals;
  std::vector<int64_t> ivals;
  switch (p.data_type()) {
    case TP::FLOAT:
      if (raw) {
        auto v = raw_values<float>(r);
        fvals.assign(v.begin(), v.end());
      } else {
        fvals.assign(p.float_data().begin(), p.float_data().end());
      }
      break;
    case TP::DOUBLE:
      if (raw)
        fvals = raw_values<double>(r);
      else
        fvals.assign(p.double_data().begin(), p.double_data().end());
      break;
    case TP::FLOAT16:
    case TP::BFLOAT16: {
      std::vector<uint16_t> h;
      if (raw)
        h = raw_values<uint16_t>(r);
      else
        for (int32_t x : p.int32_data())
          h.push_back(static_cast<uint16_t>(x));
      for (uint16_t x : h)
        fvals.push_back(p.data_type() == TP::FLOAT16 ? half_to_float(x) : bf16_to_float(x));
      break;
    }
    case TP::INT64:
      if (raw)
        ivals = raw_values<int64_t>(r);
      else
        ivals.assign(p.int64_data().begin(), p.int64_data().end());
      break;
    case TP::UINT64:
      if (raw) {
        for (uint64_t x : raw_values<uint64_t>(r))
          ivals.push_back(static_cast<int64_t>(x));
      } else {
        for (uint64_t x : p.uint64_data())
          ivals.push_back(static_cast<int64_t>(x));
      }
      break;
    case TP::INT32:
      if (raw) {
        for (int32_t x : raw_values<int32_t>(r))
          ivals.push_back(x);
      } else {
        ivals.assign(p.int32_data().begin(), p.int32_data().end());
      }
      break;
    case TP::UINT32:
      if (raw) {
        for (uint32_t x : raw_values<uint32_t>(r))
          ivals.push_back(x);
      } else {
        for (uint64_t x : p.uint64_data())
          ivals.push_back(static_cast<int64_t>(x));
      }
      break;
    case TP::INT8:
    case TP::UINT8:
    case TP::INT16:
    case TP::UINT16:
    case TP::BOOL:
      if (raw) {
        const bool is16 = p.data_type() == TP::INT16 || p.data_type() == TP::UINT16;
        if (is16) {
          for (uint16_t x : raw_values<uint16_t>(r))
            ivals.push_back(p.data_type() == TP::INT16 ? static_cast<int16_t>(x) : x);
        } else {
          for (unsigned char x : r)
            ivals.push_back(p.data_type() == TP::INT8 ? static_cast<signed char>(x) : x);
        }
      } else {
        ivals.assign(p.int32_data().begin(), p.int32_data().end());
      }
      break;
    default:
      break;
  }
  const size_t got = dtype == DType::kI64 ? ivals.size() : fvals.size();
  if (static_cast<int64_t>(got) != n)
    return size_error(p, got, n);
  Tensor t(dtype, shape);
  if (dtype == DType::kI64) {
    if (n > 0)
      std::memcpy(t.raw(), ivals.data(), static_cast<size_t>(n) * 8);
  } else {
    for (int64_t i = 0; i < n; ++i)
      t.set(i, fvals[static_cast<size_t>(i)]);
  }
  return t;
}

int onnx_elem_type(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return onnx::TensorProto::FLOAT;
    case DType::kF64:
      return onnx::TensorProto::DOUBLE;
    case DType::kI64:
      return onnx::TensorProto::INT64;
  }
  NNCERT_CHECK(false, "unknown dtype");
  return onnx::TensorProto::UNDEFINED;
}

void tensor_to_proto(const Tensor& t, onnx::TensorProto* proto) {
  proto->set_data_type(onnx_elem_type(t.dtype()));
  proto->clear_dims();
  for (int64_t d : t.shape())
    proto->add_dims(d);
  // raw_data is little-endian whatever the host (ONNX's TensorProto contract).
  std::string raw(static_cast<const char*>(t.raw()), t.nbytes());
  if constexpr (std::endian::native == std::endian::big) {
    const size_t w = dtype_size(t.dtype());
    for (size_t i = 0; i + w <= raw.size(); i += w)
      std::reverse(raw.begin() + static_cast<std::ptrdiff_t>(i),
                   raw.begin() + static_cast<std::ptrdiff_t>(i + w));
  }
  proto->set_raw_data(std::move(raw));
}

void value_info_to_proto(const std::string& name,
                         DType dtype,
                         const Shape* shape,
                         onnx::ValueInfoProto* proto) {
  proto->set_name(name);
  auto* tt = proto->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx_elem_type(dtype));
  if (shape == nullptr)
    return;
  auto* sh = tt->mutable_shape();
  for (size_t i = 0; i < shape->size(); ++i) {
    auto* dim = sh->add_dim();
    if ((*shape)[i] >= 0)
      dim->set_dim_value((*shape)[i]);
    else
      dim->set_dim_param(i == 0 ? std::string("N") : name + "_d" + std::to_string(i));
  }
}

}  // namespace nncert
