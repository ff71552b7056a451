// `verify-model train CONFIG`: the training run described by a YAML or JSON file (model, data,
// optimiser, schedule, loss, epochs, batch, seed, threads, output folder; docs/training.md), and
// the run itself: OUT/train.jsonl (log), OUT/checkpoint (resumable state), OUT/model.onnx.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"
#include "frontends/dataset/dataset.h"
#include "train/data_loader.h"
#include "train/loss.h"
#include "train/model_builder.h"
#include "train/trainer.h"

namespace nncert {

struct TrainConfig {
  std::string model_json;  // the `model` object (model_builder.h), as JSON text
  InitOptions init;
  std::string dataset;      // "mnist", "fashion-mnist" or empty (then `source`)
  std::string dataset_dir;  // overrides the named dataset's folder
  std::string split = "train";
  DatasetSource source;  // its range also applies to named datasets
  DataLoaderOptions data;
  LossType loss = LossType::kNatural;
  std::string loss_json = "{}";  // the whole `loss` object, for the loss factory
  TrainOptions train;
  std::string out_dir = "train-out";
  bool resume = false;  // continue from OUT/checkpoint when it exists
};

// Reads a .yaml/.yml or .json file (YAML is read into the same JSON document). Relative paths
// in it are taken relative to the config file's folder. Errors: kIoError, kParseError,
// kInvalidArgument (unknown keys or values, naming the key).
Expected<TrainConfig> load_train_config(const std::string& path);
// Same, from text already parsed as JSON (tests).
Expected<TrainConfig> parse_train_config(const std::string& json_text, const std::string& base_dir);

struct TrainRunResult {
  TrainSummary summary;
  double final_accuracy = 0;  // clean accuracy on (up to 10,000 of) the training samples
  int64_t resumed_at = -1;    // the step the run resumed from (-1: a fresh run)
  std::string model_path, log_path, checkpoint_path;
};
// Builds the model and data, trains (resuming when asked), exports OUT/model.onnx.
Expected<TrainRunResult> run_training(const TrainConfig& config);

}  // namespace nncert
