// TensorProto <-> Tensor conversion (internal to the ONNX frontend; includes protobuf headers).
#pragma once

#include <onnx/onnx-ml.pb.h>

#include "core/status.h"
#include "core/tensor.h"

namespace nncert {

// float/float16/bfloat16 -> float32, double -> float64, every integer type and bool -> int64.
Expected<Tensor> tensor_from_proto(const onnx::TensorProto& proto);
// ONNX elem_type -> nncert dtype (kUnsupported for strings, complex, ...).
Expected<DType> dtype_from_onnx(int elem_type);

}  // namespace nncert
