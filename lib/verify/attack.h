// Falsification: search for an input of a property's region whose outputs are unsafe, by random
// sampling and projected gradient descent (PGD) on the runtime. Anything found is re-executed in
// float64 and checked against the property (region membership and the unsafe term, without
// tolerance) before it is returned: a counterexample from here is a real one.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "core/status.h"
#include "graph/graph.h"
#include "spec/property.h"

namespace nncert {

class DenseChain;

struct AttackOptions {
  int random_samples = 64;  // uniform points per region (first: the region's centre)
  int restarts = 8;         // PGD starts per region (random points of the region)
  int steps = 20;           // PGD steps per start
  double step = 0.25;       // first step, relative to the region's radius; decays to 1/10
  uint64_t seed = 1;
  int threads = 0;
  double max_seconds = 0;  // time budget of the whole search (0 = none)
  // More PGD starts, tried before the random ones (projected into each region): e.g. the
  // points where a bound's linear relaxation is attained (ReLU BaB's re-attack).
  std::vector<std::vector<double>> starts;
  std::function<bool()> should_stop;  // polled between batches; stops the search (not an error)
};

struct Counterexample {
  int64_t case_index = -1;    // which region of the property
  int64_t term_index = -1;    // which unsafe term the outputs satisfy
  std::vector<double> x;      // flat input (row-major over the first graph input)
  std::vector<double> y;      // flat outputs computed in float64 from x
  const char* found_by = "";  // "random" or "pgd"
};

// A model prepared for repeated evaluation: the graph specialised to one sample, and (when the
// first input has a batch axis) a copy specialised to `batch` samples for batched search.
class AttackModel {
 public:
  // `g` must be prepared and specialised to one sample; its first input receives the property's
  // x (reshaped), the first output gives y.
  // The batch should match AttackOptions::restarts (every PGD start is one row).
  static Expected<AttackModel> create(const Graph& g, int64_t batch = 8, int threads = 0);

  // Outputs (flat, float64 computation) for one input.
  Expected<std::vector<double>> evaluate(const std::vector<double>& x) const;

  const Graph& single() const { return single_; }
  const Graph& batched() const { return batch_ > 1 ? batched_ : single_; }
  int64_t batch() const { return batch_; }
  int64_t num_inputs() const { return n_in_; }
  int64_t num_outputs() const { return n_out_; }
  int threads() const { return threads_; }
  // The graph as a dense ReLU chain (bounds/dense_chain.h), or null when it is not one (or its
  // forward pass disagreed with the runtime's on random inputs).
  const DenseChain* dense_chain() const { return chain_.get(); }

 private:
  Graph single_, batched_;
  std::shared_ptr<const DenseChain> chain_;
  int64_t batch_ = 1;
  int64_t n_in_ = 0, n_out_ = 0;
  int threads_ = 0;
};

// Re-executes x in float64 and checks that it lies in region `case_index` and that its outputs
// satisfy an unsafe term of that region. Returns the checked counterexample, or nullopt.
Expected<std::optional<Counterexample>> check_counterexample(const AttackModel& m,
                                                             const Property& p,
                                                             int64_t case_index,
                                                             const std::vector<double>& x);

// Random sampling then PGD over every region of the property (regions in `cases`, or all when
// empty). Returns the first checked counterexample, or nullopt when none was found.
Expected<std::optional<Counterexample>> attack(const AttackModel& m,
                                               const Property& p,
                                               const AttackOptions& options,
                                               const std::vector<int64_t>& cases = {});

}  // namespace nncert
