// Generators and helpers shared by the property tests (compiled once, linked into each property
// executable). Matrices are built so that the properties' premises hold EXACTLY in Real:
// a covariance is B B^T with B in double, and products of doubles are exact at >= 256 bits.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <rapidcheck.h>
#include <sstream>
#include <string>
#include <ostream>
#include <vector>

#include "deltapq/reference/linalg.h"
#include "deltapq/reference/tails.h"

namespace dpq::props {

// A test of a test: the property run on a mutated input must be *falsified* -- RapidCheck found a
// counterexample. Giving up (too many discarded cases) or an exception is not a catch.
template <class Testable>
::testing::AssertionResult falsified(const std::string& mutant, Testable&& testable) {
  const auto result = rc::detail::checkTestable(std::forward<Testable>(testable));
  // RapidCheck reports an exception as a failure whose description says so (Property.hpp).
  rc::detail::FailureResult failure;
  if (result.match(failure) && failure.description.rfind("Exception thrown", 0) != 0 &&
      failure.description.rfind("Unknown object thrown", 0) != 0)
    return ::testing::AssertionSuccess() << mutant << ": falsified";
  std::ostringstream ss;
  rc::detail::printResultMessage(result, ss);
  return ::testing::AssertionFailure() << "the mutant '" << mutant << "' was not caught: " << ss.str();
}

using ref::Real;
using ref::RMatrix;
using ref::RVector;

// A factor B (d x r, double) with orthogonal-ish columns scaled by sqrt(lambda), lambda log-uniform
// over [1/condition, 1] times `scale`; r < d gives an exactly rank-deficient B B^T.
struct Factor {
  int dim = 1;
  std::vector<double> b;  // row-major d x r
  int rank = 1;
};
Factor random_factor(std::uint64_t seed, int dim, int rank, double condition, double scale);
// A factor whose entries RapidCheck generates and shrinks (toward 0): B_ij = k_ij / 64 with k_ij an
// int8, column j scaled by 2^-e_j (e_j in 0..20: conditions up to 2^40). Dyadic, so B B^T is exact.
rc::Gen<Factor> gen_factor(int dim, int rank);
RMatrix gram(const Factor& f);                        // B B^T, exact in Real
RMatrix gram_concat(const Factor& a, const Factor& c);  // [A C][A C]^T = A A^T + C C^T, exact

// An SPD (or PSD, rank-deficient) case: d in 1..max_dim, condition up to 1e12.
struct SpdCase {
  std::uint64_t seed;
  int dim;
  int rank;
  double log10_condition;
};
rc::Gen<SpdCase> gen_spd_case(int max_dim, bool allow_rank_deficient);

// A Loewner-dominated pair: Sigma_delta = A A^T, Sigma_V = A A^T + C C^T (exactly), with
// Sigma_delta optionally scaled by a dyadic factor in (0, 2] (the "alpha-scaled variant"). A and C
// come from gen_factor, so a counterexample shrinks to small matrices.
struct DominatedPair {
  RMatrix sigma_delta, sigma_v;
  bool strict = false;   // C != 0 (some entry of C is nonzero)
  double scale = 1.0;    // Sigma_delta = scale * A A^T
};
rc::Gen<DominatedPair> gen_dominated_pair(int max_dim);

// Samples [T, d] of mu + mix * z with z i.i.d. from one of the Part A families.
enum class Family { bounded, gaussian, student_t, gen_gaussian };
struct SampleCase {
  Family family;
  double shape;  // nu or beta
  std::uint64_t seed;
  int dim;
  int tokens;
};
rc::Gen<SampleCase> gen_sample_case(int max_dim, int max_tokens);
RMatrix draw_sample(const SampleCase& c);
const char* family_name(Family f);

// Printers, so that RapidCheck shows counterexamples instead of <???>.
void showValue(const SampleCase& c, std::ostream& os);
void showValue(const DominatedPair& p, std::ostream& os);
void showValue(const SpdCase& c, std::ostream& os);

// A design: b_i in 0..16, kappa in [0.5, 8].
rc::Gen<std::vector<int>> gen_bits(int dim);
rc::Gen<double> gen_kappa();

// Unit-variance draws of a tail model, in double (Monte-Carlo checks).
std::vector<double> draw_model(const ref::TailModel& m, std::size_t n, std::uint64_t seed);

}  // namespace dpq::props
