// libFuzzer target for the ONNX frontend: load_onnx_bytes on arbitrary bytes, then one run of
// the loaded graph on zero inputs. See tests/fuzz/README.md.
#include <cstddef>
#include <cstdint>
#include <string>

#include "frontends/onnx/onnx_loader.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  auto model = nncert::load_onnx_bytes(bytes);
  if (model)
    nncert::fuzz::run_on_zeros(model->graph);
  return 0;
}
