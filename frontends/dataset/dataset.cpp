// load_dataset: reads the samples with the reader of their format, the labels (from the same file
// or a second array file), checks that they match, then selects the range and scales.
#include "frontends/dataset/dataset.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <new>
#include <optional>
#include <string_view>

#include "frontends/dataset/dataset_internal.h"

namespace nncert {

using dataset::RawArray;
using dataset::Table;

const char* dataset_format_name(DatasetFormat format) {
  switch (format) {
    case DatasetFormat::kAuto:
      return "auto";
    case DatasetFormat::kIdx:
      return "idx";
    case DatasetFormat::kNpy:
      return "npy";
    case DatasetFormat::kCsv:
      return "csv";
    case DatasetFormat::kJson:
      return "json";
  }
  return "?";
}

Expected<DatasetFormat> parse_dataset_format(const std::string& name) {
  for (DatasetFormat f : {DatasetFormat::kAuto,
                          DatasetFormat::kIdx,
                          DatasetFormat::kNpy,
                          DatasetFormat::kCsv,
                          DatasetFormat::kJson})
    if (name == dataset_format_name(f))
      return f;
  return Status(ErrorCode::kInvalidArgument,
                "unknown dataset format '" + name + "' (auto, idx, npy, csv, json)");
}

namespace {

bool parse_index(std::string_view s, std::optional<int64_t>& out) {
  while (!s.empty() && s.front() == ' ')
    s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ')
    s.remove_suffix(1);
  if (s.empty()) {
    out.reset();
    return true;
  }
  if (s.front() == '+')
    s.remove_prefix(1);
  int64_t v = 0;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size())
    return false;
  out = v;
  return true;
}

// Python's slice clamping of one end.
int64_t clamp_end(int64_t v, int64_t n) {
  if (v < 0)
    return std::max<int64_t>(0, v + n);
  return std::min(v, n);
}

}  // namespace

Expected<SampleRange> parse_sample_range(const std::string& text) {
  const auto bad = [&](const std::string& why) {
    return Status(ErrorCode::kInvalidArgument,
                  "bad sample range '" + text + "': " + why +
                      " (expected begin:end as in Python, e.g. 0:100, :50, -10:, or one index)");
  };
  SampleRange r;
  const size_t colon = text.find(':');
  if (colon == std::string::npos) {
    if (!parse_index(text, r.begin))
      return bad("not an integer");
    r.single = r.begin.has_value();
    return r;
  }
  if (text.find(':', colon + 1) != std::string::npos)
    return bad("steps are not supported");
  if (!parse_index(std::string_view(text).substr(0, colon), r.begin) ||
      !parse_index(std::string_view(text).substr(colon + 1), r.end))
    return bad("not an integer");
  return r;
}

Expected<std::pair<int64_t, int64_t>> SampleRange::resolve(int64_t n) const {
  if (single) {
    if (!begin)
      return Status(ErrorCode::kInvalidArgument, "a single-index sample range needs its index");
    const int64_t i = *begin < 0 ? *begin + n : *begin;
    if (i < 0 || i >= n)
      return Status(ErrorCode::kInvalidArgument,
                    "sample index " + std::to_string(*begin) + " is out of range for " +
                        std::to_string(n) + " samples");
    return std::pair<int64_t, int64_t>{i, i + 1};
  }
  const int64_t b = begin ? clamp_end(*begin, n) : 0;
  const int64_t e = end ? clamp_end(*end, n) : n;
  return std::pair<int64_t, int64_t>{b, std::max(b, e)};
}

std::string SampleRange::to_string() const {
  if (single)
    return std::to_string(*begin);
  return (begin ? std::to_string(*begin) : "") + ":" + (end ? std::to_string(*end) : "");
}

Status DatasetSource::validate() const {
  if (path.empty())
    return {ErrorCode::kInvalidArgument, "no dataset path given"};
  if (scale && !(std::isfinite(*scale) && *scale > 0))
    return {ErrorCode::kInvalidArgument,
            "dataset scale must be a positive finite number, got " + std::to_string(*scale)};
  if (range.single && !range.begin)
    return {ErrorCode::kInvalidArgument, "a single-index sample range needs its index"};
  return Status::ok();
}

namespace {

// Labels from an IDX / npy array of shape [N] or [N, 1].
Expected<std::vector<int64_t>> read_label_array(const std::string& path) {
  NNCERT_ASSIGN_OR_RETURN(std::string bytes, dataset::read_file(path));
  NNCERT_ASSIGN_OR_RETURN(RawArray a, dataset::parse_array(std::move(bytes), path));
  if (a.shape.empty() || a.shape.size() > 2 || (a.shape.size() == 2 && a.shape[1] != 1))
    return Status(ErrorCode::kShapeMismatch,
                  path + ": labels must have shape [N] or [N, 1], not " + shape_to_string(a.shape));
  std::vector<int64_t> labels(static_cast<size_t>(a.shape[0]));
  for (int64_t i = 0; i < a.shape[0]; ++i) {
    int64_t v = 0;
    if (dataset::elem_is_float(a.type)) {
      if (!dataset::integral_label(a.get(i), v))
        return Status(ErrorCode::kParseError,
                      path + ": label " + std::to_string(i) + " (" + std::to_string(a.get(i)) +
                          ") is not an integer");
    } else {
      v = a.get_int(i);
    }
    labels[static_cast<size_t>(i)] = v;
  }
  return labels;
}

// The samples of the file in one of two forms, before range selection and scaling.
struct Loaded {
  int64_t n = 0;
  Shape sample_shape;
  std::optional<RawArray> array;  // IDX / npy
  Table table;                    // CSV / JSON
  std::vector<int64_t> labels;
  bool u8 = false;
};

Expected<Loaded> read_samples(const DatasetSource& src, DatasetFormat format, std::string bytes) {
  Loaded l;
  const std::string& path = src.path;
  if (format == DatasetFormat::kIdx || format == DatasetFormat::kNpy) {
    if (src.labels_path.empty())
      return Status(
          ErrorCode::kInvalidArgument,
          path + ": " + dataset_format_name(format) + " samples need a labels file (IDX or npy)");
    NNCERT_ASSIGN_OR_RETURN(RawArray a,
                            format == DatasetFormat::kIdx
                                ? dataset::parse_idx(std::move(bytes), path)
                                : dataset::parse_npy(std::move(bytes), path));
    if (a.shape.empty())
      return Status(ErrorCode::kShapeMismatch,
                    path + ": a 0-d array; samples need a leading sample dimension");
    l.n = a.shape[0];
    l.sample_shape.assign(a.shape.begin() + 1, a.shape.end());
    l.u8 = a.type == dataset::ElemType::kU8;
    l.array = std::move(a);
  } else if (format == DatasetFormat::kCsv) {
    NNCERT_ASSIGN_OR_RETURN(l.table, dataset::parse_csv(bytes, path, src, src.labels_path.empty()));
  } else {
    if (!src.labels_path.empty())
      return Status(ErrorCode::kInvalidArgument,
                    path + ": JSON datasets hold their labels; do not give a labels file");
    NNCERT_ASSIGN_OR_RETURN(l.table, dataset::parse_json(bytes, path));
  }
  if (!l.array) {
    l.n = l.table.n;
    l.sample_shape = l.table.sample_shape;
    l.labels = std::move(l.table.labels);
  }
  if (!src.labels_path.empty()) {
    NNCERT_ASSIGN_OR_RETURN(l.labels, read_label_array(src.labels_path));
  }
  return l;
}

Status check_samples(const DatasetSource& src, const Loaded& l) {
  const std::string labels_from = src.labels_path.empty() ? src.path : src.labels_path;
  if (l.n == 0)
    return {ErrorCode::kParseError, src.path + ": no samples"};
  if (shape_numel(l.sample_shape) <= 0)
    return {ErrorCode::kShapeMismatch,
            src.path + ": samples of shape " + shape_to_string(l.sample_shape) + " hold no values"};
  if (static_cast<int64_t>(l.labels.size()) != l.n)
    return {ErrorCode::kShapeMismatch,
            labels_from + ": " + std::to_string(l.labels.size()) + " labels for " +
                std::to_string(l.n) + " samples in " + src.path};
  for (size_t i = 0; i < l.labels.size(); ++i)
    if (l.labels[i] < 0)
      return {ErrorCode::kParseError,
              labels_from + ": label of sample " + std::to_string(i) + " is negative (" +
                  std::to_string(l.labels[i]) + ")"};
  return Status::ok();
}

Expected<Dataset> load(const DatasetSource& src) {
  NNCERT_RETURN_IF_ERROR(src.validate());
  NNCERT_ASSIGN_OR_RETURN(std::string bytes, dataset::read_file(src.path));
  const DatasetFormat format =
      src.format == DatasetFormat::kAuto ? dataset::sniff_format(bytes) : src.format;
  NNCERT_ASSIGN_OR_RETURN(Loaded l, read_samples(src, format, std::move(bytes)));
  NNCERT_RETURN_IF_ERROR(check_samples(src, l));
  NNCERT_ASSIGN_OR_RETURN(auto range, src.range.resolve(l.n));

  Dataset d;
  d.shape = l.sample_shape;
  d.first_index = range.first;
  d.file_samples = l.n;
  d.format = format;
  d.raw_u8 = l.u8;
  // The default u8 scale divides by 255 (correctly rounded, as torchvision's ToTensor computes
  // in float64) rather than multiplying by the rounded 1/255.
  const bool div255 = !src.scale && l.u8;
  d.scale = src.scale.value_or(l.u8 ? 1.0 / 255.0 : 1.0);
  const int64_t dim = shape_numel(l.sample_shape);
  d.x.reserve(static_cast<size_t>(range.second - range.first));
  for (int64_t i = range.first; i < range.second; ++i) {
    std::vector<double> x(static_cast<size_t>(dim));
    for (int64_t k = 0; k < dim; ++k) {
      const int64_t at = i * dim + k;
      const double raw = l.array ? l.array->get(at) : l.table.values[static_cast<size_t>(at)];
      const double v = div255 ? raw / 255.0 : raw * d.scale;
      if (!std::isfinite(v))
        return Status(ErrorCode::kParseError,
                      src.path + ": sample " + std::to_string(i) + ", value " + std::to_string(k) +
                          " is not finite (" + std::to_string(raw) + ")");
      x[static_cast<size_t>(k)] = v;
    }
    d.x.push_back(std::move(x));
    d.labels.push_back(l.labels[static_cast<size_t>(i)]);
  }
  return d;
}

}  // namespace

Expected<Dataset> load_dataset(const DatasetSource& source) {
  try {
    return load(source);
  } catch (const std::bad_alloc&) {
    return Status(ErrorCode::kOutOfMemory, "out of memory loading dataset '" + source.path + "'");
  }
}

}  // namespace nncert
