// Executes a prepared graph on the CPU: batched, in float32 or float64. The executor converts
// float constants to the run's precision once, runs nodes in topological order, and frees each
// intermediate tensor after its last use.
#pragma once

#include <memory>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "graph/graph.h"

namespace nncert {

struct RunOptions {
  DType dtype = DType::kF32;  // precision of all float math (kF32 or kF64)
  int threads = 0;            // 0: all hardware threads
  Status validate() const;
};

// Per-node timing/flop statistics of the last run (for benchmarks and `--profile`).
struct NodeStats {
  double seconds = 0;
  double flops = 0;
};

class Executor {
 public:
  // The graph must outlive the executor and should have been through prepare_graph().
  static Expected<Executor> create(const Graph& graph, const RunOptions& options = {});

  // Runs on one tensor per graph input (float inputs are converted to the run's dtype; a
  // dynamic dimension takes the given extent). Returns one tensor per graph output.
  Expected<std::vector<Tensor>> run(const std::vector<Tensor>& inputs);
  // Same, but returns the tensor of every value (indexed by ValueId; constants included) and
  // frees nothing: the tape that reverse-mode autodiff needs.
  Expected<std::vector<Tensor>> run_all(const std::vector<Tensor>& inputs);

  // Floating-point operations of the last run, per node (in node order of the graph).
  const std::vector<NodeStats>& last_stats() const { return stats_; }
  double last_flops() const;
  const RunOptions& options() const { return options_; }

 private:
  Executor(const Graph& graph, RunOptions options) : graph_(&graph), options_(options) {}
  Status execute(const std::vector<Tensor>& inputs, bool keep_all, std::vector<Tensor>& values);
  const Graph* graph_;
  RunOptions options_;
  std::vector<NodeId> order_;
  std::vector<Tensor> constants_;  // per value id: converted constant (invalid if none)
  std::vector<int> last_use_;      // per value id: index in order_ of its last reader
  std::vector<NodeStats> stats_;
  bool collect_stats_ = true;
};

}  // namespace nncert
