// Where verify-model verify's properties come from: VNNLIB files, a VNN-COMP instances.csv, or
// a dataset with eps/norm (robustness of every sample). Each becomes a Job.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "frontends/dataset/dataset.h"
#include "graph/graph.h"
#include "spec/property.h"

namespace CLI {
class App;
}

namespace nncert::cli {

// Per-channel (or scalar) normalisation the model expects: it sees (x - mean) / std.
struct NormalizeSpec {
  std::vector<double> mean, std;
};

struct Job {
  std::string model;
  std::optional<NormalizeSpec> normalize;  // prepended to the model (dataset properties)
  std::string property_path;               // VNNLIB file (loaded when the job runs)
  std::shared_ptr<Property> property;      // or a property built up front
  // or built once the model is loaded (dataset samples need the model's class count)
  std::function<Expected<Property>(int64_t num_outputs)> build;
  bool dataset = false;  // a dataset robustness property (verified accuracy counts it)
  std::string name;
  nlohmann::json source;
  double timeout_s = 0;

  static Job vnnlib(const std::string& model, const std::string& path, double timeout_s);
};

// Rows 'onnx,vnnlib,timeout' (VNN-COMP instances.csv, no header; paths relative to the file's
// folder). A positive `timeout_override` replaces the rows' timeouts.
Expected<std::vector<Job>> jobs_from_instances(const std::string& csv, double timeout_override);

struct DatasetSpecOptions {
  std::string path;               // --dataset
  std::string labels;             // --labels (IDX / npy labels file; CSV without label column)
  std::string format = "auto";    // --dataset-format auto|idx|npy|csv|json
  double eps = 0;                 // --eps
  std::string norm = "inf";       // --norm inf|2|1
  std::vector<double> mean, std;  // --mean, --std (the model sees (x - mean) / std)
  std::vector<double> clip;       // --clip LO HI (default: the data's range)
  bool no_clip = false;           // --no-clip
  std::string samples = "0:100";  // --samples BEGIN:END
  double scale = 0;               // --scale (0: the format's default; u8 data / 255)
  int64_t label_column = 0;       // --label-column (CSV; -1 = last)
};

// Registers the dataset flags; `robustness` adds --eps and --norm (verify), which `manipulate`
// does not take.
void add_dataset_options(CLI::App& sub, DatasetSpecOptions& o, bool robustness = true);
nlohmann::json dataset_options_json(const DatasetSpecOptions& o, bool robustness = true);

// The selected samples of a dataset, their value range and the normalisation the model expects.
struct DatasetSelection {
  std::shared_ptr<Dataset> data;
  std::optional<double> clip_lo, clip_hi;  // --clip, else the data's range; none with --no-clip
  std::optional<NormalizeSpec> normalize;  // --mean / --std
};
// Loads the samples --samples selects (kInvalidArgument when none), with the range and the
// validated normalisation.
Expected<DatasetSelection> select_dataset(const DatasetSpecOptions& o);

// One robustness property per selected sample (with the normalisation to prepend, if any).
Expected<std::vector<Job>> jobs_from_dataset(const std::string& model,
                                             const DatasetSpecOptions& o,
                                             double timeout_s);

// Prepends (x - mean) / std to the model's first input, so the perturbation is in data space.
Status apply_normalization(Graph& g, const NormalizeSpec& norm);

}  // namespace nncert::cli
