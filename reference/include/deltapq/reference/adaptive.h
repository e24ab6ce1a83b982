// The adaptive path's cheap layer (issue 16): quantities computed in hardware double together with a
// rigorous bound on their distance to the exact value. A verdict that the cheap bound decides is the
// verdict of the full MPFR path (whose own error is ~2^-250 relative at the default precision); when the
// bound cannot decide it, or the cheap enclosure does not exist (a singular Sigma_V, overflow), the
// caller escalates that quantity to the full path. Every bound is derived in proofs-notes/A3.md
// ("Adaptive precision"), and props/a3_adaptive_props.cc compares the two paths.
#pragma once

#include <Eigen/Core>
#include <cstddef>
#include <optional>

#include "deltapq/reference/linalg.h"

namespace dpq::ref {

// Binary64's unit roundoff and Higham's gamma_n = n u / (1 - n u): the bounds of the cheap layer (here and
// in the app's coordinate statistics) are written with them.
inline constexpr double kDoubleRoundoff = 0x1p-53;
inline double gamma_double(double n) { return n * kDoubleRoundoff / (1 - n * kDoubleRoundoff); }
// The relative error of a difference of two doubles rounded once (the delta rows in double).
inline constexpr double kRoundedDifferenceError = kDoubleRoundoff / (1 - kDoubleRoundoff);
// 2^(e - p) at the current precision p: the scale of the full path's own certified errors; a cheap verdict
// must stay decided with such a term added to count as the full path's verdict.
double full_path_scale(int e);

// A3 input: the sample covariance (1/T) sum_t (r_t - rbar)(r_t - rbar)^T of T rows r_t of d values, in double, with
// a componentwise bound on its distance to the exact covariance of the exact rows:
//   |sigma_ij - Sigma_exact_ij| <= scaled_error scale_i scale_j + mean_error_i mean_error_j + E_ij,
// with ||E||_2 <= extra_error, and `error` >= ||sigma - Sigma_exact||_2 as a whole. The rows passed in are
// the exact rows up to a relative error `input_relative_error` per entry (0 when they are the data
// themselves; u / (1 - u) for differences of doubles rounded once).
struct DoubleCovariance {
  Eigen::MatrixXd sigma;
  Eigen::VectorXd scale, mean_error;
  double scaled_error = 0, extra_error = 0;
  double error = 0;
};
// nullopt when a sum overflows (the full path then works at its own exponent range).
std::optional<DoubleCovariance> covariance_double(const double* rows, std::size_t tokens, std::size_t dim,
                                                  double input_relative_error = 0);

// A3's alpha* = lambda_max(Sigma_V^{-1/2} Sigma_delta Sigma_V^{-1/2}) of the exact covariances, enclosed in
// double. nullopt -- escalate -- unless Sigma_V is certified positive definite through the cheap bound, far
// enough from singular that the full path takes the same branch (its smallest eigenvalue above 2^(48-p) of
// its norm, p = precision_bits()), and the enclosure is tighter than 1e-6 relative.
struct CheapDomination {
  DominationFactor factor;     // |alpha* - alpha.value| <= alpha.error; witness v: v^T Sigma_V v ~ 1
  double sigma_v_floor = 0;    // certified lower bound on lambda_min(Sigma_V)
  double full_path_error = 0;  // a bound on the full path's own certified error of alpha*
  // alpha with its error widened by twice full_path_error (and the verdict's slack): a verdict decided
  // with it is decided, the same way, by the full path too.
  Certified for_decisions() const;
};
std::optional<CheapDomination> domination_factor_enclosure(const DoubleCovariance& sigma_delta, const DoubleCovariance& sigma_v);

// A3's verdict on Sigma_delta <= Sigma_V from the cheap alpha*, when it is the full path's verdict: with
// Sigma_V >= floor I, alpha* < 1 gives lambda_min(Sigma_V - Sigma_delta) >= (1 - alpha*) floor, and alpha* > 1
// gives it <= -(alpha* - 1) floor. The full path certifies lambda_min to ~2^(30-p) of the matrices' norm, so
// a verdict is returned only when that bound exceeds 2^(48-p) (||Sigma_V||_F + ||Sigma_delta||_F); nullopt
// otherwise (escalate to loewner_le).
std::optional<Verdict> loewner_from_alpha(const CheapDomination& alpha, const DoubleCovariance& sigma_delta,
                                          const DoubleCovariance& sigma_v);

}  // namespace dpq::ref
