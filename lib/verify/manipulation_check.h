// The DLV-style manipulation check, certified: does the class of a sample stay its label for
// every image of a manipulation family x(theta), theta in Theta (manipulation.h)?
//
// DLV (Huang, Kwiatkowska, Wang, Wu: "Safety Verification of Deep Neural Networks", CAV 2017)
// discretises Theta into a grid and evaluates the network at every grid point; its "safe" holds
// only if no class change hides between grid points. Here each dimension of Theta is split into
// N_j cells, and every cell (a box of theta) is certified by the bound engines over its whole
// continuous extent:
//   1. the sample itself: misclassified -> falsified (method "clean");
//   2. the attack of the method list runs once over all of Theta (PGD over theta);
//   3. blocks of cells, from all of Theta down, are bounded by the bound methods of the list
//      (IBP, CROWN, alpha-CROWN): a certified block certifies every cell in it; an open block
//      is bisected along its dimension with the most cells;
//   4. a single open cell runs the whole pipeline (verify_property: attack, bounds, input BaB,
//      ...) within the cell timeout;
//   5. a cell still open falls back to DLV: the network is evaluated (float64) at the cell's
//      corners, which are grid points; that cell then carries the grid-only guarantee.
// Any class change found is re-executed in float64 on the model (check_counterexample against the
// hull of the family) before it counts. The answer says which guarantee it carries:
//   falsified           a checked image of the family whose class is not the label;
//   verified-continuous every cell certified: no image of the family changes the class;
//   verified-grid-only  no class change at any grid point of the open cells, and none anywhere in
//                       the certified cells (DLV's guarantee, and more);
//   unknown             the time ran out before every cell was checked.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "verify/manipulation.h"
#include "verify/verifier.h"

namespace nncert {

struct ManipulationCheckOptions {
  // Cells per theta dimension: empty = the family's default_grid; one value = every dimension.
  std::vector<int64_t> grid;
  // How a cell is bounded. kTheta: the model with theta -> x prepended, bounded over the cell's
  // theta box (pixels stay correlated; few inputs, so input BaB applies; the clip is relaxed
  // where a pixel's range crosses it). kBox: the original model over the per-pixel hull of the
  // cell's images: exact when each parameter moves its own pixel (Manipulation::hull_is_exact,
  // pixel-steps), else looser, and then attacks and BaB counterexamples in the hull (not
  // necessarily images of the family) only leave the cell open. Measured on MNIST pixel-steps:
  // 8 pixels x 3 steps, both certify 17/20 digits, box in 4 s, theta in 8 s; 10 pixels x 4
  // steps (digits 6-13), theta 6/6 in 100 s, box 4/6 in 161 s (2 unknown at the time limit).
  enum class Region { kTheta, kBox };
  Region region = Region::kTheta;
  // The pipeline per cell: `methods` (empty: no bounds and no attack, every cell is enumerated:
  // DLV itself), `timeout_s` = the cell timeout (0 = none), threads, attack, alpha-CROWN, BaB.
  VerifyOptions cell;
  bool blocks = true;  // bisect from all of Theta (false: bound every cell on its own)
  // Input BaB over a block's theta box, at most this many domains, before it is bisected
  // (0: blocks get IBP and CROWN only; -1: 400 for families of 3 or more parameters, else 0).
  // Measured on 20 MNIST digits: pixel-steps with 10 pixels x 8 cells (10^9 cells), 6/6
  // certified in 100 s with 400, 4/6 in 166 s without; brightness-contrast (2 parameters) 27 s
  // with 400, 21 s without.
  int64_t block_bab_domains = -1;
  double timeout_s = 0;           // the whole check (0 = none); cells not reached leave it unknown
  int64_t max_listed_cells = 64;  // grid-only cells listed in the result
  std::function<bool()> should_stop;
  Status validate() const;
};

enum class ManipulationAnswer {
  kFalsified,
  kVerifiedContinuous,
  kVerifiedGridOnly,
  kUnknown,
  kError,
  kNotRun
};
// "falsified", "verified-continuous", "verified-grid-only", "unknown", "error", "not_run"
const char* manipulation_answer_name(ManipulationAnswer a);
// The guarantee an answer carries: "counterexample", "continuous", "grid", "none".
const char* manipulation_guarantee(ManipulationAnswer a);

struct ManipulationCounterexample {
  std::vector<double> theta;  // the parameters (d values)
  std::vector<double> x;      // the image x(theta), flat
  std::vector<double> y;      // the model's outputs, float64
  int64_t predicted = -1;     // argmax of y (the lowest index on ties)
  std::string found_by;       // "clean", "random", "pgd", "input-bab", "bab", "smt", "grid"
  bool on_grid = false;       // theta is a grid point (DLV could have found it)
};

struct ManipulationCheckResult {
  ManipulationAnswer answer = ManipulationAnswer::kNotRun;
  std::string message;  // why unknown / error; errors of bound engines that left cells open
  ErrorCode error = ErrorCode::kOk;
  std::vector<int64_t> grid;  // cells per dimension used
  std::string region;         // how cells were bounded: "theta" or "box"
  int64_t cells = 0;          // prod grid
  int64_t cells_certified = 0, cells_grid_only = 0, cells_open = 0;
  int64_t grid_points = 0;                            // prod (grid + 1): what DLV evaluates
  int64_t grid_points_checked = 0;                    // evaluated by the fallback
  int64_t bound_calls = 0;                            // verify_property calls (blocks and cells)
  int64_t blocks_certified = 0;                       // of which certified a block of several cells
  int64_t domains = 0;                                // BaB domains over all cells
  std::vector<std::vector<int64_t>> grid_only_cells;  // cell indices, the first max_listed_cells
  std::optional<ManipulationCounterexample> counterexample;
  std::vector<std::pair<std::string, double>> method_times;  // seconds: attack, bounds, grid
  double time_s = 0;
};

// Checks family `m` around its sample for class `label`. `model` is the classifier (prepared,
// specialised to one sample, m.size() inputs). Errors are reported in the result (kError).
ManipulationCheckResult check_manipulation(const AttackModel& model,
                                           const Manipulation& m,
                                           int64_t label,
                                           const ManipulationCheckOptions& options);

// The grid coordinate k in [0, cells] of dimension j: theta_lo + (theta_hi - theta_lo) k / cells
// (exactly theta_hi at k = cells).
double grid_coordinate(const Manipulation& m, size_t j, int64_t cells, int64_t k);

}  // namespace nncert
