// Bad input gets a clear error, never a crash: missing, empty, truncated and random files;
// structurally wrong graphs (cycles, dangling inputs, unproduced outputs, duplicate producers);
// unsupported ops and attributes; shape mismatches; bad tensors; and the .nnet loader's errors.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <onnx/onnx-ml.pb.h>

#include "frontends/nnet/nnet_loader.h"
#include "frontends/onnx/onnx_loader.h"
#include "passes/passes.h"
#include "runtime/executor.h"
#include "tests/support/onnx_builder.h"
#include "tests/support/test_paths.h"

using namespace nncert;
using Catch::Matchers::Contains;
using nncert::test::OnnxBuilder;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  REQUIRE(f.good());
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string write_scratch(const std::string& name, const std::string& bytes) {
  const std::string path = test::scratch_dir() + "/" + name;
  std::ofstream f(path, std::ios::binary);
  f << bytes;
  REQUIRE(f.good());
  return path;
}

// Serializes the builder's model, lets `edit` change what the builder cannot express (negative
// dimensions, GRAPH attributes, short tensors), and loads the result.
Expected<OnnxModel> load_edited(const OnnxBuilder& b,
                                const std::function<void(onnx::ModelProto&)>& edit) {
  onnx::ModelProto m;
  REQUIRE(m.ParseFromString(b.serialize()));
  edit(m);
  return load_onnx_bytes(m.SerializeAsString());
}

// A failed load: a non-ok status with a message.
void require_clean_error(const Status& st) {
  REQUIRE_FALSE(st.is_ok());
  REQUIRE_FALSE(st.message().empty());
}

// A small valid model: x[1,3] -> MatMul(w[3,2]) -> Relu -> y.
void small_mlp(OnnxBuilder& b) {
  b.input("x", DType::kF32, {1, 3});
  b.initializer("w", Tensor::from_vector<float>({3, 2}, {1, 2, 3, 4, 5, 6}));
  b.node("MatMul", {"x", "w"}, {"h"}, "mm");
  b.node("Relu", {"h"}, {"y"}, "relu");
  b.output("y");
}

}  // namespace

// ---- files -------------------------------------------------------------------------------------

TEST_CASE("a missing .onnx file is an I/O error naming the path", "[errors]") {
  const std::string path = test::scratch_dir() + "/does_not_exist.onnx";
  auto m = load_onnx(path);
  REQUIRE_FALSE(m.has_value());
  CHECK(m.status().code() == ErrorCode::kIoError);
  CHECK_THAT(m.status().message(), Contains("does_not_exist.onnx"));
}

TEST_CASE("an empty .onnx file is a parse error", "[errors]") {
  const std::string path = write_scratch("empty.onnx", "");
  auto m = load_onnx(path);
  REQUIRE_FALSE(m.has_value());
  CHECK(m.status().code() == ErrorCode::kParseError);
  CHECK_THAT(m.status().message(), Contains("empty"));
  CHECK_THAT(m.status().message(), Contains("empty.onnx"));
}

TEST_CASE("a truncated fixture fails cleanly at every cut", "[errors]") {
  const std::string bytes = read_file(test::data_path("fixtures/mlp_relu/model.onnx"));
  REQUIRE(bytes.size() > 1000);
  REQUIRE(load_onnx_bytes(bytes).has_value());  // the whole file loads
  const std::vector<size_t> cuts = {1,
                                    2,
                                    10,
                                    50,
                                    100,
                                    1000,
                                    bytes.size() / 4,
                                    bytes.size() / 2,
                                    3 * bytes.size() / 4,
                                    bytes.size() - 1};
  for (size_t cut : cuts) {
    INFO("cut at " << cut << " of " << bytes.size() << " bytes");
    auto m = load_onnx_bytes(bytes.substr(0, cut));
    require_clean_error(m.status());
    CHECK(m.status().code() == ErrorCode::kParseError);
  }
  // Through a file too: the message names the file.
  const std::string path = write_scratch("truncated.onnx", bytes.substr(0, bytes.size() / 2));
  auto m = load_onnx(path);
  REQUIRE_FALSE(m.has_value());
  CHECK(m.status().code() == ErrorCode::kParseError);
  CHECK_THAT(m.status().message(), Contains("truncated.onnx"));
}

TEST_CASE("random bytes fail cleanly", "[errors]") {
  for (uint32_t seed : {1u, 2u, 3u, 42u, 1234u, 99999u}) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> byte(0, 255);
    std::uniform_int_distribution<size_t> len(1, 4096);
    std::string bytes(len(rng), '\0');
    for (char& c : bytes)
      c = static_cast<char>(byte(rng));
    INFO("seed " << seed << ", " << bytes.size() << " bytes");
    auto m = load_onnx_bytes(bytes);
    require_clean_error(m.status());
  }
}

TEST_CASE("random byte flips in a fixture never crash", "[errors]") {
  const std::string bytes = read_file(test::data_path("fixtures/toy/model.onnx"));
  for (uint32_t seed : {7u, 8u, 9u, 10u, 11u}) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<size_t> pos(0, bytes.size() - 1);
    std::uniform_int_distribution<int> byte(0, 255);
    std::string mutated = bytes;
    for (int k = 0; k < 8; ++k)
      mutated[pos(rng)] = static_cast<char>(byte(rng));
    INFO("seed " << seed);
    auto m = load_onnx_bytes(mutated);
    if (!m)
      require_clean_error(m.status());  // some flips leave a valid model: fine too
  }
}

// ---- graph structure ---------------------------------------------------------------------------

TEST_CASE("a cycle is an invalid graph naming the nodes on it", "[errors]") {
  OnnxBuilder b(17);
  b.input("x", DType::kF32, {1, 3});
  b.node("Add", {"x", "t2"}, {"t1"}, "add_in_cycle");
  b.node("Relu", {"t1"}, {"t2"}, "relu_in_cycle");
  b.node("Neg", {"t2"}, {"y"}, "neg_after_cycle");
  b.output("y");
  auto m = b.load();
  REQUIRE_FALSE(m.has_value());
  CHECK(m.status().code() == ErrorCode::kInvalidGraph);
  const std::string& msg = m.status().message();
  CHECK_THAT(msg, Contains("cycle"));
  CHECK_THAT(msg, Contains("add_in_cycle"));
  CHECK_THAT(msg, Contains("relu_in_cycle"));
  CHECK_THAT(msg, !Contains("neg_after_cycle"));
}

TEST_CASE("a node that feeds itself is a cycle", "[errors]") {
  OnnxBuilder b(17);
  b.input("x", DType::kF32, {1, 3});
  b.node("Add", {"x", "t"}, {"t"}, "self_loop");
  b.node("Relu", {"t"}, {"y"}, "relu");
  b.output("y");
  auto m = b.load();
  REQUIRE_FALSE(m.has_value());
  CHECK(m.status().code() == ErrorCode::kInvalidGraph);
  CHECK_THAT(m.status().message(), Contains("self_loop"));
}

TEST_CASE("a dangling input names the node and the value", "[errors]") {
  OnnxBuilder b(17);
  b.input("x", DType::kF32, {1, 3});
  b.node("MatMul", {"x", "weights_nobody_defines"}, {"y"}, "mm_dangling");
  b.output("y");
  auto m = b.load();
  REQUIRE_FALSE(m.has_value());
  CHECK(m.status().code() == ErrorCode::kInvalidGraph);
  CHECK_THAT(m.status().message(), Contains("mm_dangling"));
  CHECK_THAT(m.status().message(), Contains("weights_nobody_defines"));
  CHECK_THAT(m.status().message(), Contains("dangling"));
}

TEST_CASE("a graph output nobody produces is an invalid graph", "[errors]") {
  OnnxBuilder b(17);
  small_mlp(b);
  b.output("ghost_output");
  auto m = b.load();
  REQUIRE_FALSE(m.has_value());
  CHECK(m.status().code() == ErrorCode::kInvalidGraph);
  CHECK_THAT(m.status().message(), Contains("ghost_output"));
}

TEST_CASE("a value produced by two nodes is an invalid graph", "[errors]") {
  OnnxBuilder b(17);
  b.input("x", DType::kF32, {1, 3});
  b.node("Relu", {"x"}, {"y"}, "first_producer");
  b.node("Neg", {"x"}, {"y"}, "second_producer");
  b.output("y");
  auto m = b.load();
  REQUIRE_FALSE(m.has_value());
  CHECK(m.status().code() == ErrorCode::kInvalidGraph);
  CHECK_THAT(m.status().message(), Contains("'y'"));
  CHECK_THAT(m.status().message(), Contains("produced by 2 nodes"));
}

TEST_CASE("a node that overwrites an initializer or a graph input is an invalid graph",
          "[errors]") {
  OnnxBuilder b(17);
  b.input("x", DType::kF32, {1, 3});
  b.input("x2", DType::kF32, {1, 3});
  b.initializer("c", Tensor(DType::kF32, {1, 3}));
  b.node("Relu", {"x"}, {"c"}, "writes_initializer");
  b.node("Neg", {"x"}, {"x2"}, "writes_input");
  b.node("Add", {"c", "x2"}, {"y"}, "add");
  b.output("y");
  auto m = b.load();
  REQUIRE_FALSE(m.has_value());
  CHECK(m.status().code() == ErrorCode::kInvalidGraph);
  CHECK_THAT(m.status().message(), Contains("'writes_initializer' (Relu) writes initializer 'c'"));
  CHECK_THAT(m.status().message(), Contains("'writes_input' (Neg) writes graph input 'x2'"));
}

TEST_CASE("a graph without outputs is an invalid graph", "[errors]") {
  OnnxBuilder b(17);
  b.input("x", DType::kF32, {1, 3});
  b.node("Relu", {"x"}, {"y"}, "relu");
  auto m = b.load();
  REQUIRE_FALSE(m.has_value());
  CHECK(m.status().code() == ErrorCode::kInvalidGraph);
  CHECK_THAT(m.status().message(), Contains("no outputs"));
}

// ---- unsupported ops and attributes ------------------------------------------------------------

TEST_CASE("every unsupported node is listed in one message", "[errors]") {
  OnnxBuilder b(17);
  b.input("x", DType::kF32, {1, 3});
  b.node("FooOp", {"x"}, {"t1"}, "foo_first");
  b.node("Relu", {"t1"}, {"t2"}, "supported_relu");
  b.node("FooOp", {"t2"}, {"t3"}, "foo_second");
  b.node("Gelu", {"t3"}, {"y"}, "ms_gelu", "com.microsoft");
  b.output("y");
  auto m = b.load();
  REQUIRE_FALSE(m.has_value());
  CHECK(m.status().code() == ErrorCode::kUnsupported);
  const std::string& msg = m.status().message();
  CHECK_THAT(msg, Contains("3 unsupported"));
  CHECK_THAT(msg, Contains("'foo_first' (FooOp)"));
  CHECK_THAT(msg, Contains("'foo_second' (FooOp)"));
  CHECK_THAT(msg, Contains("ms_gelu"));
  CHECK_THAT(msg, Contains("com.microsoft"));
  CHECK_THAT(msg, Contains("Gelu"));
  CHECK_THAT(msg, !Contains("supported_relu"));
}

TEST_CASE("an attribute of an unsupported type (GRAPH) is refused naming node and attribute",
          "[errors]") {
  OnnxBuilder b(17);
  small_mlp(b);
  auto m = load_edited(b, [](onnx::ModelProto& p) {
    auto* a = p.mutable_graph()->mutable_node(1)->add_attribute();
    a->set_name("then_branch");
    a->set_type(onnx::AttributeProto::GRAPH);
    a->mutable_g()->set_name("subgraph");
  });
  REQUIRE_FALSE(m.has_value());
  CHECK(m.status().code() == ErrorCode::kUnsupported);
  CHECK_THAT(m.status().message(), Contains("then_branch"));
  CHECK_THAT(m.status().message(), Contains("GRAPH"));
  CHECK_THAT(m.status().message(), Contains("relu"));
}

TEST_CASE("an attribute without type and value is a parse error", "[errors]") {
  OnnxBuilder b(17);
  small_mlp(b);
  auto m = load_edited(b, [](onnx::ModelProto& p) {
    p.mutable_graph()->mutable_node(1)->add_attribute()->set_name("empty_attr");
  });
  REQUIRE_FALSE(m.has_value());
  CHECK(m.status().code() == ErrorCode::kParseError);
  CHECK_THAT(m.status().message(), Contains("empty_attr"));
}

// ---- shapes and tensors ------------------------------------------------------------------------

TEST_CASE("MatMul [1,3] x [4,2] is a shape mismatch naming the node", "[errors]") {
  OnnxBuilder b(17);
  b.input("x", DType::kF32, {1, 3});
  b.initializer("w", Tensor(DType::kF32, {4, 2}));
  b.node("MatMul", {"x", "w"}, {"y"}, "mm_bad_shapes");
  b.output("y");
  auto m = b.load();
  REQUIRE_FALSE(m.has_value());
  CHECK(m.status().code() == ErrorCode::kShapeMismatch);
  CHECK_THAT(m.status().message(), Contains("mm_bad_shapes"));
}

TEST_CASE("Add of shapes that do not broadcast is a shape mismatch naming the node", "[errors]") {
  OnnxBuilder b(17);
  b.input("x", DType::kF32, {1, 3});
  b.initializer("c", Tensor(DType::kF32, {4}));
  b.node("Add", {"x", "c"}, {"y"}, "add_bad_shapes");
  b.output("y");
  auto m = b.load();
  REQUIRE_FALSE(m.has_value());
  CHECK(m.status().code() == ErrorCode::kShapeMismatch);
  CHECK_THAT(m.status().message(), Contains("add_bad_shapes"));
}

TEST_CASE("a model that asks for an impossibly large tensor is refused before allocating it",
          "[errors]") {
  SECTION("ConstantOfShape") {
    OnnxBuilder b(17);
    b.input("x", DType::kF32, {1, 3});
    b.initializer("shape",
                  Tensor::from_vector<int64_t>({3}, {int64_t{1} << 20, int64_t{1} << 20, 3}));
    b.node("ConstantOfShape", {"shape"}, {"big"}, "huge_constant");
    b.node("Add", {"x", "big"}, {"y"}, "add");
    b.output("y");
    auto m = b.load();
    REQUIRE_FALSE(m.has_value());
    CHECK(m.status().code() == ErrorCode::kOutOfMemory);
    CHECK_THAT(m.status().message(), Contains("huge_constant"));
  }
  SECTION("Pad whose pads overflow int64") {
    OnnxBuilder b(18);
    b.input("x", DType::kF32, {1, 3});
    b.initializer(
        "pads", Tensor::from_vector<int64_t>({4}, {0, std::numeric_limits<int64_t>::max(), 0, 5}));
    b.node("Pad", {"x", "pads"}, {"y"}, "pad_overflow");
    b.output("y");
    auto m = b.load();
    REQUIRE_FALSE(m.has_value());
    CHECK_THAT(m.status().message(), Contains("pad_overflow"));
  }
  SECTION("a graph input") {
    OnnxBuilder b(17);
    b.input("x", DType::kF32, {int64_t{1} << 40, int64_t{1} << 40});
    b.node("Relu", {"x"}, {"y"});
    b.output("y");
    auto m = b.load();
    REQUIRE_FALSE(m.has_value());
    CHECK(m.status().code() == ErrorCode::kOutOfMemory);
    CHECK_THAT(m.status().message(), Contains("'x'"));
  }
}

TEST_CASE("NaN and Inf weights load, with a warning naming the initializer", "[errors]") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  OnnxBuilder b(17);
  b.input("x", DType::kF32, {1, 3});
  b.initializer("w_with_nan", Tensor::from_vector<float>({3, 2}, {1, nan, 3, 4, 5, 6}));
  b.initializer("bias_with_inf", Tensor::from_vector<float>({2}, {0, -inf}));
  b.node("MatMul", {"x", "w_with_nan"}, {"h"}, "mm");
  b.node("Add", {"h", "bias_with_inf"}, {"y"}, "add");
  b.output("y");
  auto m = b.load();
  REQUIRE(m.has_value());
  std::string all;
  for (const auto& w : m->warnings)
    all += w + "\n";
  CHECK_THAT(all, Contains("w_with_nan"));
  CHECK_THAT(all, Contains("bias_with_inf"));

  OnnxLoadOptions raw;
  raw.prepare = false;
  auto unprepared = b.load(raw);
  REQUIRE(unprepared.has_value());
  all.clear();
  for (const auto& w : unprepared->warnings)
    all += w + "\n";
  CHECK_THAT(all, Contains("w_with_nan"));
}

TEST_CASE("an initializer with the wrong number of values is a parse error", "[errors]") {
  OnnxBuilder b(17);
  small_mlp(b);
  SECTION("too few raw bytes") {
    auto m = load_edited(b, [](onnx::ModelProto& p) {
      auto* t = p.mutable_graph()->mutable_initializer(0);
      t->set_raw_data(t->raw_data().substr(0, 5 * sizeof(float)));
    });
    REQUIRE_FALSE(m.has_value());
    CHECK(m.status().code() == ErrorCode::kParseError);
    CHECK_THAT(m.status().message(), Contains("'w'"));
    CHECK_THAT(m.status().message(), Contains("5 values"));
  }
  SECTION("dims that need more values") {
    auto m = load_edited(
        b, [](onnx::ModelProto& p) { p.mutable_graph()->mutable_initializer(0)->add_dims(7); });
    REQUIRE_FALSE(m.has_value());
    CHECK(m.status().code() == ErrorCode::kParseError);
    CHECK_THAT(m.status().message(), Contains("'w'"));
  }
  SECTION("typed values instead of raw data, one too many") {
    auto m = load_edited(b, [](onnx::ModelProto& p) {
      auto* t = p.mutable_graph()->mutable_initializer(0);
      t->clear_raw_data();
      for (int i = 0; i < 7; ++i)
        t->add_float_data(1.0f);
    });
    REQUIRE_FALSE(m.has_value());
    CHECK(m.status().code() == ErrorCode::kParseError);
    CHECK_THAT(m.status().message(), Contains("7 values"));
  }
  SECTION("dims whose product overflows") {
    auto m = load_edited(b, [](onnx::ModelProto& p) {
      auto* t = p.mutable_graph()->mutable_initializer(0);
      t->clear_dims();
      for (int i = 0; i < 3; ++i)
        t->add_dims(int64_t{1} << 40);
    });
    REQUIRE_FALSE(m.has_value());
    CHECK(m.status().code() == ErrorCode::kParseError);
    CHECK_THAT(m.status().message(), Contains("'w'"));
  }
}

TEST_CASE("a negative dimension is a parse error", "[errors]") {
  OnnxBuilder b(17);
  small_mlp(b);
  SECTION("in a graph input's type") {
    auto m = load_edited(b, [](onnx::ModelProto& p) {
      p.mutable_graph()
          ->mutable_input(0)
          ->mutable_type()
          ->mutable_tensor_type()
          ->mutable_shape()
          ->mutable_dim(1)
          ->set_dim_value(-3);
    });
    REQUIRE_FALSE(m.has_value());
    CHECK(m.status().code() == ErrorCode::kParseError);
    CHECK_THAT(m.status().message(), Contains("negative dimension"));
    CHECK_THAT(m.status().message(), Contains("'x'"));
  }
  SECTION("in an initializer") {
    auto m = load_edited(
        b, [](onnx::ModelProto& p) { p.mutable_graph()->mutable_initializer(0)->set_dims(0, -3); });
    REQUIRE_FALSE(m.has_value());
    CHECK(m.status().code() == ErrorCode::kParseError);
    CHECK_THAT(m.status().message(), Contains("negative dimension"));
    CHECK_THAT(m.status().message(), Contains("'w'"));
  }
}

TEST_CASE("an unsupported element type is refused naming the initializer", "[errors]") {
  OnnxBuilder b(17);
  small_mlp(b);
  auto m = load_edited(b, [](onnx::ModelProto& p) {
    p.mutable_graph()->mutable_initializer(0)->set_data_type(onnx::TensorProto::STRING);
  });
  REQUIRE_FALSE(m.has_value());
  CHECK(m.status().code() == ErrorCode::kUnsupported);
  CHECK_THAT(m.status().message(), Contains("'w'"));
  CHECK_THAT(m.status().message(), Contains("STRING"));
}

TEST_CASE("a model without a default-domain opset is a parse error", "[errors]") {
  OnnxBuilder b(17);
  small_mlp(b);
  auto m = load_edited(
      b, [](onnx::ModelProto& p) { p.mutable_opset_import(0)->set_domain("com.example"); });
  REQUIRE_FALSE(m.has_value());
  CHECK(m.status().code() == ErrorCode::kParseError);
  CHECK_THAT(m.status().message(), Contains("opset"));
}

// ---- fuzz regressions --------------------------------------------------------------------------

TEST_CASE("inputs that once crashed the fuzzers load and run cleanly", "[errors]") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(NNCERT_SOURCE_DIR) / "tests" / "fuzz" / "regressions";
  REQUIRE(fs::is_directory(dir));
  int count = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    const std::string bytes = read_file(entry.path().string());
    INFO(name);
    Graph g;
    if (name.rfind("onnx-", 0) == 0) {
      auto m = load_onnx_bytes(bytes);
      if (!m) {
        require_clean_error(m.status());
        ++count;
        continue;
      }
      g = std::move(m->graph);
    } else if (name.rfind("nnet-", 0) == 0) {
      auto m = load_nnet_text(bytes);
      if (!m) {
        require_clean_error(m.status());
        ++count;
        continue;
      }
      auto rep = prepare_graph(m->graph);
      if (!rep) {
        require_clean_error(rep.status());
        ++count;
        continue;
      }
      g = std::move(m->graph);
    } else {
      continue;
    }
    ++count;
    // What the fuzzers do next: one run on zero inputs of the static input shapes.
    std::vector<Tensor> inputs;
    bool runnable = true;
    for (ValueId id : g.inputs()) {
      const Value& v = g.value(id);
      if (!v.shape_known || !shape_is_static(v.shape) || shape_numel(v.shape) > 1'000'000) {
        runnable = false;
        break;
      }
      inputs.emplace_back(v.dtype, v.shape);
    }
    if (!runnable)
      continue;
    auto ex = Executor::create(g);
    if (!ex) {
      require_clean_error(ex.status());
      continue;
    }
    auto out = ex->run(inputs);
    if (!out)
      require_clean_error(out.status());
  }
  CHECK(count > 0);
}

// ---- .nnet -------------------------------------------------------------------------------------

namespace {
std::string fc_text() {
  return read_file(test::data_path("nnet/fc_2-2-3.nnet"));
}

// The 2-2-3 network with its input minimums/maximums replaced.
std::string with_bounds(const std::string& mins, const std::string& maxs) {
  std::string t = fc_text();
  const std::string old_bounds = "-100000.0,-100000.0,\n100000.0,100000.0,\n";
  const size_t at = t.find(old_bounds);
  REQUIRE(at != std::string::npos);
  return t.replace(at, old_bounds.size(), mins + "\n" + maxs + "\n");
}
}  // namespace

TEST_CASE("nnet: a missing file is an I/O error naming the path", "[errors]") {
  auto m = load_nnet(test::scratch_dir() + "/does_not_exist.nnet");
  REQUIRE_FALSE(m.has_value());
  CHECK(m.status().code() == ErrorCode::kIoError);
  CHECK_THAT(m.status().message(), Contains("does_not_exist.nnet"));
}

TEST_CASE("nnet: empty text and comments only are parse errors", "[errors]") {
  for (const std::string text : {"", "\n\n", "// only a comment\n// and another\n"}) {
    auto m = load_nnet_text(text);
    REQUIRE_FALSE(m.has_value());
    CHECK(m.status().code() == ErrorCode::kParseError);
  }
  const std::string path = write_scratch("empty.nnet", "");
  auto m = load_nnet(path);
  REQUIRE_FALSE(m.has_value());
  CHECK(m.status().code() == ErrorCode::kParseError);
  CHECK_THAT(m.status().message(), Contains("empty.nnet"));
}

TEST_CASE("nnet: a truncated file is a parse error with a line number", "[errors]") {
  const std::string text = fc_text();
  REQUIRE(load_nnet_text(text).has_value());
  const size_t last_number = text.rfind("0.0");
  REQUIRE(last_number != std::string::npos);
  for (size_t cut :
       {size_t{130}, text.size() / 3, text.size() / 2, 3 * text.size() / 4, last_number}) {
    INFO("cut at " << cut << " of " << text.size());
    auto m = load_nnet_text(text.substr(0, cut));
    REQUIRE_FALSE(m.has_value());
    CHECK(m.status().code() == ErrorCode::kParseError);
    CHECK_THAT(m.status().message(), Contains("line "));
  }
}

TEST_CASE("nnet: a non-number token names its line", "[errors]") {
  std::string text = fc_text();
  // Line 6 holds the input maximums "100000.0,100000.0,".
  const size_t at = text.find("\n100000.0,");
  REQUIRE(at != std::string::npos);
  text.replace(at + 1, 8, "12abc");
  auto m = load_nnet_text(text);
  REQUIRE_FALSE(m.has_value());
  CHECK(m.status().code() == ErrorCode::kParseError);
  CHECK_THAT(m.status().message(), Contains("line 6"));
  CHECK_THAT(m.status().message(), Contains("abc"));
}

TEST_CASE("nnet: an input minimum above its maximum is a parse error", "[errors]") {
  REQUIRE(load_nnet_text(with_bounds("-1.0,-1.0,", "1.0,1.0,")).has_value());
  auto m = load_nnet_text(with_bounds("-1.0,2.0,", "1.0,1.0,"));
  REQUIRE_FALSE(m.has_value());
  CHECK(m.status().code() == ErrorCode::kParseError);
  CHECK_THAT(m.status().message(), Contains("input 1"));
  CHECK_THAT(m.status().message(), Contains("minimum"));
}

TEST_CASE("nnet: inconsistent sizes and extra numbers are parse errors", "[errors]") {
  const std::string text = fc_text();
  SECTION("layer larger than the declared maximum") {
    std::string t = text;
    t.replace(t.find("2,2,3,3,"), 8, "2,2,3,2,");
    auto m = load_nnet_text(t);
    REQUIRE_FALSE(m.has_value());
    CHECK(m.status().code() == ErrorCode::kParseError);
  }
  SECTION("a non-integer layer count") {
    std::string t = text;
    t.replace(t.find("2,2,3,3,"), 8, "2.5,2,3,3,");
    auto m = load_nnet_text(t);
    REQUIRE_FALSE(m.has_value());
    CHECK(m.status().code() == ErrorCode::kParseError);
    CHECK_THAT(m.status().message(), Contains("line 2"));
  }
  SECTION("extra numbers after the last layer") {
    auto m = load_nnet_text(text + "1.0,\n");
    REQUIRE_FALSE(m.has_value());
    CHECK(m.status().code() == ErrorCode::kParseError);
    CHECK_THAT(m.status().message(), Contains("extra"));
  }
  SECTION("a zero normalisation range") {
    std::string t = text;
    t.replace(t.find("1.0,1.0,1.0,"), 12, "1.0,0.0,1.0,");
    auto m = load_nnet_text(t);
    REQUIRE_FALSE(m.has_value());
    CHECK(m.status().code() == ErrorCode::kParseError);
  }
}
