// A value with a certified absolute error, and the three-way verdict of deltapq.
// A verdict says "holds" or "fails" only when the margin exceeds the combined certified error;
// otherwise "undecided". Nothing else decides a verdict: no tolerance is picked by hand.
#pragma once

#include <string>

#include "deltapq/core/verdict.h"
#include "deltapq/reference/real.h"

namespace dpq::ref {

struct Certified {
  Real value;
  Real error;  // |exact - value| <= error, error >= 0
};

using dpq::Verdict;
using dpq::to_string;

// Verdict on "lhs <= rhs" given certified values.
Verdict verdict_le(const Certified& lhs, const Certified& rhs);
// Verdict on "lhs < rhs": same test; equality within the error is undecided, never holds.
inline Verdict verdict_lt(const Certified& lhs, const Certified& rhs) { return verdict_le(lhs, rhs); }

// Slack for accumulating n rounded operations on non-negative terms whose exact sum is `magnitude`:
// gamma_n * magnitude with gamma_n = n u / (1 - n u) (Higham's bound for recursive summation and
// products of non-negative terms).
Real rounding_slack(const Real& magnitude, double n_ops);

}  // namespace dpq::ref
