// Internal to the dense ReLU-chain engine (dense_chain.h): the extracted chain as plain data, and
// the interface of its numeric core, built once per instruction-set variant
// (dense_chain_engine.cpp). No Eigen here: the variants each build their own matrices.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

namespace nncert::dense_chain_detail {

inline constexpr double kUnitRoundoff = 1.1102230246251565e-16;  // 2^-53

// DenseChain::kUnknown / kActive / kInactive.
inline constexpr uint8_t kReluUnknown = 0, kReluActive = 1, kReluInactive = 2;

enum class StepKind { kDense, kDiag, kRelu };

struct ChainStep {
  StepKind kind = StepKind::kRelu;
  int64_t n_in = 0, n_out = 0;
  std::vector<double> w;         // dense: n_out x n_in, row-major
  std::vector<double> s, s_err;  // diag: scale and a bound on its error
  std::vector<double> b, b_err;  // dense / diag: bias and a bound on its error
};

struct ChainSpec {
  std::vector<ChainStep> steps;
  int64_t n_in = 0, n_out = 0, relu = 0;
  double gamma = 0;  // slack factor for dot products (rounding.h's model)
};

class ChainEngine {
 public:
  virtual ~ChainEngine() = default;
  virtual void forward(const double* x, double* y) const = 0;
  // As DenseChain::lower_bounds.
  virtual void lower_bounds(const double* lo,
                            const double* hi,
                            int64_t boxes,
                            const double* c,
                            int64_t rows,
                            bool safe_rounding,
                            double* lower,
                            double* coeffs,
                            bool crown_intermediate,
                            uint8_t* relu_state) const = 0;
};

namespace generic {
std::unique_ptr<ChainEngine> make_engine(const ChainSpec& spec);
}
#ifdef NNCERT_DC_HAVE_AVX2
namespace avx2 {
std::unique_ptr<ChainEngine> make_engine(const ChainSpec& spec);
}
#endif

}  // namespace nncert::dense_chain_detail
