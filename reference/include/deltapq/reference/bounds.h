// Every Part A bound, each naming its theorem ID. Bounds are upper bounds on distortion; actual
// distortions are measured separately and never asserted to be ordered (A4).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "deltapq/reference/certified.h"
#include "deltapq/reference/linalg.h"
#include "deltapq/reference/quantizer.h"
#include "deltapq/reference/tails.h"

namespace dpq::ref {

// A2: B_bs = sum_i c_i^2 4^{-b_i} (valid when |Y_i| <= c_i).
Real bounded_support_bound(const RealDesign& design);
// A2, matched form: kappa^2 sum_i lambda_i 4^{-b_i}, with the eigenvalue radii carried into the error.
Certified bounded_support_bound_matched(const SymmetricEigen& eig, const Real& kappa, const std::vector<int>& bits);
// A2 trace corollary: kappa^2 4^{-min b} tr(Sigma).
Certified trace_corollary_bound(const SymmetricEigen& eig, const Real& kappa, const std::vector<int>& bits);

// A4: the comparative matched bound. bound = alpha* B_bs^V, measured = B_bs^delta.
struct ComparativeBound {
  Certified bound_delta;    // B_bs^delta
  Certified bound_v;        // B_bs^V
  Certified alpha_bound_v;  // alpha* B_bs^V (infinite alpha*: not finite)
  bool alpha_finite = true;
  Verdict ordering;   // B_bs^delta <= alpha* B_bs^V
  Verdict advantage;  // B_bs^delta < B_bs^V
};
ComparativeBound comparative_bounded_support(const SymmetricEigen& eig_delta, const SymmetricEigen& eig_v,
                                             const DominationFactor& alpha, const Real& kappa,
                                             const std::vector<int>& bits);

// A5, sample-wise: B_clip = sum_i [c_i^2 4^{-b_i} P_emp(|Y_i| <= c_i) + O_i], O_i the exact empirical
// overload term; and the moment form with O_i replaced by E_emp[Y_i^4] / c_i^2.
struct ClippedBound {
  RVector covariance_term;  // c_i^2 4^{-b_i} P(|Y_i| <= c_i)
  RVector overload;         // O_i
  Real error;               // certified rounding error of total()
  Real total() const { return covariance_term.sum() + overload.sum(); }
  Certified certified() const { return {total(), error}; }
};
ClippedBound clipped_bound_empirical(const RMatrix& coords, const RealDesign& design);
ClippedBound clipped_bound_moment(const RMatrix& coords, const RealDesign& design);
// A5, model form: sum_i lambda_i [kappa^2 4^{-b_i} P(|Z| <= kappa) + tau(kappa, b_i)] for a tail model.
Certified clipped_bound_model(const SymmetricEigen& eig, const Real& kappa, const std::vector<int>& bits,
                              const TailModel& model);
// The empirical tail functional of each standardised coordinate Z_i = Y_i / sqrt(lambda_i)
// (a coordinate with lambda_i <= 0 has tau = 0).
RVector empirical_tail_functional(const RMatrix& coords, const RVector& lambda, const Real& kappa,
                                  const std::vector<int>& bits);

// A6: B' = sum_i lambda_i [kappa^2 4^{-b_i} + tau_i].
Certified a6_bound(const SymmetricEigen& eig, const Real& kappa, const std::vector<int>& bits, const RVector& tau);
// A6 premise: tail domination tau_i^delta <= tau_i^V for every i; returns the first violating
// index, or nullopt when every coordinate is dominated.
std::optional<int> first_tail_domination_violation(const RVector& tau_delta, const RVector& tau_v);

// A6 necessity: Sigma_delta = s Sigma_V (s < 1, so Sigma_delta <= Sigma_V) with a heavier-tailed
// delta model; searches kappa on a grid for a design where B'^delta > B'^V and returns it.
struct A6Counterexample {
  bool found = false;
  Real kappa;
  int bits = 0;
  Real scale;  // s
  Certified bound_delta, bound_v;
};
A6Counterexample a6_counterexample(const RVector& lambda_v, const Real& scale, const TailModel& delta_model,
                                   const TailModel& v_model, int bits);

}  // namespace dpq::ref
