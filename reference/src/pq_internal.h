// Internal helpers of the Part B reference, shared by its translation units (pq_*.cc).
#pragma once

#include <cfloat>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "deltapq/reference/pq.h"

namespace dpq::ref::pq_detail {

inline const Real& infinity() {
  static const Real inf = std::numeric_limits<Real>::infinity();
  return inf;
}

// Unit roundoff of double and gamma_n = n u / (1 - n u).
constexpr double kU = DBL_EPSILON / 2;
inline double gamma_double(int n) { return n * kU / (1 - n * kU); }

// The blocks x[:, off .. off + dm) of an n x d row-major array, as n x dm.
inline std::vector<double> extract_block(const std::vector<double>& x, std::size_t n, int d, int off, int dm) {
  std::vector<double> out(n * dm);
  for (std::size_t i = 0; i < n; ++i)
    for (int j = 0; j < dm; ++j) out[i * dm + j] = x[i * d + off + j];
  return out;
}

inline RMatrix block_of(const RMatrix& a, int off, int dm) { return a.block(off, off, dm, dm); }

// Certified interval [lo, hi] -> value +- error.
inline Certified from_interval(const Real& lo, const Real& hi) { return {(lo + hi) / 2, (hi - lo) / 2}; }
inline Real lower(const Certified& c) { return c.value - c.error; }
inline Real upper(const Certified& c) { return c.value + c.error; }

// x^(1/n) for x >= 0 (monotone).
inline Real root(const Real& x, int n) { return x <= 0 ? Real(0) : Real(exp(log(x) / n)); }

// T A T^T in Real and the entrywise bound gamma_{2d} |T| |A| |T|^T on its rounding error.
void congruence(const RMatrix& t, const RMatrix& a, RMatrix& out, RMatrix& err);
// Certified determinant of a symmetric block whose entries are known within `err` (Weyl).
Certified block_determinant(const RMatrix& a, const RMatrix* err, const std::string& what);

using RowMajorMatrixXd = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
// B5 (kNN shape tier): for every row i of w (m >= k + 1 rows), the k-th smallest of (w_i - w_j).squaredNorm() over j != i, the same
// numbers as computing all of them (pq_shape.cc says why) -- the kNN shape tier's distances.
std::vector<double> kth_neighbour_squared_distances(const RowMajorMatrixXd& w, int k);

}  // namespace dpq::ref::pq_detail
