// OnnxBuilder: builds small ONNX models in memory for tests (op conformance, frontend errors,
// opset rewrites) without protobuf types in test code.
//
//   OnnxBuilder b(13);
//   b.input("x", DType::kF32, {1, 3});
//   b.initializer("w", Tensor::from_vector<float>({3, 2}, {...}));
//   b.node("MatMul", {"x", "w"}, {"y"});
//   b.output("y");
//   auto model = b.load();   // Expected<OnnxModel>
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "frontends/onnx/onnx_loader.h"

namespace nncert::test {

class OnnxBuilder {
 public:
  explicit OnnxBuilder(int64_t opset = 17);
  ~OnnxBuilder();
  OnnxBuilder(const OnnxBuilder&) = delete;
  OnnxBuilder& operator=(const OnnxBuilder&) = delete;

  // A graph input; -1 extents become a symbolic dimension "N".
  OnnxBuilder& input(const std::string& name, DType dtype, const Shape& shape);
  // A graph output (type left empty, as many exporters do).
  OnnxBuilder& output(const std::string& name);
  // An initializer; with also_input it is listed among the graph inputs too (old exporters).
  OnnxBuilder& initializer(const std::string& name, const Tensor& t, bool also_input = false);

  // Adds a node; attribute setters apply to the node added last.
  OnnxBuilder& node(const std::string& op,
                    const std::vector<std::string>& inputs,
                    const std::vector<std::string>& outputs,
                    const std::string& name = "",
                    const std::string& domain = "");
  OnnxBuilder& attr(const std::string& name, int64_t v);
  OnnxBuilder& attr(const std::string& name, int v) { return attr(name, static_cast<int64_t>(v)); }
  OnnxBuilder& attr(const std::string& name, double v);
  OnnxBuilder& attr(const std::string& name, const std::string& v);
  OnnxBuilder& attr(const std::string& name, const char* v) { return attr(name, std::string(v)); }
  OnnxBuilder& attr(const std::string& name, const std::vector<int64_t>& v);
  OnnxBuilder& attr(const std::string& name, const std::vector<double>& v);
  OnnxBuilder& attr(const std::string& name, const Tensor& t);

  std::string serialize() const;
  void save(const std::string& path) const;
  Expected<OnnxModel> load(const OnnxLoadOptions& options = {}) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Runs a prepared graph on the given inputs (float64 by default) and returns its outputs;
// REQUIREs success.
std::vector<Tensor> run_graph(const Graph& g,
                              const std::vector<Tensor>& inputs,
                              DType dtype = DType::kF64);

}  // namespace nncert::test
