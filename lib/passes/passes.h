// Graph passes that need the op table: op validation, shape inference, constant folding,
// BatchNormalization folding, and the standard preparation pipeline every frontend runs.
// (They live above lib/ops rather than in lib/graph because they call op rules; see
// docs/decisions/0001-passes-layer.md.)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "graph/graph.h"

namespace nncert {

// What an analysis needs from every op. Later layers add kIbp, kCrown, ...
enum class Capability { kForward };

// Nodes whose op type is unknown or lacks the capability, in node order.
std::vector<NodeId> unsupported_nodes(const Graph& g, Capability cap);
// kUnsupported listing every such node as 'name' (Op) in one message; also checks input counts.
Status validate_ops(const Graph& g, Capability cap);

// The most elements one tensor may have (8 GiB of float32). Shape inference refuses larger
// tensors (kOutOfMemory, naming the node) before anything allocates them, and frontends refuse
// larger graph inputs: a few bytes of a model file must not be able to demand terabytes.
inline constexpr int64_t kMaxTensorElements = int64_t{1} << 31;

// Infers dtype and shape of every value in topological order (unknown extents stay -1).
// Errors name the node: "node 'conv1' (Conv): channels of X (3) != W's C*group (4)".
Status infer_shapes(Graph& g);

// Replaces nodes whose inputs are all constant (and Shape nodes of statically shaped values) by
// constant values; returns how many nodes were folded. Runs infer_shapes first.
Expected<int> fold_constants(Graph& g);

// Folds BatchNormalization nodes that directly follow a Conv or Gemm (whose output nothing else
// reads) into that node's weights and bias; returns how many were folded.
Expected<int> fold_batchnorm(Graph& g);

// Names of constants holding NaN or Inf values (for a warning; not an error by itself).
std::vector<std::string> nonfinite_constants(const Graph& g);

// Fixes the graph input shapes (e.g. a dynamic batch to 1) and re-runs inference and folding,
// so that Shape -> Gather -> ... -> Reshape chains become constants.
Status specialize_inputs(Graph& g, const std::vector<Shape>& shapes);

struct PrepareOptions {
  bool fold_constants = true;
  bool fold_batchnorm = false;
};
struct PrepareReport {
  int folded_constants = 0;
  int folded_batchnorms = 0;
  std::vector<std::string> warnings;  // e.g. non-finite weights
};
// check_structure -> validate_ops(kForward) -> infer_shapes -> folding -> prune_unused.
Expected<PrepareReport> prepare_graph(Graph& g, const PrepareOptions& options = {});

}  // namespace nncert
