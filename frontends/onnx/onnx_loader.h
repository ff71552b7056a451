// ONNX frontend: reads a .onnx file (opsets 9-18 of the default domain) into an nncert Graph.
// Older attribute forms of ops are rewritten to the newest input forms, Constant nodes and
// initializers become constant values (initializers that older exporters also list as graph
// inputs are constants, not model inputs), and the graph is prepared (validated, shape-inferred,
// constant-folded) unless the options say otherwise. No protobuf types appear in this header.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "graph/graph.h"
#include "passes/passes.h"

namespace nncert {

struct OnnxLoadOptions {
  bool prepare = true;  // run prepare_graph (validation, shapes, folding)
  PrepareOptions prepare_options;
};

struct OnnxModel {
  Graph graph;
  std::vector<std::string> warnings;  // non-fatal findings: NaN weights, ignored attributes
  PrepareReport prepare_report;
  int64_t ir_version = 0;
};

// Errors: kIoError (missing/unreadable file), kParseError (not a valid ONNX protobuf, bad
// tensor data), kUnsupported (every unsupported node listed), kInvalidGraph, kShapeMismatch.
Expected<OnnxModel> load_onnx(const std::string& path, const OnnxLoadOptions& options = {});
// Same, from the serialized bytes (used by the fuzzer and tests).
Expected<OnnxModel> load_onnx_bytes(const std::string& bytes, const OnnxLoadOptions& options = {});

}  // namespace nncert
