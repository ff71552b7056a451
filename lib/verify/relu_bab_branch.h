// Branching of ReLU-split branch and bound (relu_bab.cpp; internal to lib/verify): the unstable
// neurons of a domain and their scores. For row r of a domain's worst term, let lambda_j be the
// coefficient of ReLU output j in r's (plain CROWN) lower bound and [l, u] the neuron's input
// interval, l < 0 < u:
//   intercept score  max(0, -lambda) * (-u l / (u - l)): a negative lambda takes the upper chord
//                    y <= u (x - l) / (u - l), whose intercept costs that much in the bound and
//                    disappears in both children (BaBSR's intercept term, Bunel et al. 2020);
//   gap score        |lambda| * (-u l / (u - l)): the largest gap between the two lines of the
//                    relaxation, weighted by the neuron's influence on the row, of either sign.
// BaBSR branches on the best intercept score (ties: |lambda| (u - l), then the widest interval).
// Filtered smart branching (FSB, De Palma et al. 2021) takes the best few of both scores and
// bounds each candidate's two children cheaply; relu_bab.cpp does that part.
#pragma once

#include <cstdint>
#include <vector>

#include "bounds/crown.h"

namespace nncert::relu_bab_detail {

struct Neuron {
  ValueId v = kNoValue;  // the ReLU input
  int64_t j = 0;         // flat element
};

// Unstable ReLU neurons (l < 0 < u) under the bounds `b` (per ValueId), in node order.
std::vector<Neuron> unstable_neurons(const Graph& g,
                                     const std::vector<NodeId>& order,
                                     const std::vector<Interval>& b);

// coef: per ValueId of a ReLU input, the row's lambda ([n]; invalid: 0).
Neuron babsr_choice(const std::vector<Neuron>& cands,
                    const std::vector<Interval>& b,
                    const std::vector<Tensor>& coef);

// FSB's filter: the best k candidates by the intercept score, then the best k by the gap score
// not already taken (only candidates with a positive score; at least one candidate overall).
std::vector<Neuron> fsb_candidates(const std::vector<Neuron>& cands,
                                   const std::vector<Interval>& b,
                                   const std::vector<Tensor>& coef,
                                   int k);

}  // namespace nncert::relu_bab_detail
