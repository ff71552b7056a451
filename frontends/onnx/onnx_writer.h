// ONNX export: writes an nncert Graph as a .onnx model (ModelProto) that nncert and other ONNX
// consumers load back. Graph inputs and outputs become typed ValueInfos (unknown extents become
// symbolic dimensions), constants used by nodes or listed as outputs become initializers
// (raw_data, little-endian), nodes keep their attributes. The frontend's input forms of
// Squeeze/Unsqueeze/ReduceSum/ReduceMean/Split/Slice/Pad/Clip are turned back into attributes
// when the written opset predates them, so a model loaded from opset 11 is written as opset 11.
// ONNX float attributes are float32: a float64 attribute value is rounded to float32.
// No protobuf types appear in this header.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"
#include "graph/graph.h"

namespace nncert {

struct OnnxSaveOptions {
  // Default-domain opset written; 0: the graph's own (g.opset), or kDefaultOpset when that is 0.
  int64_t opset = 0;
  int64_t ir_version = 8;  // IR 8: ONNX 1.10-1.12, opsets up to 18
  std::string producer_name = "nncert";
  std::string producer_version;  // empty: nncert's version
  static constexpr int64_t kDefaultOpset = 17;
};

// Serialized ModelProto bytes. Errors: kUnsupported (an input form that the written opset cannot
// express, e.g. Squeeze with computed axes at opset < 13), kInvalidGraph (a graph input or output
// id out of range, a value without a name).
Expected<std::string> save_onnx_bytes(const Graph& g, const OnnxSaveOptions& options = {});
// Same, written to `path`. Errors as above, plus kIoError when the file cannot be written.
Status save_onnx(const Graph& g, const std::string& path, const OnnxSaveOptions& options = {});

}  // namespace nncert
