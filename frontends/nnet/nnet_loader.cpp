#include "frontends/nnet/nnet_loader.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace nncert {

namespace {

struct Token {
  double value;
  int line;
};

Status parse_error(int line, const std::string& msg) {
  return {ErrorCode::kParseError, "line " + std::to_string(line) + ": " + msg};
}

// Numbers separated by commas and/or whitespace; lines starting with // are comments.
Expected<std::vector<Token>> tokenize(const std::string& text) {
  std::vector<Token> out;
  std::istringstream in(text);
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    size_t first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line.compare(first, 2, "//") == 0)
      continue;
    size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() &&
             (line[i] == ',' || line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
        ++i;
      if (i >= line.size())
        break;
      const char* start = line.c_str() + i;
      char* end = nullptr;
      errno = 0;
      double v = std::strtod(start, &end);
      if (end == start) {
        size_t j = i;
        while (j < line.size() && line[j] != ',' && line[j] != ' ')
          ++j;
        return parse_error(lineno, "expected a number, found '" + line.substr(i, j - i) + "'");
      }
      if (!std::isfinite(v))
        return parse_error(lineno, "non-finite number");
      out.push_back({v, lineno});
      i += static_cast<size_t>(end - start);
    }
  }
  return out;
}

class Reader {
 public:
  explicit Reader(std::vector<Token> t) : t_(std::move(t)) {}
  Expected<double> next(const char* what) {
    if (pos_ >= t_.size())
      return parse_error(t_.empty() ? 0 : t_.back().line,
                         std::string("unexpected end of file while reading ") + what);
    return t_[pos_++].value;
  }
  Expected<int64_t> next_int(const char* what, int64_t lo, int64_t hi) {
    const int line = pos_ < t_.size() ? t_[pos_].line : 0;
    NNCERT_ASSIGN_OR_RETURN(double v, next(what));
    if (v != std::floor(v) || v < static_cast<double>(lo) || v > static_cast<double>(hi))
      return parse_error(line,
                         std::string(what) + " must be an integer in [" + std::to_string(lo) +
                             ", " + std::to_string(hi) + "], got " + std::to_string(v));
    return static_cast<int64_t>(v);
  }
  Expected<std::vector<double>> vec(size_t n, const char* what) {
    if (n > t_.size() - pos_)
      return parse_error(t_.back().line,
                         std::string("the file ends before all ") + what + " (" +
                             std::to_string(n) + " values) are read");
    std::vector<double> v(n);
    for (size_t i = 0; i < n; ++i) {
      NNCERT_ASSIGN_OR_RETURN(v[i], next(what));
    }
    return v;
  }
  bool done() const { return pos_ >= t_.size(); }
  int line() const { return pos_ < t_.size() ? t_[pos_].line : 0; }

 private:
  std::vector<Token> t_;
  size_t pos_ = 0;
};

ValueId add_node(Graph& g,
                 const std::string& op,
                 const std::string& name,
                 std::vector<ValueId> inputs,
                 Attributes attrs = {}) {
  Node n;
  n.op = op;
  n.name = name;
  n.inputs = std::move(inputs);
  n.attrs = std::move(attrs);
  n.outputs.push_back(g.add_value(g.unique_name(name + "_out"), DType::kF32, {}, false));
  const ValueId out = n.outputs[0];
  g.add_node(std::move(n));
  return out;
}

Tensor row(const std::vector<double>& v, size_t n) {
  return Tensor::from_vector<double>(
      {1, static_cast<int64_t>(n)},
      std::vector<double>(v.begin(), v.begin() + static_cast<long>(n)));
}

}  // namespace

Expected<NnetModel> load_nnet_text(const std::string& text, const NnetLoadOptions& options) {
  NNCERT_ASSIGN_OR_RETURN(auto tokens, tokenize(text));
  if (tokens.empty())
    return parse_error(0, "no numbers found: not an .nnet file");
  Reader r(std::move(tokens));
  NnetModel m;
  NNCERT_ASSIGN_OR_RETURN(int64_t num_layers, r.next_int("the number of layers", 1, 10000));
  NNCERT_ASSIGN_OR_RETURN(int64_t in_size, r.next_int("the input size", 1, 1 << 24));
  NNCERT_ASSIGN_OR_RETURN(int64_t out_size, r.next_int("the output size", 1, 1 << 24));
  NNCERT_ASSIGN_OR_RETURN(int64_t max_size, r.next_int("the maximum layer size", 1, 1 << 24));
  for (int64_t i = 0; i <= num_layers; ++i) {
    const int line = r.line();
    NNCERT_ASSIGN_OR_RETURN(int64_t s, r.next_int("a layer size", 1, 1 << 24));
    if (s > max_size)
      return parse_error(line, "a layer is larger than the declared maximum");
    m.layer_sizes.push_back(s);
  }
  if (m.layer_sizes.front() != in_size || m.layer_sizes.back() != out_size)
    return parse_error(0, "the first/last layer sizes do not match the input/output sizes");
  // The "symmetric" flag line (unused by the format's readers).
  NNCERT_RETURN_IF_ERROR(r.next("the flag line").status());
  const auto n_in = static_cast<size_t>(in_size);
  NNCERT_ASSIGN_OR_RETURN(m.input_min, r.vec(n_in, "input minimums"));
  const int max_line = r.line();
  NNCERT_ASSIGN_OR_RETURN(m.input_max, r.vec(n_in, "input maximums"));
  NNCERT_ASSIGN_OR_RETURN(m.means, r.vec(n_in + 1, "means"));
  const int range_line = r.line();
  NNCERT_ASSIGN_OR_RETURN(m.ranges, r.vec(n_in + 1, "ranges"));
  for (size_t i = 0; i < n_in; ++i)
    if (m.input_min[i] > m.input_max[i])
      return parse_error(max_line,
                         "input " + std::to_string(i) + " has minimum " +
                             std::to_string(m.input_min[i]) + " > maximum " +
                             std::to_string(m.input_max[i]));
  for (size_t i = 0; i < m.ranges.size(); ++i)
    if (m.ranges[i] == 0)
      return parse_error(range_line, "normalisation range " + std::to_string(i) + " is 0");

  Graph& g = m.graph;
  g.name = "nnet";
  ValueId x = g.add_value("input", DType::kF64, {1, in_size});
  g.inputs().push_back(x);
  if (options.normalize) {
    ValueId lo = g.add_constant("input_min", row(m.input_min, n_in));
    ValueId hi = g.add_constant("input_max", row(m.input_max, n_in));
    ValueId mean = g.add_constant("input_mean", row(m.means, n_in));
    ValueId range = g.add_constant("input_range", row(m.ranges, n_in));
    x = add_node(g, "Max", "clip_min", {x, lo});
    x = add_node(g, "Min", "clip_max", {x, hi});
    x = add_node(g, "Sub", "normalize_sub", {x, mean});
    x = add_node(g, "Div", "normalize_div", {x, range});
  }
  for (int64_t l = 0; l < num_layers; ++l) {
    const int64_t fan_in = m.layer_sizes[static_cast<size_t>(l)];
    const int64_t fan_out = m.layer_sizes[static_cast<size_t>(l + 1)];
    NNCERT_ASSIGN_OR_RETURN(auto w, r.vec(static_cast<size_t>(fan_in * fan_out), "weights"));
    NNCERT_ASSIGN_OR_RETURN(auto bias, r.vec(static_cast<size_t>(fan_out), "biases"));
    const std::string ln = "layer" + std::to_string(l);
    ValueId wid = g.add_constant(ln + "_weight", Tensor::from_vector<double>({fan_out, fan_in}, w));
    ValueId bid = g.add_constant(ln + "_bias", Tensor::from_vector<double>({fan_out}, bias));
    Attributes a;
    a.set("transB", int64_t{1});
    x = add_node(g, "Gemm", ln + "_gemm", {x, wid, bid}, a);
    if (l + 1 < num_layers)
      x = add_node(g, "Relu", ln + "_relu", {x});
  }
  if (!r.done())
    return parse_error(r.line(), "unexpected extra numbers after the last layer");
  if (options.normalize) {
    ValueId range = g.add_constant("output_range", Tensor::scalar(DType::kF64, m.ranges[n_in]));
    ValueId mean = g.add_constant("output_mean", Tensor::scalar(DType::kF64, m.means[n_in]));
    x = add_node(g, "Mul", "denormalize_mul", {x, range});
    x = add_node(g, "Add", "denormalize_add", {x, mean});
  }
  g.outputs().push_back(x);
  return m;
}

Expected<NnetModel> load_nnet(const std::string& path, const NnetLoadOptions& options) {
  std::ifstream f(path);
  if (!f)
    return Status(ErrorCode::kIoError, "cannot open '" + path + "'");
  std::ostringstream ss;
  ss << f.rdbuf();
  auto r = load_nnet_text(ss.str(), options);
  if (!r)
    return r.status().with_context(path);
  return r;
}

}  // namespace nncert
