// Input-split branch and bound: complete verification of one box region of a property for
// networks with few inputs (ACAS Xu has 5). A domain is a sub-box of the region with the unsafe
// terms not yet refuted on it. Each domain is bounded by CROWN (lower bounds of the terms'
// constraint rows only); a term is refuted on the domain when some row's lower bound exceeds its
// right-hand side, and the domain is closed when every term is. Open domains are split at the
// midpoint of one input dimension, the one with the largest (|a_i| + mean_j |a_j|) * width_i for
// the linear lower bound A x + c of the most violated term's best row (the mean keeps wide
// dimensions with a small coefficient in play); the widest dimension when A is zero. Dense ReLU
// chains (AttackModel::dense_chain) are bounded by the dense engine, each domain passing the ReLU
// neurons proven stable to its children.
//
// Falsification runs alongside: in each open domain the points where CROWN's linear lower bounds
// are attained and the domain's centre are evaluated on the runtime, and every `attack_every`
// rounds PGD searches the most violated domain; anything found is re-checked in float64 against
// the original property (check_counterexample) before it counts.
//
// Domains are taken best-first (most violated first) in batches and bounded in parallel, each
// CROWN call on one thread; results are merged in batch order, so verdicts and domain counts do
// not depend on the thread count. Above `max_queue` open domains, new children are worked
// depth-first, which bounds the memory.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "bounds/crown.h"
#include "verify/attack.h"

namespace nncert {

// The PGD runs inside domains: smaller than the whole-region attack (8 random points, 4 starts,
// 10 steps).
AttackOptions input_bab_attack_defaults();

struct InputBabOptions {
  int batch = 16;               // domains bounded per round
  int threads = 0;              // 0 = all hardware threads
  int64_t max_queue = 500'000;  // open domains kept best-first; beyond, children go depth-first
  int64_t max_domains = 0;      // stop (unknown) after bounding this many domains; 0 = no limit
  bool safe_rounding = true;    // bounds cover float64 rounding (docs/bounds.md)
  // Bound up to AttackModel::batch() domains per CROWN call on the batched graph. Off: measured
  // ~10x slower per domain on ACAS Xu (the coefficients become dense over the whole batch).
  bool batch_graph = false;
  // Networks that are dense ReLU chains (AttackModel::dense_chain) are bounded by the dense
  // engine (bounds/dense_chain.h: forward linear intermediate bounds, backward CROWN for the
  // rows), `chain_batch` domains per round; off: always the general CROWN engine.
  bool dense_engine = true;
  int chain_batch = 256;
  int alpha_depth = -1;  // alpha-CROWN for domains at least this deep; -1 = never
  AlphaOptions alpha;
  int attack_every = 32;  // rounds between PGD runs in the most violated domain; 0 = never
  AttackOptions attack = input_bab_attack_defaults();
  std::function<bool()> should_stop;  // polled every round; stops with `stopped`
  Status validate() const;
};

struct InputBabResult {
  enum class Outcome { kVerified, kFalsified, kStopped, kUnknown };
  Outcome outcome = Outcome::kUnknown;
  std::optional<Counterexample> counterexample;  // kFalsified: checked in float64
  int64_t domains = 0;                           // domains bounded
  int max_depth = 0;                             // deepest split
  std::string message;                           // why it is unknown
};

// Runs input BaB on region `case_index` of the property, which must be a box without linear
// constraints (kInvalidArgument otherwise). The graph of `model` must be prepared and
// specialised to one sample.
Expected<InputBabResult> input_bab(const AttackModel& model,
                                   const Property& property,
                                   int64_t case_index,
                                   const InputBabOptions& options = {});

}  // namespace nncert
