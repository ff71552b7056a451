// ReLU-split branch and bound (complete verification of one input region), beta-CROWN style:
// a domain is the region plus split decisions on unstable ReLU neurons (x_j >= 0 or x_j <= 0)
// and the unsafe terms not refuted on it yet. Each domain is bounded by CROWN / alpha-CROWN under
// its splits (crown.h: clamped intermediate bounds, beta Lagrange terms for the split
// constraints), starting from its parent's intermediate bounds and optimised alpha / beta (a
// warm start). Domains whose unsafe terms are all refuted are pruned; the others are split on the
// neuron chosen by BaBSR-style scores or by filtered smart branching (relu_bab_branch.h), and
// kept in a best-first queue ordered by their worst margin; above a memory cap new children are
// worked depth-first. A batch of domains is split per round and the children are bounded in
// parallel. A domain without unstable neurons is a linear program over the region; its CROWN
// minimiser is checked as a counterexample, and an exact leaf solver (e.g. SMT) may be plugged
// in for domains with few unstable neurons. PGD runs every few rounds, started from the points
// where the worst open domains' lower bounds are attained.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "bounds/crown.h"
#include "verify/attack.h"

namespace nncert {

// What an exact solver is asked about one domain: does some x of region `case_index` that
// satisfies every split make an unsafe term of that region true?
struct LeafProblem {
  const AttackModel* model = nullptr;
  const Property* property = nullptr;
  int64_t case_index = 0;
  const std::vector<ReluSplit>* splits = nullptr;
  const std::vector<Interval>* bounds = nullptr;  // sound intermediate bounds (per ValueId)
  int64_t unstable = 0;                           // unstable ReLU neurons left
  std::function<bool()> should_stop;
};
struct LeafAnswer {
  enum class Kind { kSafe, kUnsafe, kUnknown };
  Kind kind = Kind::kUnknown;
  std::vector<double> x;  // kUnsafe: a candidate input (re-checked in float64 by the caller)
};
using LeafSolver = std::function<Expected<LeafAnswer>(const LeafProblem&)>;

struct ReluBabOptions {
  double timeout_s = 0;               // 0 = none
  std::function<bool()> should_stop;  // external stop / caller's deadline
  bool safe_rounding = true;
  int threads = 0;
  bool alpha = true;  // alpha-CROWN per domain (intermediate bounds by plain CROWN)
  // Sound intermediate bounds of the whole region (per ValueId), e.g. alpha-CROWN's optimised
  // ones from the pipeline: the root domain takes them. Without them the root optimises its own
  // by alpha-CROWN. Every domain inherits them (much tighter than plain CROWN's on deep nets:
  // mnistfc 256x6 prop_5 root margin -100 instead of -590). The root's alpha / beta run with
  // `root_alpha` (20 steps): its parameters start every domain's (on 256x4 prop_13, 10 steps
  // there took 1791 domains to decide instead of 719).
  const std::vector<Interval>* root_bounds = nullptr;
  AlphaOptions root_alpha;
  bool beta = true;  // split constraints as optimised Lagrange terms (needs alpha)
  AlphaOptions alpha_options = [] {
    AlphaOptions a;
    a.iterations = 10;
    a.early_stop_patience = 4;
    a.optimize_intermediate = false;  // per domain: too costly; intermediate bounds by CROWN
    return a;
  }();
  // Branching: BaBSR-style intercept score, or filtered smart branching: the best
  // `fsb_candidates` neurons by each of two scores, each judged by bounding its two children
  // cheaply (parent's intermediate bounds, alpha and beta, no optimisation), taking the one
  // whose worse child is best. BaBSR by default: on hard mnistfc instances it decided more
  // within 60 CPU seconds (docs/decisions/0005-relu-bab-defaults.md).
  enum class Branching { kBabsr, kFsb };
  Branching branching = Branching::kBabsr;
  int fsb_candidates = 3;
  // Children start alpha-/beta-CROWN from their parent's optimised parameters.
  bool inherit_alpha = true;
  // Children keep their parent's intermediate bounds (clamped by the splits; beta-CROWN's
  // default) instead of recomputing those after the earliest split by CROWN.
  bool fixed_intermediate = false;
  // Memory cap: more open domains than max_queue, or more than max_queue_bytes (an estimate of
  // what the open domains hold), and new children are worked depth-first.
  int64_t max_queue = 20000;
  int64_t max_queue_bytes = int64_t{1} << 30;
  int batch = 4;            // domains split per round (their children are bounded in parallel)
  int64_t max_domains = 0;  // 0 = no limit
  // Every this many rounds, PGD on the region (a different seed each time), started from the
  // points attaining the lower bounds of the worst open domains and from random points;
  // 0 = never.
  int reattack_every = 25;
  AttackOptions attack = [] {
    AttackOptions a;
    a.random_samples = 16;
    a.restarts = 4;
    return a;
  }();
  // Exact solver for domains with at most `leaf_max_unstable` unstable neurons (0: only
  // domains without unstable neurons); none: such domains stay undecided.
  LeafSolver leaf_solver;
  // beta steps for a domain without unstable neurons (an LP whose dual beta solves), 0 = none.
  int leaf_iterations = 100;
  int64_t leaf_max_unstable = 0;
};

struct ReluBabResult {
  enum class Outcome { kVerified, kFalsified, kUnknown, kTimeout };
  Outcome outcome = Outcome::kUnknown;
  std::string reason;  // why it stopped when not decided
  std::optional<Counterexample> counterexample;
  int64_t domains = 0;          // domains bounded (the root included)
  int64_t max_queue_size = 0;   // largest number of open domains
  int64_t max_queue_bytes = 0;  // their largest estimated memory
  int64_t depth_first = 0;      // children worked depth-first (memory cap)
  int64_t fsb_bounds = 0;       // cheap bounds of candidate children (FSB)
  int max_depth = 0;            // most splits in a domain
  int64_t leaves = 0;           // domains without unstable neurons / given to the leaf solver
  double worst_margin = 0;      // the worst open margin when it stopped (for reports)
};

// Branch and bound on region `case_index` of the property. Errors of the bound engine are
// returned; the verdict is in the result.
Expected<ReluBabResult> relu_bab(const AttackModel& model,
                                 const Property& property,
                                 int64_t case_index,
                                 const ReluBabOptions& options);

}  // namespace nncert
