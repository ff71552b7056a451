// Internals of the dataset frontend shared by its readers (not installed, not for other layers):
// whole-file reading with transparent gunzip, format sniffing, and the two in-memory forms the
// readers produce: a typed binary array (IDX, npy) read element by element on demand, and a
// table of float64 values (CSV, JSON).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "frontends/dataset/dataset.h"

namespace nncert::dataset {

// The whole file; when it starts with the gzip magic (1f 8b) the decompressed bytes.
// kIoError (missing, unreadable, a directory), kParseError (corrupt or truncated gzip stream).
Expected<std::string> read_file(const std::string& path);

// The format of (decompressed) file bytes: npy magic, IDX magic (two zero bytes),
// JSON ('{' or '[' first), otherwise CSV.
DatasetFormat sniff_format(const std::string& bytes);

enum class ElemType { kU8, kI8, kU16, kI16, kU32, kI32, kU64, kI64, kF32, kF64, kBool };
const char* elem_type_name(ElemType t);  // "u8", "i16", "f32", ...
size_t elem_size(ElemType t);
bool elem_is_float(ElemType t);

// A binary array: `shape` elements of `type` starting at bytes[offset], row-major.
struct RawArray {
  std::string bytes;
  size_t offset = 0;
  ElemType type = ElemType::kU8;
  bool big_endian = false;
  Shape shape;

  int64_t numel() const { return shape_numel(shape); }
  double get(int64_t i) const;       // element i as double
  int64_t get_int(int64_t i) const;  // element i of an integer / bool array
};

// Parse the header, check the data size against it (truncated or trailing bytes are
// kParseError naming `path`).
Expected<RawArray> parse_idx(std::string bytes, const std::string& path);
Expected<RawArray> parse_npy(std::string bytes, const std::string& path);
// Either, by magic bytes.
Expected<RawArray> parse_array(std::string bytes, const std::string& path);

// Samples as float64 values, n * numel(sample_shape) of them, and (when the file holds them)
// one label per sample.
struct Table {
  int64_t n = 0;
  Shape sample_shape;
  std::vector<double> values;
  std::vector<int64_t> labels;
  bool has_labels = false;
};

Expected<Table> parse_csv(const std::string& text,
                          const std::string& path,
                          const DatasetSource& source,
                          bool has_label_column);
Expected<Table> parse_json(const std::string& text, const std::string& path);

// v as an int64 label when it is an integral value in range.
bool integral_label(double v, int64_t& out);

}  // namespace nncert::dataset
