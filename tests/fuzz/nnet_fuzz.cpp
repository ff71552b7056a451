// libFuzzer target for the .nnet frontend: load_nnet_text on arbitrary text (with and without
// normalisation), then prepare_graph and one run of the graph on a zero input. See
// tests/fuzz/README.md.
#include <cstddef>
#include <cstdint>
#include <string>

#include "frontends/nnet/nnet_loader.h"
#include "passes/passes.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  nncert::NnetLoadOptions options;
  // The last byte picks the variant, so both graph shapes get explored.
  options.normalize = size == 0 || (data[size - 1] & 1) == 0;
  auto model = nncert::load_nnet_text(text, options);
  if (!model)
    return 0;
  auto report = nncert::prepare_graph(model->graph);
  if (report)
    nncert::fuzz::run_on_zeros(model->graph);
  return 0;
}
