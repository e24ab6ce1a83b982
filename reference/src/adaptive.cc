// The adaptive path's cheap layer: double arithmetic with a priori rounding bounds (Higham's gamma_n, valid
// for any summation order, fma or not) and a posteriori residuals. Derivations: proofs-notes/A3.md.
#include "deltapq/reference/adaptive.h"

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>
#include <vector>

namespace dpq::ref {
namespace {

constexpr double kU = kDoubleRoundoff;
// An enclosure wider than this (relative) is not worth reporting: escalate instead.
constexpr double kMaxRelativeError = 1e-6;

double gamma(double n) { return gamma_double(n); }


using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Error-free transformations (Knuth's TwoSum, Dekker's TwoProduct with Veltkamp's split): exact in binary64
// round-to-nearest without fma contraction (this file is compiled with -ffp-contract=off), barring
// overflow (caught by the callers' finiteness checks) and underflow (absolute error bounds cover it).
inline void two_sum(double a, double b, double& s, double& e) {
  s = a + b;
  const double bb = s - a;
  e = (a - (s - bb)) + (b - bb);
}
inline void split(double a, double& hi, double& lo) {
  const double c = 134217729.0 * a;  // 2^27 + 1
  hi = c - (c - a);
  lo = a - hi;
}
inline void two_product(double a, double b, double& p, double& e) {
  p = a * b;
  double ah, al, bh, bl;
  split(a, ah, al);
  split(b, bh, bl);
  e = al * bl - (((p - ah * bh) - al * bh) - ah * bl);
}

// C = A B with every entry by Ogita-Rump-Oishi's Dot2 (their Algorithm 5.3, compensated dot product):
// |C_ij - (A B)_ij| <= u |(A B)_ij| + gamma_k^2 (|A| |B|)_ij with k = A.cols().
RowMatrix dot2_product(const RowMatrix& a, const RowMatrix& b) {
  const Eigen::Index rows = a.rows(), inner = a.cols(), cols = b.cols();
  RowMatrix c(rows, cols);
  std::vector<double> hi(static_cast<std::size_t>(cols)), lo(static_cast<std::size_t>(cols));
  for (Eigen::Index i = 0; i < rows; ++i) {
    std::fill(hi.begin(), hi.end(), 0.0);
    std::fill(lo.begin(), lo.end(), 0.0);
    for (Eigen::Index k = 0; k < inner; ++k) {
      const double x = a(i, k);
      const double* brow = b.data() + k * cols;
      for (Eigen::Index j = 0; j < cols; ++j) {
        double p, e, s, q;
        two_product(x, brow[j], p, e);
        two_sum(hi[static_cast<std::size_t>(j)], p, s, q);
        hi[static_cast<std::size_t>(j)] = s;
        lo[static_cast<std::size_t>(j)] += q + e;
      }
    }
    for (Eigen::Index j = 0; j < cols; ++j) c(i, j) = hi[static_cast<std::size_t>(j)] + lo[static_cast<std::size_t>(j)];
  }
  return c;
}

}  // namespace

double full_path_scale(int e) { return std::ldexp(1.0, e - precision_bits()); }

std::optional<DoubleCovariance> covariance_double(const double* rows, std::size_t tokens, std::size_t dim,
                                                  double input_relative_error) {
  if (tokens == 0 || dim == 0) return std::nullopt;
  const Eigen::Map<const RowMatrix> x(rows, static_cast<Eigen::Index>(tokens), static_cast<Eigen::Index>(dim));
  const double n = static_cast<double>(tokens), d = static_cast<double>(dim);
  const double gn = gamma(n + 2);
  // Every bound below is itself computed in double, with at most ~d^2 + n roundings on non-negative
  // terms: inflating it by this factor covers them.
  const double inflate = 1 + 4 * (d * d + n + 64) * kU;

  const Eigen::VectorXd mean = x.colwise().sum().transpose() / n;
  const Eigen::VectorXd abs_sum = x.cwiseAbs().colwise().sum().transpose();
  // |mean_i - rbar_i| <= gamma_n sum_t |r_ti| / n + 2u |mean_i|: the sum, then one division.
  const Eigen::VectorXd mean_error = (gn * abs_sum / n + 2 * kU * mean.cwiseAbs()) * inflate;
  const RowMatrix z = x.rowwise() - mean.transpose();  // each entry rounded once: z^ = z (1 + theta)
  DoubleCovariance out;
  out.sigma = Eigen::MatrixXd(dot2_product(z.transpose(), z) / n);
  if (!out.sigma.allFinite() || !mean_error.allFinite()) return std::nullopt;
  // Sigma^ - Sigma_exact = [fl(G/n) - G/n] + [G - Z^^T Z^]/n + [Z^^T Z^ - Z^T Z]/n + w w^T, with w = rbar - mean
  // (centring by any c adds (rbar - c)(rbar - c)^T) and G the Dot2 Gram matrix. Entrywise: u|Sigma^_ij|
  // + u (1/n)|sum_t z^_ti z^_tj| + gamma_n^2 (1/n) sum_t |z^_ti z^_tj| + (2u + u^2)(1/n) sum_t |z_ti z_tj| + m_i m_j,
  // and (1/n) sum_t |z^_ti z^_tj| <= s_i s_j by Cauchy-Schwarz with s_i^2 = (1/n) sum_t z^_ti^2 <= Sigma^_ii (1 + 2u);
  // |Sigma^_ij| <= (1 + 2u) s_i s_j too. Underflow adds at most 2^-1070 per operation.
  out.scale = (out.sigma.diagonal() * (1 + 4 * kU)).cwiseSqrt();
  out.mean_error = mean_error;
  out.scaled_error = (5 * kU + gamma(n) * gamma(n)) * (1 + 4 * kU) * inflate;
  out.extra_error = d * (n + 4) * 0x1p-1070;
  // Rows known to a relative error rho: with e_t = r^_t - r_t, Sigma(r) - Sigma(r^) = -C(r^, e) - C(e, r^) + C(e, e),
  // and ||C(a, b)||_2 <= sqrt(tr C(a, a) tr C(b, b)), tr C(e, e) <= rho^2 (1/n) sum_t |r^_t|^2.
  if (input_relative_error > 0) {
    const double m2 = x.squaredNorm() / n * inflate;
    const double tr = (out.scale.squaredNorm() * (1 + out.scaled_error) + mean_error.squaredNorm()) * inflate;
    const double ee = input_relative_error * input_relative_error * m2;
    out.extra_error += (2 * std::sqrt(tr * ee) + ee) * inflate;
  }
  // As a whole: the Frobenius norms of s s^T and m m^T are |s|^2 and |m|^2.
  const double err = out.scaled_error * out.scale.squaredNorm() + mean_error.squaredNorm() + out.extra_error;
  out.error = err * inflate;
  if (!std::isfinite(out.error)) return std::nullopt;
  return out;
}

Certified CheapDomination::for_decisions() const {
  const double slack = full_path_scale(8) * (std::abs(to_double(factor.alpha.value)) + 1);
  return {factor.alpha.value, factor.alpha.error + Real(2 * full_path_error + slack)};
}

std::optional<CheapDomination> domination_factor_enclosure(const DoubleCovariance& sigma_delta, const DoubleCovariance& sigma_v) {
  const Eigen::MatrixXd& a = sigma_delta.sigma;
  const Eigen::MatrixXd& b = sigma_v.sigma;
  const Eigen::Index dim = b.rows();
  if (dim == 0 || a.rows() != dim || a.cols() != dim || b.cols() != dim) return std::nullopt;
  const double d = static_cast<double>(dim);
  const double gd = gamma(d + 2);
  const double inflate = 1 + 8 * (d * d + 64) * kU;
  // Any nonsingular W: the pencil (A, B) has the eigenvalues of (W A W^T, W B W^T); W = L^{-1} from B = L L^T
  // makes W B W^T = I + F with F small. Then alpha* lies in lambda_max(W A W^T) / [1 + f, 1 - f], f >= ||F||_2.
  const Eigen::LLT<Eigen::MatrixXd> llt(b);
  if (llt.info() != Eigen::Success) return std::nullopt;
  const Eigen::MatrixXd w = llt.matrixL().solve(Eigen::MatrixXd::Identity(dim, dim));
  if (!w.allFinite()) return std::nullopt;
  const Eigen::MatrixXd wt = w.transpose();
  const Eigen::MatrixXd w_abs = w.cwiseAbs();
  const double w_norm2 = w.squaredNorm() * inflate;  // >= ||W||_2^2
  // fl(fl(W X) W^T) - W X W^T <= (2 gamma_d + gamma_d^2) |W| |X| |W^T| entrywise (the computed |.| products
  // are within (1 - gamma_d)^2 of the exact ones).
  // fl(fl(W X) W^T) by Dot2 twice: |fl(W X) - W X| <= u |W X| + gamma_d^2 |W| |X|, so the whole product errs by
  // at most u |result| (1 + 2u) + (u + 3 gamma_d^2) |W| |X| |W^T| entrywise (the computed |.| products are
  // within (1 - gamma_d)^2 of the exact ones).
  auto congruence = [&](const Eigen::MatrixXd& m) {
    return Eigen::MatrixXd(dot2_product(dot2_product(w, m), wt));
  };
  auto product_error = [&](const Eigen::MatrixXd& m, const Eigen::MatrixXd& result) {
    const Eigen::MatrixXd p = (w_abs * m.cwiseAbs()) * w_abs.transpose();
    return (kU * (1 + 2 * kU) * result.norm() + (kU + 3 * gd * gd) * p.norm() / ((1 - gd) * (1 - gd))) * inflate;
  };
  const Eigen::MatrixXd g_hat = congruence(b);
  Eigen::MatrixXd f_hat = g_hat;
  f_hat.diagonal().array() -= 1.0;
  // ||W (X^ - X_exact) W^T||_2 for a covariance X^ with DoubleCovariance's componentwise bound: for unit x and
  // y = W^T x, sum_ij |y_i| c s_i s_j |y_j| = c (sum_i |y_i| s_i)^2 <= c || |W| s ||^2 (and the same for m).
  auto through_w = [&](const DoubleCovariance& c) {
    return (c.scaled_error * (w_abs * c.scale).squaredNorm() + (w_abs * c.mean_error).squaredNorm()) * inflate +
           w_norm2 * c.extra_error;
  };
  const double f = (f_hat.norm() * (1 + 2 * kU) + product_error(b, g_hat) + through_w(sigma_v)) * inflate;
  if (!(f < 0.5)) return std::nullopt;
  // W B W^T >= (1 - f) I gives B >= (1 - f) / ||W||_2^2 I; the full path must see B as non-singular too.
  const double floor = (1 - f) / w_norm2 * (1 - 4 * kU);
  const double b_norm = b.norm() + sigma_v.error;
  if (!(floor > full_path_scale(48) * b_norm)) return std::nullopt;
  const Eigen::MatrixXd h_raw = congruence(a);
  const Eigen::MatrixXd h = (h_raw + h_raw.transpose()) / 2;
  if (!h.allFinite()) return std::nullopt;
  // ||H_sym - W A_exact W^T||_2: the product's rounding (symmetrising is a Frobenius contraction), the
  // halving's rounding, and A's own error through W.
  const double e_h = (product_error(a, h_raw) + kU * h.norm() + through_w(sigma_delta)) * inflate;

  // Certified eigenvalues of H as linalg.cc's symmetric_eigen certifies them, in double: radius
  // (||R|| + 2 eta ||Theta||) / (1 - eta), R = H V - V Theta, eta = ||V^T V - I||_F, each with its rounding.
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(h);
  if (es.info() != Eigen::Success) return std::nullopt;
  const Eigen::MatrixXd& vec = es.eigenvectors();
  const Eigen::VectorXd& theta = es.eigenvalues();  // ascending
  const double theta_max = theta(dim - 1);
  const double theta_abs = std::max(std::abs(theta(0)), std::abs(theta_max));
  const double v_norm = vec.norm() * inflate;
  const Eigen::MatrixXd residual = h * vec - vec * theta.asDiagonal();
  const double r_norm = (residual.norm() + gamma(d + 2) * v_norm * (h.norm() + theta_abs)) * inflate;
  const double eta =
      ((vec.transpose() * vec - Eigen::MatrixXd::Identity(dim, dim)).norm() + gamma(d + 2) * v_norm * v_norm) * inflate;
  if (!(eta < 0.5) || !std::isfinite(r_norm)) return std::nullopt;
  const double spread = ((r_norm + 2 * eta * theta_abs) / (1 - eta) + e_h) * inflate + 4 * kU * std::abs(theta_max);
  // lambda_max(W A_exact W^T) lies in [theta_max - spread, theta_max + spread]; A = Sigma_delta is a covariance,
  // so alpha* >= 0.
  const double alpha_hi = std::max(theta_max + spread, 0.0) / (1 - f) * (1 + 4 * kU);
  const double alpha_lo = std::max(theta_max - spread, 0.0) / (1 + f) * (1 - 4 * kU);
  const double value = std::max(theta_max, 0.0);
  const double error = std::max(alpha_hi - value, value - alpha_lo) * (1 + 4 * kU);
  if (!std::isfinite(error) || !(error <= kMaxRelativeError * value)) return std::nullopt;

  CheapDomination out;
  out.factor.alpha = {Real(value), Real(error)};
  const Eigen::VectorXd witness = wt * vec.col(dim - 1);
  out.factor.witness.resize(dim);
  for (Eigen::Index i = 0; i < dim; ++i) out.factor.witness(i) = Real(witness(i));
  out.sigma_v_floor = floor;
  // The full path's alpha* error is its whitened eigen radius plus alpha* (2 rho / lambda_min + 4 eta), with
  // rho and eta ~2^(30-p) of ||Sigma_V||: bounded with margin by 2^(48-p) (alpha* + 1)(1 + ||Sigma_V|| / floor).
  out.full_path_error = full_path_scale(48) * (value + error + 1) * (1 + b_norm / floor);
  return out;
}

std::optional<Verdict> loewner_from_alpha(const CheapDomination& alpha, const DoubleCovariance& sigma_delta,
                                          const DoubleCovariance& sigma_v) {
  const double value = to_double(alpha.factor.alpha.value), error = to_double(alpha.factor.alpha.error);
  const double scale = full_path_scale(48) * ((sigma_v.sigma.norm() + sigma_v.error) + (sigma_delta.sigma.norm() + sigma_delta.error));
  const double below = (1 - (value + error)) * alpha.sigma_v_floor * (1 - 8 * kU);  // lambda_min(S_V - S_delta) >= below
  if (below > scale) return Verdict::holds;
  const double above = ((value - error) - 1) * alpha.sigma_v_floor * (1 - 8 * kU);  // lambda_min(...) <= -above
  if (above > scale) return Verdict::fails;
  return std::nullopt;
}

}  // namespace dpq::ref
