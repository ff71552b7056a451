// CSV: one sample per line, comma-separated numbers, one of the columns the label (python-like
// index, default 0) unless the labels come from a separate file. Blank lines are skipped; an
// optional header line is skipped (CsvHeader). Errors name path:line:column (1-based).
#include <charconv>
#include <cmath>
#include <limits>
#include <string_view>

#include "frontends/dataset/dataset_internal.h"

namespace nncert::dataset {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

bool parse_number(std::string_view s, double& out) {
  if (!s.empty() && s.front() == '+')
    s.remove_prefix(1);
  if (s.empty())
    return false;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

std::vector<std::string_view> split(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t start = 0;
  while (true) {
    const size_t comma = line.find(',', start);
    fields.push_back(trim(line.substr(start, comma - start)));
    if (comma == std::string_view::npos)
      break;
    start = comma + 1;
  }
  return fields;
}

}  // namespace

bool integral_label(double v, int64_t& out) {
  // 2^63 is exactly representable; anything at or above it does not fit int64.
  if (!std::isfinite(v) || v != std::floor(v) || std::abs(v) >= 9223372036854775808.0)
    return false;
  out = static_cast<int64_t>(v);
  return true;
}

Expected<Table> parse_csv(const std::string& text,
                          const std::string& path,
                          const DatasetSource& source,
                          bool has_label_column) {
  Table t;
  t.has_labels = has_label_column;
  std::string_view rest(text);
  int64_t line_no = 0;
  int64_t columns = -1, first_data_line = 0;
  size_t label_col = 0;
  bool first_line = true;
  while (!rest.empty()) {
    const size_t nl = rest.find('\n');
    const std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    ++line_no;
    if (trim(line).empty())
      continue;
    const auto fields = split(line);
    const std::string where = path + ":" + std::to_string(line_no) + ":";
    if (first_line) {
      first_line = false;
      double unused = 0;
      if (source.csv_header == CsvHeader::kPresent ||
          (source.csv_header == CsvHeader::kAuto && !parse_number(fields[0], unused)))
        continue;
    }
    const auto n_fields = static_cast<int64_t>(fields.size());
    if (columns < 0) {
      columns = n_fields;
      first_data_line = line_no;
      if (has_label_column) {
        const int64_t c =
            source.label_column < 0 ? source.label_column + columns : source.label_column;
        if (c < 0 || c >= columns)
          return Status(ErrorCode::kInvalidArgument,
                        where + " label column " + std::to_string(source.label_column) +
                            " is out of range for " + std::to_string(columns) + " columns");
        label_col = static_cast<size_t>(c);
      }
      if (columns - (has_label_column ? 1 : 0) <= 0)
        return Status(ErrorCode::kShapeMismatch, where + " no feature columns besides the label");
    } else if (n_fields != columns) {
      return Status(ErrorCode::kShapeMismatch,
                    where + " " + std::to_string(n_fields) + " columns, expected " +
                        std::to_string(columns) + " (as on line " +
                        std::to_string(first_data_line) + ")");
    }
    for (size_t c = 0; c < fields.size(); ++c) {
      const std::string at = where + std::to_string(c + 1) + ": ";
      double v = 0;
      if (!parse_number(fields[c], v))
        return Status(
            ErrorCode::kParseError,
            at + (fields[c].empty() ? std::string("empty field")
                                    : "'" + std::string(fields[c]) + "' is not a number"));
      if (has_label_column && c == label_col) {
        int64_t label = 0;
        if (!integral_label(v, label))
          return Status(ErrorCode::kParseError,
                        at + "label '" + std::string(fields[c]) + "' is not an integer");
        t.labels.push_back(label);
      } else {
        t.values.push_back(v);
      }
    }
    ++t.n;
  }
  if (t.n == 0)
    return Status(ErrorCode::kParseError, path + ": no data rows");
  t.sample_shape = {columns - (has_label_column ? 1 : 0)};
  return t;
}

}  // namespace nncert::dataset
