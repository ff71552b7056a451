// Internal to lib/smt: the exact encoding of a prepared graph into Z3 linear real arithmetic.
// Every value becomes one Z3 term per element (flat, row-major); constants are exact rationals.
// Affine ops produce equalities over fresh variables (Gemm, MatMul, Conv, pools) or composed
// terms (element-wise Add / Mul by constants, data movement); piecewise-linear ops add big-M
// disjunctions with 0/1 integer indicators. This header includes z3++.h: include it only from
// lib/smt's .cpp files.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <z3++.h>

#include "core/status.h"
#include "graph/graph.h"
#include "ops/op_def.h"

namespace nncert::smt {

// The exact decimal expansion of a finite double (every double is a dyadic rational, so its
// expansion terminates): "-0.1000000000000000055511151231257827021181583404541015625".
std::string exact_decimal(double v);
// v as an exact Z3 real numeral.
z3::expr real_num(z3::context& ctx, double v);

using Terms = std::vector<z3::expr>;

// One candidate of a max: a term and a sound interval for it.
struct Candidate {
  z3::expr e;
  double lo, hi;
};

class Encoder {
 public:
  // `bounds`: a sound interval per ValueId (invalid tensors where unknown). `active` /
  // `inactive`: fixed ReLU phases as (ValueId of the ReLU input or output, flat element).
  Encoder(z3::context& ctx,
          z3::solver& solver,
          const Graph& g,
          const std::vector<Interval>& bounds,
          std::set<std::pair<ValueId, int64_t>> active,
          std::set<std::pair<ValueId, int64_t>> inactive,
          bool big_m);

  // Encodes every node in topological order, with `x` as the first graph input's terms.
  Status encode(const Terms& x);
  const Terms& terms(ValueId v);

  int64_t disjunctions() const { return disjunctions_; }
  int64_t integer_vars() const { return integer_vars_; }  // indicators (Boolean or 0/1 integer)

 private:
  Status encode_node(const Node& n);
  Status affine(const Node& n);
  Status elementwise(const Node& n);
  Status movement(const Node& n);
  Status gemm(const Node& n);
  Status mat_mul(const Node& n);
  Status conv(const Node& n);
  Status pool(const Node& n, bool max);
  Status global_average_pool(const Node& n);
  Status batch_norm(const Node& n);
  Status activation(const Node& n);
  Status max_min(const Node& n, bool max);

  // y = max(candidates), by y >= c_i and y <= c_i + (max_{j != i} hi_j - lo_i)(1 - d_i),
  // sum d_i = 1, after dropping candidates that can never be the max (hi_i < max_j lo_j).
  // nullopt when a candidate that may be the max has no finite interval.
  std::optional<z3::expr> max_of(std::vector<Candidate> c);
  // min(c) = -max(-c).
  std::optional<z3::expr> min_of(std::vector<Candidate> c);
  // A fresh real variable equal to e, with the interval [lo, hi] asserted when finite.
  z3::expr define(const z3::expr& e, double lo, double hi);
  z3::expr fresh_real();
  bool has_bounds(ValueId v) const;
  std::pair<double, double> bound(ValueId v, int64_t i) const;
  Status unsupported(const Node& n, const std::string& why) const;
  const Shape& shape(ValueId v) const { return g_.value(v).shape; }

  z3::context& ctx_;
  z3::solver& s_;
  const Graph& g_;
  const std::vector<Interval>& bounds_;
  std::vector<std::vector<double>> lo_, hi_;  // bounds_ as doubles, filled on first use
  std::set<std::pair<ValueId, int64_t>> active_, inactive_;
  bool big_m_ = false;
  std::vector<Terms> vals_;
  std::vector<char> has_;
  int64_t disjunctions_ = 0, integer_vars_ = 0, fresh_ = 0;
};

}  // namespace nncert::smt
