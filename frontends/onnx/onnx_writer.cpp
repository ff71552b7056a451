#include "frontends/onnx/onnx_writer.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <utility>

#include "frontends/onnx/onnx_tensor.h"
#include "nncert_version.h"

namespace nncert {

namespace {

void set_attribute(const std::string& name, const AttrValue& v, onnx::AttributeProto* a) {
  using AP = onnx::AttributeProto;
  a->set_name(name);
  if (const auto* i = std::get_if<int64_t>(&v)) {
    a->set_type(AP::INT);
    a->set_i(*i);
  } else if (const auto* f = std::get_if<double>(&v)) {
    a->set_type(AP::FLOAT);  // ONNX float attributes are float32
    a->set_f(static_cast<float>(*f));
  } else if (const auto* s = std::get_if<std::string>(&v)) {
    a->set_type(AP::STRING);
    a->set_s(*s);
  } else if (const auto* is = std::get_if<std::vector<int64_t>>(&v)) {
    a->set_type(AP::INTS);
    for (int64_t x : *is)
      a->add_ints(x);
  } else if (const auto* fs = std::get_if<std::vector<double>>(&v)) {
    a->set_type(AP::FLOATS);
    for (double x : *fs)
      a->add_floats(static_cast<float>(x));
  } else if (const auto* ss = std::get_if<std::vector<std::string>>(&v)) {
    a->set_type(AP::STRINGS);
    for (const auto& x : *ss)
      a->add_strings(x);
  } else {
    a->set_type(AP::TENSOR);
    tensor_to_proto(std::get<Tensor>(v), a->mutable_t());
  }
}

// A node as written: its inputs (kNoValue: omitted) and attributes after undoing the frontend's
// opset rewrites (onnx_loader.cpp, canonicalize) for the written opset.
struct NodeForm {
  std::vector<ValueId> inputs;
  Attributes attrs;
};

Status unsupported(const Node& n, const std::string& why) {
  return {ErrorCode::kUnsupported, "node " + n.display() + ": " + why};
}

// The constant tensor at input i, nullptr when that input is omitted.
Expected<const Tensor*> constant_input(const Graph& g, const Node& n, size_t i, int64_t opset) {
  if (i >= n.inputs.size() || n.inputs[i] == kNoValue)
    return static_cast<const Tensor*>(nullptr);
  if (!g.is_constant(n.inputs[i]))
    return unsupported(n,
                       "input " + std::to_string(i) + " is computed, but opset " +
                           std::to_string(opset) + " needs it as a constant attribute");
  return &*g.value(n.inputs[i]).constant;
}

// Moves input i (a constant) into attribute `attr` as ints, dropping inputs from i on.
Status input_to_ints(
    const Graph& g, const Node& n, size_t i, const char* attr, int64_t opset, NodeForm& f) {
  NNCERT_ASSIGN_OR_RETURN(const Tensor* t, constant_input(g, n, i, opset));
  if (t != nullptr)
    f.attrs.set(attr, t->to_int_vector());
  if (f.inputs.size() > i)
    f.inputs.resize(i);
  return Status::ok();
}

Expected<NodeForm> node_form(const Graph& g, const Node& n, int64_t opset) {
  NodeForm f{n.inputs, n.attrs};
  const std::string& op = n.op;
  if (((op == "Squeeze" || op == "Unsqueeze" || op == "ReduceSum") && opset < 13) ||
      (op == "ReduceMean" && opset < 18))
    NNCERT_RETURN_IF_ERROR(input_to_ints(g, n, 1, "axes", opset, f));
  if (op == "Split" && opset < 13)
    NNCERT_RETURN_IF_ERROR(input_to_ints(g, n, 1, "split", opset, f));
  if (op == "Slice" && opset < 10) {
    NNCERT_ASSIGN_OR_RETURN(const Tensor* steps, constant_input(g, n, 4, opset));
    if (steps != nullptr)
      for (int64_t s : steps->to_int_vector())
        if (s != 1)
          return unsupported(n, "Slice steps other than 1 need opset 10");
    NNCERT_RETURN_IF_ERROR(input_to_ints(g, n, 3, "axes", opset, f));
    NNCERT_RETURN_IF_ERROR(input_to_ints(g, n, 2, "ends", opset, f));
    NNCERT_RETURN_IF_ERROR(input_to_ints(g, n, 1, "starts", opset, f));
  }
  if (op == "Pad" && opset < 11) {
    if (n.inputs.size() > 3 && n.inputs[3] != kNoValue)
      return unsupported(n, "Pad axes need opset 18");
    NNCERT_ASSIGN_OR_RETURN(const Tensor* value, constant_input(g, n, 2, opset));
    if (value != nullptr && value->numel() > 0)
      f.attrs.set("value", value->get(0));
    NNCERT_RETURN_IF_ERROR(input_to_ints(g, n, 1, "pads", opset, f));
  }
  if (op == "Clip" && opset < 11) {
    NNCERT_ASSIGN_OR_RETURN(const Tensor* lo, constant_input(g, n, 1, opset));
    NNCERT_ASSIGN_OR_RETURN(const Tensor* hi, constant_input(g, n, 2, opset));
    if (lo != nullptr && lo->numel() > 0)
      f.attrs.set("min", lo->get(0));
    if (hi != nullptr && hi->numel() > 0)
      f.attrs.set("max", hi->get(0));
    f.inputs.resize(1);
  }
  if (op == "Softmax" && f.attrs.has("legacy_2d")) {
    // Before opset 13 the 2-D coercion is what Softmax means; from 13 on it is the same only
    // when the axis is the last one.
    f.attrs.erase("legacy_2d");
    if (opset >= 13) {
      const Value& x = g.value(n.inputs.at(0));
      const auto rank = static_cast<int64_t>(x.shape.size());
      int64_t axis = n.attrs.get_int("axis", 1);
      if (axis < 0)
        axis += rank;
      if (!x.shape_known || axis != rank - 1)
        return unsupported(n,
                           "a 2-D coerced Softmax (opset < 13) not over the last axis " +
                               std::string("cannot be written at opset ") + std::to_string(opset));
      f.attrs.set("axis", axis);  // the default changed from 1 to -1
    }
  }
  while (!f.inputs.empty() && f.inputs.back() == kNoValue)
    f.inputs.pop_back();
  return f;
}

// "domain::Op" (the loader's spelling of non-default domains) -> {domain, Op}.
std::pair<std::string, std::string> split_op(const std::string& op) {
  const auto k = op.rfind("::");
  if (k == std::string::npos)
    return {"", op};
  return {op.substr(0, k), op.substr(k + 2)};
}

Status check_id(const Graph& g, ValueId id, const char* what) {
  if (id < 0 || static_cast<size_t>(id) >= g.num_values())
    return {ErrorCode::kInvalidGraph,
            std::string(what) + " id " + std::to_string(id) + " is not a value of the graph"};
  if (g.value(id).name.empty())
    return {ErrorCode::kInvalidGraph,
            std::string(what) + " " + std::to_string(id) + " has no name"};
  return Status::ok();
}

Expected<onnx::ModelProto> to_proto(const Graph& g, const OnnxSaveOptions& options) {
  const int64_t opset = options.opset > 0 ? options.opset
                        : g.opset > 0     ? g.opset
                                          : OnnxSaveOptions::kDefaultOpset;
  onnx::ModelProto m;
  m.set_ir_version(options.ir_version);
  m.set_producer_name(options.producer_name);
  m.set_producer_version(options.producer_version.empty() ? std::string(NNCERT_VERSION)
                                                          : options.producer_version);
  auto* gp = m.mutable_graph();
  gp->set_name(g.name.empty() ? "nncert" : g.name);

  for (ValueId id : g.inputs()) {
    NNCERT_RETURN_IF_ERROR(check_id(g, id, "graph input"));
    const Value& v = g.value(id);
    value_info_to_proto(v.name, v.dtype, v.shape_known ? &v.shape : nullptr, gp->add_input());
  }
  // Constants without a producer that some written node or graph output reads.
  std::set<ValueId> used;
  std::set<std::string> domains;
  NNCERT_ASSIGN_OR_RETURN(std::vector<NodeId> order, g.topological_order());
  for (NodeId id : order) {
    const Node& n = g.node(id);
    NNCERT_ASSIGN_OR_RETURN(NodeForm f, node_form(g, n, opset));
    auto* np = gp->add_node();
    const auto [domain, op_type] = split_op(n.op);
    np->set_op_type(op_type);
    if (!domain.empty()) {
      np->set_domain(domain);
      domains.insert(domain);
    }
    np->set_name(n.name);
    for (ValueId in : f.inputs) {
      if (in == kNoValue) {
        np->add_input("");
        continue;
      }
      NNCERT_RETURN_IF_ERROR(check_id(g, in, "node input"));
      np->add_input(g.value(in).name);
      used.insert(in);
    }
    for (ValueId out : n.outputs) {
      if (out != kNoValue)
        NNCERT_RETURN_IF_ERROR(check_id(g, out, "node output"));
      np->add_output(out == kNoValue ? std::string() : g.value(out).name);
    }
    for (const auto& [name, value] : f.attrs.all())
      set_attribute(name, value, np->add_attribute());
  }
  for (ValueId id : g.outputs()) {
    NNCERT_RETURN_IF_ERROR(check_id(g, id, "graph output"));
    const Value& v = g.value(id);
    value_info_to_proto(v.name, v.dtype, v.shape_known ? &v.shape : nullptr, gp->add_output());
    used.insert(id);
  }
  for (ValueId id : used) {  // ascending ids: the order the constants were added
    const Value& v = g.value(id);
    if (!v.constant || v.producer != kNoNode)
      continue;
    auto* t = gp->add_initializer();
    t->set_name(v.name);
    tensor_to_proto(*v.constant, t);
  }

  auto* o = m.add_opset_import();
  o->set_domain("");
  o->set_version(opset);
  for (const auto& d : domains) {
    auto* od = m.add_opset_import();
    od->set_domain(d);
    od->set_version(1);
  }
  return m;
}

}  // namespace

Expected<std::string> save_onnx_bytes(const Graph& g, const OnnxSaveOptions& options) {
  NNCERT_ASSIGN_OR_RETURN(onnx::ModelProto m, to_proto(g, options));
  std::string bytes;
  if (!m.SerializeToString(&bytes))
    return Status(ErrorCode::kInternal, "protobuf could not serialize the model (over 2 GiB?)");
  return bytes;
}

Status save_onnx(const Graph& g, const std::string& path, const OnnxSaveOptions& options) {
  NNCERT_ASSIGN_OR_RETURN(std::string bytes, save_onnx_bytes(g, options));
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f)
    return {ErrorCode::kIoError, "cannot open '" + path + "' for writing: " + std::strerror(errno)};
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  f.close();
  if (!f)
    return {ErrorCode::kIoError, "cannot write '" + path + "'"};
  return Status::ok();
}

}  // namespace nncert
