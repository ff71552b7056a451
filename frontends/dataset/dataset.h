// Dataset frontend: labelled samples for robustness properties (the `--dataset` input of
// `verify-model verify`). Reads IDX (MNIST's format), NumPy .npy, CSV and JSON files, gzipped or
// not, into float64 samples with int64 labels; a sample range selects a slice and a scale maps
// raw values (e.g. u8 pixels) into the range the model was trained on. docs/datasets.md has the
// formats and the scaling rules.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"

namespace nncert {

enum class DatasetFormat { kAuto, kIdx, kNpy, kCsv, kJson };

const char* dataset_format_name(DatasetFormat format);  // "auto", "idx", "npy", "csv", "json"
// The inverse (kInvalidArgument for other names).
Expected<DatasetFormat> parse_dataset_format(const std::string& name);

// A python-like slice of the samples: "begin:end" (either side may be omitted, negative values
// count from the end, out-of-range ends are clamped as in Python), or a single index "17"
// (which must exist). The default selects every sample.
struct SampleRange {
  std::optional<int64_t> begin, end;
  bool single = false;  // a single index (held in begin)

  // The concrete [first, last) for n samples. kInvalidArgument for a single index outside
  // [-n, n). A slice whose end precedes its begin is empty.
  Expected<std::pair<int64_t, int64_t>> resolve(int64_t n) const;
  std::string to_string() const;  // "3:10", ":", "-5:", "17"
};
// "0:100", ":50", "-10:", "17", ":" or "" (everything). kInvalidArgument otherwise.
Expected<SampleRange> parse_sample_range(const std::string& text);

enum class CsvHeader {
  kAuto,     // skip the first line when its first field is not a number
  kNone,     // every line is data (a non-numeric field is an error)
  kPresent,  // always skip the first line
};

struct DatasetSource {
  std::string path;  // the samples
  // IDX / npy: the labels (an IDX or npy array of shape [N] or [N, 1]; integer values).
  // CSV: optional; when given the CSV has no label column (every column is a feature).
  // JSON: must be empty (labels are inside the file).
  std::string labels_path;
  DatasetFormat format = DatasetFormat::kAuto;  // kAuto: by content (gzip, magic bytes, syntax)
  // CSV: the label column, python-like (0 first, -1 last).
  int64_t label_column = 0;
  CsvHeader csv_header = CsvHeader::kAuto;
  SampleRange range;
  // Every value is multiplied by `scale`. Default: u8 data (IDX type 0x08, npy |u1) is divided by
  // 255 (maps pixels to [0, 1]); every other type is left as it is. Set 1 to keep raw u8 values.
  std::optional<double> scale;

  Status validate() const;  // kInvalidArgument: no path, non-finite or non-positive scale
};

struct Dataset {
  std::vector<std::vector<double>> x;  // one flat (row-major) vector per sample
  std::vector<int64_t> labels;         // one per sample
  Shape shape;  // per-sample shape: IDX/npy: the dimensions after the first ({28, 28}); CSV:
                // {features}; JSON: the nested arrays' shape
  int64_t first_index = 0;                      // x[i] is sample first_index + i of the file
  int64_t file_samples = 0;                     // samples in the file (before the range)
  DatasetFormat format = DatasetFormat::kAuto;  // the format read
  double scale = 1;                             // the scale applied
  bool raw_u8 = false;                          // the data were u8

  int64_t size() const { return static_cast<int64_t>(x.size()); }
};

// Errors: kIoError (missing/unreadable file), kParseError (bad magic, truncated file or gzip
// stream, malformed header, non-numeric CSV field as path:line:column, non-integer label,
// non-finite value), kShapeMismatch (label count != sample count, ragged rows or samples),
// kUnsupported (Fortran-order or structured npy arrays, float16), kInvalidArgument (bad
// options, a single index out of range, a label column out of range).
Expected<Dataset> load_dataset(const DatasetSource& source);

}  // namespace nncert
