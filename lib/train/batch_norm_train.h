// Training-mode BatchNorm. The model graph keeps BatchNormalization in inference form (running
// mean and variance as constants), which is what is exported and verified. For training, the
// trainer runs a copy of the graph in which every BatchNormalization is replaced by its
// batch-statistics form (Ioffe & Szegedy 2015), differentiated through the statistics:
//   mu = mean_{N,spatial}(x), var = mean_{N,spatial}((x - mu)^2),
//   y = scale * (x - mu) / sqrt(var + eps) + bias.
// The running statistics are then population statistics ("precise BN", as Shi et al. 2021's
// --use-pop-bn-stats): the mean and variance of each BN input over a fixed slice of the training
// data, recomputed from the parameters at each epoch end, so they need no checkpoint state.
#pragma once

#include <cstdint>
#include <vector>

#include "core/status.h"
#include "graph/graph.h"
#include "runtime/executor.h"
#include "train/data_loader.h"
#include "train/model_builder.h"

namespace nncert {

struct TrainingGraph {
  Graph graph;  // shares constant storage with the model: optimiser updates show in both
  // Per BatchNormalization node of the model, in node order: its input in `graph`, and the
  // model's running mean and variance constants.
  std::vector<ValueId> bn_inputs;
  std::vector<ValueId> running_means, running_vars;
  bool has_batch_norm() const { return !bn_inputs.empty(); }
};

// The batch-statistics copy of the model graph. Value ids of the model stay valid in it (so
// model.params index both). Errors: kUnsupported (a BatchNormalization of unknown input rank).
Expected<TrainingGraph> make_training_graph(const Model& model);

// Sets every running mean / variance of the model to the population statistics of its input
// over samples [0, samples) of `data` (file order, in batches), computed on `tg.graph`.
Status update_population_statistics(Model& model,
                                    const TrainingGraph& tg,
                                    const DataLoader& data,
                                    const RunOptions& run,
                                    int64_t samples = 2048);

}  // namespace nncert
