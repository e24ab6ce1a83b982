// The one translation unit that instantiates Eigen's eigensolvers on Real (compile-time heavy).
#include "deltapq/reference/linalg.h"

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <optional>

#include "deltapq/core/error.h"

namespace dpq::ref {
namespace {

Real frobenius(const RMatrix& m) {
  Real s(0);
  for (Eigen::Index j = 0; j < m.cols(); ++j)
    for (Eigen::Index i = 0; i < m.rows(); ++i) s += m(i, j) * m(i, j);
  return sqrt(s);
}

void require_square_symmetric_finite(const RMatrix& a, const std::string& what) {
  if (a.rows() != a.cols())
    throw Error(what + ": matrix is " + std::to_string(a.rows()) + " x " + std::to_string(a.cols()) +
                ", not square");
  if (a.rows() == 0) throw Error(what + ": matrix has dimension d = 0");
  for (Eigen::Index i = 0; i < a.rows(); ++i)
    for (Eigen::Index j = 0; j < a.cols(); ++j) {
      if (!isfinite(a(i, j)))
        throw Error(what + ": entry (" + std::to_string(i) + ", " + std::to_string(j) + ") = " +
                    to_string(a(i, j), 6) + " is not finite");
      if (j > i && a(i, j) != a(j, i))
        throw Error(what + ": not symmetric at (" + std::to_string(i) + ", " + std::to_string(j) + "): " +
                    to_string(a(i, j), 17) + " vs " + to_string(a(j, i), 17));
    }
}

}  // namespace

RMatrix to_real(const double* data, std::size_t rows, std::size_t cols) {
  RMatrix m(static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(cols));
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < cols; ++c) m(r, c) = Real(data[r * cols + c]);
  return m;
}

SampleMoments sample_moments(const RMatrix& x) {
  if (x.rows() < 1) throw Error("sample moments: the sample has no rows");
  if (x.cols() < 1) throw Error("sample moments: dimension d = 0");
  SampleMoments m;
  m.count = static_cast<std::size_t>(x.rows());
  const Real t_rows(static_cast<double>(x.rows()));
  // Sigma = (T sum_t x_t x_t^T - S S^T) / T^2 with S = sum_t x_t: the numerator is a sum of products
  // of the (double or float) inputs, exact at this precision for data whose exponents span less than
  // ~150 bits, so only the final division rounds. In particular a constant sample (or constant
  // deltas) has a covariance of exactly 0 -- centring by a rounded mean would leave a residue of
  // ~2^-p |x|^2 that a rank test then takes for variance.
  const Eigen::Index d = x.cols();
  RVector sum = RVector::Zero(d);
  for (Eigen::Index t = 0; t < x.rows(); ++t) sum += x.row(t).transpose();
  m.mean = sum / t_rows;
  RMatrix second = RMatrix::Zero(d, d);
  for (Eigen::Index t = 0; t < x.rows(); ++t)
    for (Eigen::Index j = 0; j < d; ++j)
      for (Eigen::Index i = j; i < d; ++i) second(i, j) += x(t, i) * x(t, j);
  m.covariance = RMatrix::Zero(d, d);
  const Real t2 = t_rows * t_rows;
  for (Eigen::Index j = 0; j < d; ++j)
    for (Eigen::Index i = j; i < d; ++i) {
      m.covariance(i, j) = (t_rows * second(i, j) - sum(i) * sum(j)) / t2;
      m.covariance(j, i) = m.covariance(i, j);
    }
  return m;
}

namespace {

// One column as integers: x_t = m_t 2^lsb exactly, |m_t| < 2^61 (nullopt: a non-finite value or a span of
// more than 60 bits between the column's largest and its finest bit).
struct IntegerColumn {
  std::vector<std::int64_t> m;
  int lsb = 0, bits = 0;  // |m_t| < 2^bits
};
std::optional<IntegerColumn> integer_column(const double* rows, std::size_t tokens, std::size_t dim, std::size_t col) {
  int lo = INT_MAX, hi = INT_MIN;
  for (std::size_t t = 0; t < tokens; ++t) {
    const double x = rows[t * dim + col];
    if (!std::isfinite(x)) return std::nullopt;
    if (x == 0) continue;
    int e = 0;
    const auto mant = static_cast<std::int64_t>(std::ldexp(std::frexp(x, &e), 53));  // exact: 53 bits
    lo = std::min(lo, e - 53 + __builtin_ctzll(static_cast<unsigned long long>(mant < 0 ? -mant : mant)));
    hi = std::max(hi, e);
  }
  IntegerColumn c;
  c.m.assign(tokens, 0);
  if (lo == INT_MAX) return c;  // all zero
  if (hi - lo > 60) return std::nullopt;
  c.lsb = lo;
  c.bits = hi - lo;
  for (std::size_t t = 0; t < tokens; ++t) c.m[t] = static_cast<std::int64_t>(std::ldexp(rows[t * dim + col], -lo));
  return c;
}

Real from_int128(__int128 v) {
  const auto lo = static_cast<unsigned long long>(static_cast<unsigned __int128>(v) & 0xffffffffffffffffULL);
  const auto hi = static_cast<long long>(v >> 64);  // arithmetic shift: v = hi 2^64 + lo
  return ldexp(Real(hi), 64) + Real(lo);
}

}  // namespace

SampleMoments sample_moments(const double* rows, std::size_t tokens, std::size_t dim, bool deltas, bool* integer_path) {
  if (integer_path) *integer_path = false;
  auto slow = [&] {
    if (!deltas) return sample_moments(to_real(rows, tokens, dim));
    const RMatrix x = to_real(rows, tokens, dim);
    return sample_moments(RMatrix(x.bottomRows(x.rows() - 1) - x.topRows(x.rows() - 1)));
  };
  const std::size_t n = deltas ? (tokens ? tokens - 1 : 0) : tokens;
  if (n < 1 || dim < 1 || precision_bits() < 128) return slow();
  std::vector<IntegerColumn> cols(dim);
  for (std::size_t i = 0; i < dim; ++i) {
    auto c = integer_column(rows, tokens, dim, i);
    if (!c) return slow();
    if (deltas) {  // differences of integers on one grid: exact, one bit more
      for (std::size_t t = 0; t + 1 < tokens; ++t) c->m[t] = c->m[t + 1] - c->m[t];
      c->m.resize(n);
      c->bits += 1;
    }
    cols[i] = std::move(*c);
  }
  // Every pairwise sum must fit 126 bits: n terms of magnitude < 2^(bits_i + bits_j).
  const int log_n = 64 - __builtin_clzll(static_cast<unsigned long long>(n));
  int widest = 0;
  for (const auto& c : cols) widest = std::max(widest, c.bits);
  if (2 * widest + log_n > 126) return slow();
  // The same numbers sample_moments(RMatrix) forms: its sums are exact at >= 128 bits for these inputs (each
  // partial sum is a multiple of 2^(lsb_i + lsb_j) below 2^(126 + lsb_i + lsb_j)), so only the final operations
  // round, and they are the same operations here.
  if (integer_path) *integer_path = true;
  SampleMoments m;
  m.count = n;
  const auto d = static_cast<Eigen::Index>(dim);
  const Real t_rows(static_cast<double>(n));
  RVector sum(d);
  for (Eigen::Index i = 0; i < d; ++i) {
    __int128 s = 0;
    for (std::int64_t v : cols[static_cast<std::size_t>(i)].m) s += v;
    sum(i) = ldexp(from_int128(s), cols[static_cast<std::size_t>(i)].lsb);
  }
  m.mean = sum / t_rows;
  m.covariance = RMatrix::Zero(d, d);
  const Real t2 = t_rows * t_rows;
  for (Eigen::Index j = 0; j < d; ++j)
    for (Eigen::Index i = j; i < d; ++i) {
      const std::int64_t* a = cols[static_cast<std::size_t>(i)].m.data();
      const std::int64_t* b = cols[static_cast<std::size_t>(j)].m.data();
      __int128 acc = 0;
      for (std::size_t t = 0; t < n; ++t) acc += static_cast<__int128>(a[t]) * b[t];
      const Real second = ldexp(from_int128(acc), cols[static_cast<std::size_t>(i)].lsb + cols[static_cast<std::size_t>(j)].lsb);
      m.covariance(i, j) = (t_rows * second - sum(i) * sum(j)) / t2;
      m.covariance(j, i) = m.covariance(i, j);
    }
  return m;
}

SymmetricEigen symmetric_eigen(const RMatrix& a, const std::string& what) {
  require_square_symmetric_finite(a, what);
  const Eigen::Index d = a.rows();
  Eigen::SelfAdjointEigenSolver<RMatrix> solver(a, Eigen::ComputeEigenvectors);
  if (solver.info() != Eigen::Success) throw Error(what + ": the eigensolver did not converge");
  SymmetricEigen e;
  // Eigen returns ascending order; Part A indexes by descending eigen-rank.
  e.values = solver.eigenvalues().reverse();
  e.vectors = solver.eigenvectors().rowwise().reverse();

  const RMatrix residual = a * e.vectors - e.vectors * e.values.asDiagonal();
  e.pair_residual.resize(d);
  for (Eigen::Index i = 0; i < d; ++i) e.pair_residual(i) = residual.col(i).norm();
  const RMatrix defect = e.vectors.transpose() * e.vectors - RMatrix::Identity(d, d);
  e.orthogonality_defect = frobenius(defect);
  const Real eta = e.orthogonality_defect;
  if (!(eta < Real("0.5"))) throw Error(what + ": eigenvectors are far from orthonormal");
  Real theta_max(0);
  for (Eigen::Index i = 0; i < d; ++i) theta_max = std::max(theta_max, Real(abs(e.values(i))));
  // ||Q^T A Q - Theta|| <= (||R|| + 2 eta ||Theta||) / (1 - eta), and the rounding of R itself:
  // |fl(AV - V Theta) - (AV - V Theta)| <= gamma_{d+2} (|A||V| + |V||Theta|).
  const Real computed = frobenius(residual);
  const Real rounding = rounding_slack((frobenius(a) + theta_max) * sqrt(Real(static_cast<double>(d))) * Real(2),
                                       static_cast<double>(d + 2));
  const Real radius = (computed + rounding + Real(2) * eta * theta_max) / (Real(1) - eta);
  e.radius = RVector::Constant(d, radius);
  return e;
}

void require_psd(const SymmetricEigen& e, const std::string& what) {
  const Eigen::Index last = e.values.size() - 1;
  if (e.values(last) < -e.radius(last))
    throw Error(what + ": not positive semi-definite: smallest eigenvalue " + to_string(e.values(last), 6) +
                " (certified radius " + to_string(e.radius(last), 3) + ")");
}

DominationFactor domination_factor(const RMatrix& sigma_delta, const RMatrix& sigma_v) {
  if (sigma_delta.rows() != sigma_v.rows() || sigma_delta.cols() != sigma_v.cols())
    throw Error("domination factor: Sigma_delta is " + std::to_string(sigma_delta.rows()) + " x " +
                std::to_string(sigma_delta.cols()) + " but Sigma_V is " + std::to_string(sigma_v.rows()) + " x " +
                std::to_string(sigma_v.cols()));
  const SymmetricEigen ev = symmetric_eigen(sigma_v, "Sigma_V");
  const SymmetricEigen ed = symmetric_eigen(sigma_delta, "Sigma_delta");
  return domination_factor(sigma_delta, sigma_v, ev, ed);
}

DominationFactor domination_factor(const RMatrix& sigma_delta, const RMatrix& sigma_v, const SymmetricEigen& ev,
                                   const SymmetricEigen& ed) {
  if (ev.values.size() != sigma_v.rows() || ed.values.size() != sigma_delta.rows())
    throw Error("domination factor: the eigendecompositions do not match the matrices");
  require_psd(ev, "Sigma_V");
  require_psd(ed, "Sigma_delta");
  const Eigen::Index d = sigma_v.rows();

  // Range of Sigma_V: eigenvalues certified positive. The rest is treated as its null space.
  Eigen::Index r = 0;
  while (r < d && ev.values(r) > ev.radius(r)) ++r;
  DominationFactor out;
  if (r < d) {
    const RMatrix un = ev.vectors.rightCols(d - r);
    const RMatrix null_block = un.transpose() * sigma_delta * un;
    const SymmetricEigen en = symmetric_eigen((null_block + null_block.transpose()) / Real(2), "null block");
    // Perturbation of the null space itself: its basis is accurate to radius / gap; bound the
    // induced change of the block by 2 ||Sigma_delta|| (radius_V / gap) + the block's own radius.
    const Real gap = r > 0 ? Real(ev.values(r - 1) - ev.radius(r - 1)) : Real(1);
    const Real slack = en.radius(0) + Real(2) * frobenius(sigma_delta) * ev.radius(0) / gap;
    if (en.values(0) > slack) {
      out.finite = false;
      out.alpha = {std::numeric_limits<Real>::infinity(), Real(0)};
      out.reason = "range(Sigma_delta) is not inside range(Sigma_V): Sigma_delta has variance " +
                   to_string(en.values(0), 6) + " along a null direction of Sigma_V (rank " + std::to_string(r) +
                   " of " + std::to_string(d) + ")";
      return out;
    }
    if (r == 0) {
      out.alpha = {Real(0), slack};
      out.witness = RVector::Zero(d);
      out.reason = "Sigma_V is zero and Sigma_delta vanishes with it";
      return out;
    }
  }
  const RMatrix ur = ev.vectors.leftCols(r);
  RVector inv_sqrt(r);
  for (Eigen::Index i = 0; i < r; ++i) inv_sqrt(i) = Real(1) / sqrt(ev.values(i));
  const RMatrix whiten = inv_sqrt.asDiagonal() * ur.transpose();  // Lambda_r^{-1/2} U_r^T
  RMatrix m = whiten * sigma_delta * whiten.transpose();
  m = ((m + m.transpose()) / Real(2)).eval();
  const SymmetricEigen em = symmetric_eigen(m, "whitened Sigma_delta");
  out.alpha.value = em.values(0);
  out.witness = whiten.transpose() * em.vectors.col(0);
  // Error: eigen radius of the whitened matrix, plus the relative error that the eigenvalue radius
  // of Sigma_V induces in Lambda^{-1/2} (both sides) and the basis error (orthogonality defect).
  const Real rel = ev.radius(0) / ev.values(r - 1);
  out.alpha.error = em.radius(0) + abs(em.values(0)) * (Real(2) * rel / (Real(1) - rel) +
                                                        Real(4) * ev.orthogonality_defect);
  return out;
}

namespace {
// `formed_error` bounds the Frobenius error with which the two matrices themselves were formed.
LoewnerOrder loewner_le_formed(const RMatrix& sigma_delta, const RMatrix& sigma_v, const Real& formed_error) {
  const SymmetricEigen e = symmetric_eigen(sigma_v - sigma_delta, "Sigma_V - Sigma_delta");
  const Eigen::Index last = e.values.size() - 1;
  // The subtraction rounds each entry by at most u |entry|.
  const Real subtraction = unit_roundoff() * (frobenius(sigma_v) + frobenius(sigma_delta));
  LoewnerOrder out;
  out.min_eigenvalue_of_difference = {e.values(last), e.radius(last) + subtraction + formed_error};
  out.verdict = verdict_le(Certified{Real(0), Real(0)}, out.min_eigenvalue_of_difference);
  return out;
}
}  // namespace

LoewnerOrder loewner_le(const RMatrix& sigma_delta, const RMatrix& sigma_v) {
  return loewner_le_formed(sigma_delta, sigma_v, Real(0));
}

std::vector<OrderingCheck> weyl_ordering(const RMatrix& sigma_delta, const RMatrix& sigma_v) {
  const SymmetricEigen ed = symmetric_eigen(sigma_delta, "Sigma_delta");
  const SymmetricEigen ev = symmetric_eigen(sigma_v, "Sigma_V");
  std::vector<OrderingCheck> out;
  for (Eigen::Index i = 0; i < ed.values.size(); ++i) {
    OrderingCheck c{"eigenvalue " + std::to_string(i), {ed.values(i), ed.radius(i)}, {ev.values(i), ev.radius(i)},
                    Verdict::undecided};
    c.verdict = verdict_le(c.lhs, c.rhs);
    out.push_back(c);
  }
  return out;
}

OrderingCheck trace_ordering(const RMatrix& sigma_delta, const RMatrix& sigma_v) {
  const auto d = static_cast<double>(sigma_v.rows());
  Real td(0), tv(0), ad(0), av(0);
  for (Eigen::Index i = 0; i < sigma_v.rows(); ++i) {
    td += sigma_delta(i, i);
    tv += sigma_v(i, i);
    ad += abs(sigma_delta(i, i));
    av += abs(sigma_v(i, i));
  }
  OrderingCheck c{"trace", {td, rounding_slack(ad, d)}, {tv, rounding_slack(av, d)}, Verdict::undecided};
  c.verdict = verdict_le(c.lhs, c.rhs);
  return c;
}

Certified certified_determinant(const SymmetricEigen& e) {
  Real lo(1), hi(1);
  for (Eigen::Index i = 0; i < e.values.size(); ++i) {
    lo *= std::max(Real(0), Real(e.values(i) - e.radius(i)));
    hi *= Real(e.values(i) + e.radius(i));
  }
  hi = std::max(hi, Real(0));
  const Real slack = rounding_slack(hi, 2.0 * static_cast<double>(e.values.size()));
  return {(lo + hi) / Real(2), (hi - lo) / Real(2) + slack};
}

OrderingCheck determinant_ordering(const RMatrix& sigma_delta, const RMatrix& sigma_v) {
  const SymmetricEigen ed = symmetric_eigen(sigma_delta, "Sigma_delta");
  const SymmetricEigen ev = symmetric_eigen(sigma_v, "Sigma_V");
  OrderingCheck c{"determinant", certified_determinant(ed), certified_determinant(ev), Verdict::undecided};
  c.verdict = verdict_le(c.lhs, c.rhs);
  return c;
}

OrderingCheck principal_block_ordering(const RMatrix& sigma_delta, const RMatrix& sigma_v,
                                       const std::vector<int>& block) {
  const Eigen::Index k = static_cast<Eigen::Index>(block.size());
  if (k == 0) throw Error("principal block: empty index set");
  RMatrix bd(k, k), bv(k, k);
  std::string name = "principal block {";
  for (Eigen::Index i = 0; i < k; ++i) {
    if (block[i] < 0 || block[i] >= sigma_v.rows())
      throw Error("principal block: index " + std::to_string(block[i]) + " outside 0.." +
                  std::to_string(sigma_v.rows() - 1));
    name += (i ? "," : "") + std::to_string(block[i]);
    for (Eigen::Index j = 0; j < k; ++j) {
      bd(i, j) = sigma_delta(block[i], block[j]);
      bv(i, j) = sigma_v(block[i], block[j]);
    }
  }
  const LoewnerOrder lo = loewner_le(bd, bv);
  return {name + "}", {Real(0), Real(0)}, lo.min_eigenvalue_of_difference, lo.verdict};
}

OrderingCheck congruence_ordering(const RMatrix& sigma_delta, const RMatrix& sigma_v, const RMatrix& w) {
  if (w.cols() != sigma_v.rows())
    throw Error("congruence: W has " + std::to_string(w.cols()) + " columns for a " +
                std::to_string(sigma_v.rows()) + "-dimensional covariance");
  RMatrix a = w * sigma_delta * w.transpose();
  RMatrix b = w * sigma_v * w.transpose();
  a = ((a + a.transpose()) / Real(2)).eval();
  b = ((b + b.transpose()) / Real(2)).eval();
  // Forming W S W^T rounds each entry by at most gamma_{2d} (|W||S||W^T|)_ij.
  const Real wn = frobenius(w);
  const Real formed = rounding_slack(wn * wn * (frobenius(sigma_delta) + frobenius(sigma_v)),
                                     2.0 * static_cast<double>(sigma_v.rows()) + 2);
  const LoewnerOrder lo = loewner_le_formed(a, b, formed);
  return {"congruence", {Real(0), Real(0)}, lo.min_eigenvalue_of_difference, lo.verdict};
}

}  // namespace dpq::ref
