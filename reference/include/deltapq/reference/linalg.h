// Sample moments and symmetric eigendecompositions in Real with certified eigenvalue radii,
// and the Loewner-order tools of A3.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "deltapq/reference/certified.h"
#include "deltapq/reference/real.h"

namespace dpq::ref {

// Converts a row-major [rows, cols] block of doubles to Real exactly.
RMatrix to_real(const double* data, std::size_t rows, std::size_t cols);

// Mean and covariance (normalised by 1/T: the sample's own second moment, so that the empirical
// distortion identities of Part A hold sample-wise), as (T sum x x^T - S S^T) / T^2 in Real: for
// float32/float64 inputs whose exponents span less than ~100 bits the numerator is exact at the
// default 256 bits, so only the final division rounds, and a constant sample has covariance exactly 0.
struct SampleMoments {
  RVector mean;
  RMatrix covariance;
  std::size_t count = 0;
};
SampleMoments sample_moments(const RMatrix& rows);
// The same (A3/A4 moments), bit for bit, for T rows of doubles (deltas = false) or for their T - 1 differences r_{t+1} - r_t
// (deltas = true, as sample_moments of the exact differences): when every column's values lie on one grid
// 2^lsb spanning at most 60 bits, every pairwise sum fits 126 bits and the precision is >= 128 bits, the
// Real path's sums are exact and are formed here in 128-bit integers instead (~100x faster); otherwise it
// is the Real path. `integer_path` (optional) says which one ran.
SampleMoments sample_moments(const double* rows, std::size_t tokens, std::size_t dim, bool deltas = false,
                             bool* integer_path = nullptr);

// A = V diag(values) V^T. values descending. radius is certified for the sorted pairing:
// |lambda_i(A) - values_i| <= radius_i for every i, from the residual R = AV - V Theta and the
// orthogonality defect E = V^T V - I (Weyl on Q^T A Q with Q the polar factor of V; proof in
// proofs-notes/A3.md). pair_residual_i = ||A v_i - theta_i v_i|| is reported as well.
struct SymmetricEigen {
  RVector values;
  RMatrix vectors;
  RVector radius;
  RVector pair_residual;
  Real orthogonality_defect;
};
// Throws dpq::Error if A is not square, not symmetric, or has a non-finite entry; `what` names A.
SymmetricEigen symmetric_eigen(const RMatrix& a, const std::string& what);

// E2 for the Loewner tools: throws dpq::Error naming `what` and the offending eigenvalue when the
// smallest eigenvalue is certified negative.
void require_psd(const SymmetricEigen& e, const std::string& what);

// A3: alpha* = min{alpha : S_delta <= alpha S_V} = lambda_max(S_V^{-1/2} S_delta S_V^{-1/2}).
// For singular S_V (eigenvalues certified zero), alpha* is finite iff range S_delta is inside
// range S_V; otherwise finite == false and alpha is +inf, with `reason` saying why.
// witness: a generalized eigenvector v with v^T S_V v = 1 and v^T S_delta v = alpha (finite case).
struct DominationFactor {
  bool finite = true;
  Certified alpha;
  RVector witness;
  std::string reason;
};
DominationFactor domination_factor(const RMatrix& sigma_delta, const RMatrix& sigma_v);
// The same with the two eigendecompositions already at hand (symmetric_eigen of sigma_v and of
// sigma_delta; the audits compute them anyway): the same result, two eigensolves fewer.
DominationFactor domination_factor(const RMatrix& sigma_delta, const RMatrix& sigma_v, const SymmetricEigen& eig_v,
                                   const SymmetricEigen& eig_delta);

// A3: the verdict on S_delta <= S_V from the certified smallest eigenvalue of S_V - S_delta.
struct LoewnerOrder {
  Verdict verdict;
  Certified min_eigenvalue_of_difference;
};
LoewnerOrder loewner_le(const RMatrix& sigma_delta, const RMatrix& sigma_v);

// A3 consequences of S_delta <= S_V, each as a certified comparison (lhs <= rhs).
struct OrderingCheck {
  std::string what;  // "eigenvalue 3", "trace", "determinant", "principal block {0,2}", "congruence"
  Certified lhs;
  Certified rhs;
  Verdict verdict;
};
std::vector<OrderingCheck> weyl_ordering(const RMatrix& sigma_delta, const RMatrix& sigma_v);
OrderingCheck trace_ordering(const RMatrix& sigma_delta, const RMatrix& sigma_v);
OrderingCheck determinant_ordering(const RMatrix& sigma_delta, const RMatrix& sigma_v);
// Principal submatrices on the index set `block` are Loewner-ordered: lhs = 0 (nothing),
// rhs = certified smallest eigenvalue of the block difference; verdict "holds" iff it is >= 0.
OrderingCheck principal_block_ordering(const RMatrix& sigma_delta, const RMatrix& sigma_v,
                                       const std::vector<int>& block);
// W S_delta W^T <= W S_V W^T for any W (same encoding as principal_block_ordering).
OrderingCheck congruence_ordering(const RMatrix& sigma_delta, const RMatrix& sigma_v, const RMatrix& w);

// Determinant from certified eigenvalues: [prod max(0, l_i - r_i), prod (l_i + r_i)] as value +- error.
Certified certified_determinant(const SymmetricEigen& e);

}  // namespace dpq::ref
