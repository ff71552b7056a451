// TensorProto <-> Tensor and ValueInfoProto conversion (internal to the ONNX frontend and its
// test helpers; includes protobuf headers).
#pragma once

#include <string>

#include <onnx/onnx-ml.pb.h>

#include "core/status.h"
#include "core/tensor.h"

namespace nncert {

// float/float16/bfloat16 -> float32, double -> float64, every integer type and bool -> int64.
Expected<Tensor> tensor_from_proto(const onnx::TensorProto& proto);
// ONNX elem_type -> nncert dtype (kUnsupported for strings, complex, ...).
Expected<DType> dtype_from_onnx(int elem_type);

// nncert dtype -> ONNX elem_type (FLOAT, DOUBLE, INT64).
int onnx_elem_type(DType dtype);
// Writes t into proto (dtype, dims, raw_data little-endian); leaves the name alone.
void tensor_to_proto(const Tensor& t, onnx::TensorProto* proto);
// Writes a tensor ValueInfo: name, elem_type and, when shape is given, the shape. An unknown
// extent (-1) becomes a symbolic dimension: "N" on axis 0 (the batch, shared by the inputs and
// outputs of a model), "<name>_d<axis>" elsewhere (distinct, so no equality is claimed).
void value_info_to_proto(const std::string& name,
                         DType dtype,
                         const Shape* shape,
                         onnx::ValueInfoProto* proto);

}  // namespace nncert
