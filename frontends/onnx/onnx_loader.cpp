#include "frontends/onnx/onnx_loader.h"

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "frontends/onnx/onnx_tensor.h"

namespace nncert {

namespace {

Status parse_error(const std::string& msg) {
  return {ErrorCode::kParseError, msg};
}

Expected<AttrValue> convert_attribute(const onnx::AttributeProto& a) {
  using AP = onnx::AttributeProto;
  switch (a.type()) {
    case AP::FLOAT:
      return AttrValue(static_cast<double>(a.f()));
    case AP::INT:
      return AttrValue(static_cast<int64_t>(a.i()));
    case AP::STRING:
      return AttrValue(a.s());
    case AP::TENSOR: {
      NNCERT_ASSIGN_OR_RETURN(Tensor t, tensor_from_proto(a.t()));
      return AttrValue(std::move(t));
    }
    case AP::FLOATS:
      return AttrValue(std::vector<double>(a.floats().begin(), a.floats().end()));
    case AP::INTS:
      return AttrValue(std::vector<int64_t>(a.ints().begin(), a.ints().end()));
    case AP::STRINGS:
      return AttrValue(std::vector<std::string>(a.strings().begin(), a.strings().end()));
    case AP::UNDEFINED:
      // Some exporters omit the type field; infer it from what is set.
      if (a.has_f())
        return AttrValue(static_cast<double>(a.f()));
      if (a.has_i())
        return AttrValue(static_cast<int64_t>(a.i()));
      if (a.ints_size() > 0)
        return AttrValue(std::vector<int64_t>(a.ints().begin(), a.ints().end()));
      if (a.floats_size() > 0)
        return AttrValue(std::vector<double>(a.floats().begin(), a.floats().end()));
      if (a.has_s())
        return AttrValue(a.s());
      if (a.has_t()) {
        NNCERT_ASSIGN_OR_RETURN(Tensor t, tensor_from_proto(a.t()));
        return AttrValue(std::move(t));
      }
      return parse_error("attribute '" + a.name() + "' has no type and no value");
    default:
      return Status(ErrorCode::kUnsupported,
                    "attribute '" + a.name() + "' of type " + AP::AttributeType_Name(a.type()));
  }
}

// Graph builder state: value lookup by name, creating values on first mention.
class Builder {
 public:
  explicit Builder(Graph& g) : g_(g) {}
  ValueId value(const std::string& name) {
    if (name.empty())
      return kNoValue;
    ValueId id = g_.find_value(name);
    if (id == kNoValue)
      id = g_.add_value(name, DType::kF32, {}, false);
    return id;
  }
  ValueId constant(const std::string& prefix, Tensor t) {
    return g_.add_constant(g_.unique_name(prefix), std::move(t));
  }

 private:
  Graph& g_;
};

Tensor ints_tensor(const std::vector<int64_t>& v) {
  return Tensor::from_vector<int64_t>({static_cast<int64_t>(v.size())}, v);
}

// Rewrites the attribute forms of older opsets into the input forms of the newest opset, so each
// op implements one form. `opset` is the model's default-domain opset.
void canonicalize(Node& n, int64_t opset, Builder& b, std::vector<std::string>& warnings) {
  auto move_ints_to_input = [&](const char* attr, size_t input_index) {
    if (!n.attrs.has(attr))
      return;
    auto v = n.attrs.get_ints(attr);
    n.attrs.erase(attr);
    if (n.inputs.size() <= input_index)
      n.inputs.resize(input_index + 1, kNoValue);
    n.inputs[input_index] = b.constant(n.name + "_" + attr, ints_tensor(v));
  };
  const std::string& op = n.op;
  if ((op == "Squeeze" || op == "Unsqueeze") && opset < 13)
    move_ints_to_input("axes", 1);
  if (op == "ReduceSum" && opset < 13)
    move_ints_to_input("axes", 1);
  if (op == "ReduceMean" && opset < 18)
    move_ints_to_input("axes", 1);
  if (op == "Split" && opset < 13)
    move_ints_to_input("split", 1);
  if (op == "Slice" && opset < 10) {
    std::vector<int64_t> starts = n.attrs.get_ints("starts"), ends = n.attrs.get_ints("ends");
    std::vector<int64_t> axes = n.attrs.get_ints("axes");
    n.attrs.erase("starts");
    n.attrs.erase("ends");
    n.attrs.erase("axes");
    n.inputs.resize(1);
    n.inputs.push_back(b.constant(n.name + "_starts", ints_tensor(starts)));
    n.inputs.push_back(b.constant(n.name + "_ends", ints_tensor(ends)));
    if (!axes.empty())
      n.inputs.push_back(b.constant(n.name + "_axes", ints_tensor(axes)));
  }
  if (op == "Pad" && opset < 11) {
    auto pads = n.attrs.get_ints("pads");
    const double value = n.attrs.get_float("value", 0.0);
    n.attrs.erase("pads");
    n.attrs.erase("value");
    n.inputs.resize(1);
    n.inputs.push_back(b.constant(n.name + "_pads", ints_tensor(pads)));
    n.inputs.push_back(b.constant(n.name + "_value", Tensor::scalar(DType::kF32, value)));
  }
  if (op == "Clip" && opset < 11) {
    const bool has_min = n.attrs.has("min"), has_max = n.attrs.has("max");
    const double lo = n.attrs.get_float("min", -3.4028234663852886e38);
    const double hi = n.attrs.get_float("max", 3.4028234663852886e38);
    n.attrs.erase("min");
    n.attrs.erase("max");
    n.inputs.resize(1);
    n.inputs.push_back(has_min ? b.constant(n.name + "_min", Tensor::scalar(DType::kF32, lo))
                               : kNoValue);
    n.inputs.push_back(has_max ? b.constant(n.name + "_max", Tensor::scalar(DType::kF32, hi))
                               : kNoValue);
  }
  if (op == "Softmax" && opset < 13)
    n.attrs.set("legacy_2d", int64_t{1});
  if (op == "BatchNormalization") {
    n.attrs.erase("spatial");          // opset < 9: always 1 for the models we load
    n.attrs.erase("consumed_inputs");  // opset < 6
    n.attrs.erase("momentum");
  }
  if (op == "Dropout") {
    n.attrs.erase("ratio");
    n.attrs.erase("is_test");
    // The mask output is dropped when nothing reads it (checked after the graph is built).
  }
  (void)warnings;
}

Expected<Shape> shape_from_type(const onnx::ValueInfoProto& vi, bool* known) {
  *known = false;
  const onnx::TypeProto& type = vi.type();
  if (!type.has_tensor_type())
    return Shape{};
  const auto& tt = type.tensor_type();
  if (!tt.has_shape())
    return Shape{};
  Shape s;
  for (const auto& d : tt.shape().dim()) {
    // -1 (which some exporters write for a dynamic extent) means unknown, like a dim_param.
    if (d.has_dim_value() && d.dim_value() < -1)
      return parse_error("graph input '" + vi.name() + "' has a negative dimension " +
                         std::to_string(d.dim_value()));
    s.push_back(d.has_dim_value() ? d.dim_value() : -1);
  }
  int64_t elements = 1;  // of the known extents
  for (int64_t d : s) {
    if (d <= 0)
      continue;
    if (elements > kMaxTensorElements / d)
      return Status(ErrorCode::kOutOfMemory,
                    "graph input '" + vi.name() + "' has shape " + shape_to_string(s) +
                        ", more than the " + std::to_string(kMaxTensorElements) +
                        " elements a tensor may have");
    elements *= d;
  }
  *known = true;
  return s;
}

Expected<OnnxModel> build(const onnx::ModelProto& m, const OnnxLoadOptions& options) {
  OnnxModel out;
  Graph& g = out.graph;
  out.ir_version = m.ir_version();
  g.producer_name = m.producer_name();
  int64_t opset = 0;
  for (const auto& o : m.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx")
      opset = o.version();
  if (opset == 0) {
    if (m.opset_import_size() > 0 || !m.has_graph())
      return parse_error("the model imports no default-domain opset");
    opset = 9;  // very old files without opset_import
  }
  if (!m.has_graph())
    return parse_error("the model has no graph");
  const onnx::GraphProto& gp = m.graph();
  g.name = gp.name();
  g.opset = opset;
  Builder b(g);

  std::set<std::string> init_names;
  for (const auto& t : gp.initializer()) {
    if (t.name().empty())
      return parse_error("an initializer has no name");
    auto tensor = tensor_from_proto(t);
    if (!tensor)
      return tensor.status().with_context("initializer '" + t.name() + "'");
    if (init_names.count(t.name()))
      return parse_error("initializer '" + t.name() + "' repeats");
    g.add_constant(t.name(), std::move(*tensor));
    init_names.insert(t.name());
  }
  for (const auto& vi : gp.input()) {
    if (init_names.count(vi.name()))
      continue;  // an initializer listed as input: a constant
    if (vi.name().empty())
      return parse_error("a graph input has no name");
    if (g.find_value(vi.name()) != kNoValue)
      return parse_error("graph input '" + vi.name() + "' repeats");
    bool known = false;
    NNCERT_ASSIGN_OR_RETURN(Shape s, shape_from_type(vi, &known));
    DType dt = DType::kF32;
    if (vi.type().has_tensor_type() && vi.type().tensor_type().elem_type() != 0) {
      NNCERT_ASSIGN_OR_RETURN(dt, dtype_from_onnx(vi.type().tensor_type().elem_type()));
    }
    g.inputs().push_back(g.add_value(vi.name(), dt, s, known));
  }
  int counter = 0;
  std::map<std::string, int> op_counts;
  std::vector<std::string> domain_problems;
  for (const auto& np : gp.node()) {
    Node n;
    n.op = np.op_type();
    n.name = np.name().empty() ? n.op + "_" + std::to_string(op_counts[n.op]++) : np.name();
    if (!np.domain().empty() && np.domain() != "ai.onnx")
      n.op = np.domain() + "::" + n.op;
    ++counter;
    for (const auto& a : np.attribute()) {
      auto v = convert_attribute(a);
      if (!v)
        return v.status().with_context("node '" + n.name + "' (" + n.op + ")");
      n.attrs.set(a.name(), std::move(*v));
    }
    for (const auto& in : np.input())
      n.inputs.push_back(b.value(in));
    for (const auto& o : np.output())
      n.outputs.push_back(b.value(o));
    canonicalize(n, opset, b, out.warnings);
    g.add_node(std::move(n));
  }
  for (const auto& vo : gp.output()) {
    ValueId id = g.find_value(vo.name());
    if (id == kNoValue)
      return Status(ErrorCode::kInvalidGraph,
                    "graph output '" + vo.name() + "' is not produced by any node");
    g.outputs().push_back(id);
  }
  // Optional outputs nothing reads (Dropout's mask, BatchNormalization's running stats in old
  // exports, MaxPool's indices, LayerNormalization's statistics) are dropped so that ops see only
  // what is used. Ops whose output count carries meaning (Split) keep all of theirs.
  {
    std::set<ValueId> used(g.outputs().begin(), g.outputs().end());
    for (const auto& n : g.nodes())
      for (ValueId in : n.inputs)
        used.insert(in);
    for (size_t i = 0; i < g.num_nodes(); ++i) {
      Node& n = g.node(static_cast<NodeId>(i));
      if (n.op != "Dropout" && n.op != "BatchNormalization" && n.op != "MaxPool" &&
          n.op != "LayerNormalization")
        continue;
      for (size_t k = 1; k < n.outputs.size(); ++k)
        if (n.outputs[k] != kNoValue && !used.count(n.outputs[k]))
          n.outputs[k] = kNoValue;
      while (n.outputs.size() > 1 && n.outputs.back() == kNoValue)
        n.outputs.pop_back();
    }
    g.rebuild_producers();
  }
  if (options.prepare) {
    NNCERT_ASSIGN_OR_RETURN(out.prepare_report, prepare_graph(g, options.prepare_options));
    for (const auto& w : out.prepare_report.warnings)
      out.warnings.push_back(w);
  } else {
    for (const auto& name : nonfinite_constants(g))
      out.warnings.push_back("constant '" + name + "' holds NaN or Inf values");
  }
  return out;
}

}  // namespace

Expected<OnnxModel> load_onnx_bytes(const std::string& bytes, const OnnxLoadOptions& options) {
  onnx::ModelProto m;
  if (bytes.empty())
    return parse_error("the file is empty, not an ONNX model");
  if (!m.ParseFromString(bytes))
    return parse_error("not a valid ONNX model: the protobuf data is malformed or truncated");
  try {
    return build(m, options);
  } catch (const std::bad_alloc&) {
    return Status(ErrorCode::kOutOfMemory, "out of memory while loading the model");
  }
}

Expected<OnnxModel> load_onnx(const std::string& path, const OnnxLoadOptions& options) {
  std::ifstream f(path, std::ios::binary);
  if (!f)
    return Status(ErrorCode::kIoError, "cannot open '" + path + "'");
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad())
    return Status(ErrorCode::kIoError, "cannot read '" + path + "'");
  auto r = load_onnx_bytes(ss.str(), options);
  if (!r)
    return r.status().with_context(path);
  return r;
}

}  // namespace nncert
