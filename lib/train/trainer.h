// The training loop: epochs over shuffled batches, one Loss evaluation and one optimiser step a
// batch, a JSON-lines log, a progress line, and checkpoints (parameters, optimiser state, RNG
// state, position and running epoch statistics) from which a run resumes bit-identically for the
// same seed and thread count (kernels split work by shape, not by thread count, so in practice
// any thread count gives the same bits).
#pragma once

#include <cstdint>
#include <random>
#include <string>

#include "core/status.h"
#include "runtime/executor.h"
#include "train/batch_norm_train.h"
#include "train/data_loader.h"
#include "train/loss.h"
#include "train/model_builder.h"
#include "train/optimizer.h"

namespace nncert {

struct TrainOptions {
  int64_t epochs = 1;
  int64_t max_steps = 0;  // > 0: stop after this many optimiser steps in total (the LR
                          // schedule still spans `epochs`)
  uint64_t seed = 0;
  RunOptions run;  // dtype and threads of the forward/backward passes
  OptimizerOptions optimizer;
  ScheduleOptions schedule;
  std::string log_path;         // JSON-lines log (appended); empty: none
  int64_t log_every = 10;       // steps between step records in the log
  std::string checkpoint_path;  // written at each epoch end and when training stops; empty: none
  bool progress = false;        // progress line on stderr
  // BatchNorm: true: train with batch statistics and set the running statistics to population
  // statistics over `bn_samples` training samples at each epoch end (batch_norm_train.h);
  // false: keep BN in inference form (scale and shift learned, running statistics fixed).
  bool batch_statistics = true;
  int64_t bn_samples = 2048;
  Status validate() const;
};

struct TrainSummary {
  int64_t steps = 0;               // optimiser steps in total (resumed runs included)
  int64_t epochs = 0;              // completed epochs
  double last_loss = 0;            // mean loss of the last epoch (or of the steps so far in it)
  double train_accuracy = 0;       // clean accuracy over the same samples, measured while training
  double examples_per_second = 0;  // this call only
  double seconds = 0;
  std::string stop_reason;  // "epochs", "max_steps"
};

class Trainer {
 public:
  // The model, loss and data must outlive the trainer.
  Trainer(Model& model, Loss& loss, const DataLoader& data, TrainOptions options);

  // Trains until options.epochs are complete or options.max_steps is reached. Errors: those of
  // the loss, kIoError (log or checkpoint not writable), kRuntime (a non-finite loss).
  Expected<TrainSummary> train();

  // Errors: kIoError, kParseError (not a checkpoint, or one of another model or optimiser).
  Status save_checkpoint(const std::string& path) const;
  Status load_checkpoint(const std::string& path);

  int64_t step() const { return step_; }
  int64_t epoch() const { return epoch_; }
  std::mt19937_64& rng() { return rng_; }  // for losses that sample (seeded from options.seed)

 private:
  Status log_line(const std::string& json_line) const;
  Model* model_;
  Loss* loss_;
  const DataLoader* data_;
  TrainOptions options_;
  Optimizer optimizer_;
  std::mt19937_64 rng_;
  int64_t epoch_ = 0, batch_ = 0, step_ = 0;  // position: next batch to run
  double epoch_loss_ = 0;                     // sums over the current epoch so far
  int64_t epoch_correct_ = 0, epoch_seen_ = 0;
  // Certified losses: sum of the batches' "verified" fractions times their sizes, and the
  // examples those batches held (0 while no bounds ran, e.g. in the warm-up).
  double epoch_verified_ = 0;
  int64_t epoch_bounded_ = 0;
};

// Clean top-1 accuracy of the model on samples [0, limit) of `data` (limit <= 0: all).
Expected<double> evaluate_accuracy(const Graph& g,
                                   const DataLoader& data,
                                   const RunOptions& run,
                                   int64_t limit = 0);

}  // namespace nncert
