// B5 tiers 2 and 3 in the reference: the generalized Gaussian proxy (moment-ratio fit, closed-form
// shape factor) and the Leonenko-Pronzato-Savani k-NN estimate.
#include "deltapq/reference/pq.h"

#include <Eigen/Cholesky>
#include <algorithm>
#include <map>
#include <mutex>
#include <numeric>
#include <random>
#include <tuple>

#include "deltapq/core/error.h"
#include "deltapq/reference/ggd.h"
#include "pq_internal.h"

namespace dpq::ref {
using namespace pq_detail;

Real sample_moment_ratio(const double* x, std::size_t n, std::size_t stride) {
  if (n == 0) throw Error("moment ratio: no rows");
  const Real nn(static_cast<double>(n));
  Real mean(0);
  for (std::size_t i = 0; i < n; ++i) mean += Real(x[i * stride]);
  mean /= nn;
  Real m1(0), m2(0);
  for (std::size_t i = 0; i < n; ++i) {
    const Real e = Real(x[i * stride]) - mean;
    m1 += abs(e);
    m2 += e * e;
  }
  if (!(m1 > 0)) return std::numeric_limits<Real>::infinity();  // a constant coordinate
  return (m2 / nn) / ((m1 / nn) * (m1 / nn));
}

Real ggd_moment_ratio(const Real& beta) { return ggd::moment_ratio(beta); }

GgdFit fit_ggd_shape(const Real& ratio) {
  if (!(ratio > 0) || !isfinite(ratio)) throw Error("GGD fit: moment ratio " + to_string(ratio, 6) + " must be finite and > 0");
  const ggd::Fit<Real> f = ggd::fit_shape(ratio, Real(ldexp(Real(1), -(precision_bits() - 16))));
  GgdFit fit;
  fit.beta = f.beta;
  fit.uniform_limit = f.uniform_limit;
  fit.below_range = f.below_range;
  fit.iterations = f.iterations;
  return fit;
}

Real gaussian_log_power_integral(const Real& sigma, const Real& g) { return ggd::gaussian_log_power_integral(sigma, g); }

Real ggd_log_power_integral(const Real& beta, const Real& sigma, const Real& g) { return ggd::log_power_integral(beta, sigma, g); }

Real ggd_log_relative_shape(const std::vector<Real>& betas, const Real& g) { return ggd::log_relative_shape(betas, g); }

Real eta_from_log_shapes(const Real& log_s1, const Real& log_s2) { return tanh(abs(log_s1 - log_s2) / 2); }

// For every row i, the k-th smallest of the squared distances (w_i - w_j).squaredNorm(), j != i, exactly as that
// expression computes them -- without computing all m^2 of them. A blocked Gram matrix gives each distance as
// |w_i|^2 + |w_j|^2 - 2 w_i.w_j to within beta_i = 4 gamma_{d+2} (|w_i|^2 + max_j |w_j|^2) of the true value,
// and the direct expression is within the same of it, so every j whose direct distance is at most the k-th
// smallest has a Gram distance at most (the k-th smallest Gram distance) + 2 beta_i: only those are computed
// directly, and the k-th smallest of them is the k-th smallest of all.
std::vector<double> pq_detail::kth_neighbour_squared_distances(const RowMajorMatrixXd& w, int k) {
  const Eigen::Index m = w.rows();
  const double u = 0x1p-53, g = (w.cols() + 2) * u / (1 - (w.cols() + 2) * u);
  const Eigen::VectorXd norms = w.rowwise().squaredNorm();
  const double max_norm = norms.maxCoeff();
  std::vector<double> out(static_cast<std::size_t>(m));
  std::vector<double> approx, exact;
  constexpr Eigen::Index kBlock = 256;
  for (Eigen::Index i0 = 0; i0 < m; i0 += kBlock) {
    const Eigen::Index rows = std::min(kBlock, m - i0);
    const Eigen::MatrixXd gram = w.middleRows(i0, rows) * w.transpose();
    for (Eigen::Index r = 0; r < rows; ++r) {
      const Eigen::Index i = i0 + r;
      approx.clear();
      for (Eigen::Index j = 0; j < m; ++j)
        if (j != i) approx.push_back(norms(i) + norms(j) - 2 * gram(r, j));
      std::vector<double> sorted = approx;
      std::nth_element(sorted.begin(), sorted.begin() + (k - 1), sorted.end());
      const double beta = 4 * g * (norms(i) + max_norm) * (1 + 1e-6) + 1e-300;
      const double cut = sorted[static_cast<std::size_t>(k - 1)] + 2 * beta;
      exact.clear();
      std::size_t c = 0;
      for (Eigen::Index j = 0; j < m; ++j) {
        if (j == i) continue;
        if (approx[c++] <= cut) exact.push_back((w.row(i) - w.row(j)).squaredNorm());
      }
      std::nth_element(exact.begin(), exact.begin() + (k - 1), exact.end());
      out[static_cast<std::size_t>(i)] = exact[static_cast<std::size_t>(k - 1)];
    }
  }
  return out;
}

namespace {

using RowMat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Rows whitened by their own sample covariance (false when it is not positive definite).
bool whiten(RowMat& z) {
  const Eigen::RowVectorXd mean = z.colwise().mean();
  z.rowwise() -= mean;
  const Eigen::MatrixXd cov = (z.transpose() * z) / static_cast<double>(z.rows());
  const Eigen::LLT<Eigen::MatrixXd> llt(cov);
  if (llt.info() != Eigen::Success) return false;
  z = llt.matrixL().solve(z.transpose()).transpose();
  return true;
}

// The LPS estimate of log S on whitened rows: (log Ihat - log I_phi) / g, and its standard error
// (the estimator is a mean of m terms: sd / sqrt(m), propagated through the log). mean_terms = 0
// when every point has a duplicate at its k-th neighbour.
struct LpsRaw {
  double log_shape = 0, standard_error = 0, mean_terms = 0;
};
LpsRaw lps_estimate(const RowMat& w, int k) {
  const std::size_t m = static_cast<std::size_t>(w.rows());
  const int dim = static_cast<int>(w.cols());
  const double g = static_cast<double>(dim) / (dim + 2);
  const double log_vd = 0.5 * dim * std::log(M_PI) - std::lgamma(0.5 * dim + 1);
  const double log_ck = (std::lgamma(static_cast<double>(k)) - std::lgamma(k + 1 - g)) / (1 - g);
  std::vector<double> terms(m);
  const std::vector<double> kth = kth_neighbour_squared_distances(w, k);
  for (std::size_t i = 0; i < m; ++i) {
    const double rho2 = kth[i];
    if (rho2 <= 0) {
      terms[i] = 0;  // a duplicate point: zeta = 0
      continue;
    }
    const double log_zeta = std::log(static_cast<double>(m - 1)) + log_ck + log_vd + 0.5 * dim * std::log(rho2);
    terms[i] = std::exp((1 - g) * log_zeta);
  }
  LpsRaw r;
  for (double t : terms) r.mean_terms += t;
  r.mean_terms /= static_cast<double>(m);
  if (!(r.mean_terms > 0)) return r;
  double var = 0;
  for (double t : terms) var += (t - r.mean_terms) * (t - r.mean_terms);
  var /= static_cast<double>(m - 1);
  const double log_gauss = 0.5 * dim * (1 - g) * std::log(2 * M_PI) - 0.5 * dim * std::log(g);
  r.log_shape = (std::log(r.mean_terms) - log_gauss) / g;
  r.standard_error = std::sqrt(var / static_cast<double>(m)) / r.mean_terms / g;
  return r;
}

// The same estimate on a seeded standard Gaussian sample of the same size and dimension, whose true
// log S is 0: its value is the estimator's finite-sample bias there. Cached per (m, dim, k).
LpsRaw gaussian_calibration(std::size_t m, int dim, int k) {
  static std::mutex mutex;
  static std::map<std::tuple<std::size_t, int, int>, LpsRaw> cache;
  const std::lock_guard<std::mutex> lock(mutex);
  const auto key = std::make_tuple(m, dim, k);
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  std::mt19937_64 rng(0x6c7073u + 1000003u * m + 1009u * static_cast<std::uint64_t>(dim) + static_cast<std::uint64_t>(k));
  std::normal_distribution<double> normal;
  RowMat z(static_cast<Eigen::Index>(m), dim);
  for (Eigen::Index i = 0; i < z.rows(); ++i)
    for (int j = 0; j < dim; ++j) z(i, j) = normal(rng);
  whiten(z);
  return cache[key] = lps_estimate(z, k);
}

}  // namespace

KnnShape knn_relative_shape(const double* x, std::size_t n, int dim, int k, std::size_t max_points, std::uint64_t seed) {
  KnnShape out;
  if (k < 1) throw Error("kNN shape: k must be >= 1");
  // Subsample (seeded partial Fisher-Yates) to at most max_points rows.
  std::vector<std::size_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  const std::size_t m = std::min(n, max_points);
  std::mt19937_64 rng(seed);
  for (std::size_t i = 0; i < m && m < n; ++i) std::swap(idx[i], idx[i + rng() % (n - i)]);
  if (m <= static_cast<std::size_t>(k) + static_cast<std::size_t>(dim) + 1) {
    out.reason = "too few rows (" + std::to_string(m) + ") for k = " + std::to_string(k) + " in " + std::to_string(dim) + " dimensions";
    return out;
  }
  RowMat z(static_cast<Eigen::Index>(m), dim);
  for (std::size_t i = 0; i < m; ++i)
    for (int j = 0; j < dim; ++j) z(static_cast<Eigen::Index>(i), j) = x[idx[i] * dim + j];
  if (!whiten(z)) {
    out.reason = "block covariance is singular: no density to estimate";
    return out;
  }
  const LpsRaw raw = lps_estimate(z, k);
  if (!(raw.mean_terms > 0)) {
    out.reason = "every point has a duplicate at its k-th neighbour";
    return out;
  }
  const LpsRaw cal = gaussian_calibration(m, dim, k);
  out.available = true;
  out.points = m;
  out.raw_log_relative_shape = raw.log_shape;
  out.calibration = cal.log_shape;
  out.log_relative_shape = raw.log_shape - cal.log_shape;
  out.standard_error = std::sqrt(raw.standard_error * raw.standard_error + cal.standard_error * cal.standard_error);
  return out;
}

ShapeTiers shape_tiers(const double* v, std::size_t nv, const double* delta, std::size_t nd, int dim, int knn_k,
                       std::size_t knn_max_points, std::uint64_t seed) {
  ShapeTiers st;
  const Real g = Real(dim) / Real(dim + 2);
  for (int j = 0; j < dim; ++j) {
    const Real rv = sample_moment_ratio(v + j, nv, dim), rd = sample_moment_ratio(delta + j, nd, dim);
    st.beta_v.push_back(isfinite(rv) ? fit_ggd_shape(rv).beta : infinity());
    st.beta_delta.push_back(isfinite(rd) ? fit_ggd_shape(rd).beta : infinity());
  }
  st.log_shape_ggd_v = ggd_log_relative_shape(st.beta_v, g);
  st.log_shape_ggd_delta = ggd_log_relative_shape(st.beta_delta, g);
  st.eta_ggd = eta_from_log_shapes(st.log_shape_ggd_delta, st.log_shape_ggd_v);
  st.knn_v = knn_relative_shape(v, nv, dim, knn_k, knn_max_points, seed);
  st.knn_delta = knn_relative_shape(delta, nd, dim, knn_k, knn_max_points, seed + 1);
  if (st.knn_v.available && st.knn_delta.available) {
    const Real e = eta_from_log_shapes(Real(st.knn_delta.log_relative_shape), Real(st.knn_v.log_relative_shape));
    st.eta_knn = e;
    const double sv = st.knn_v.standard_error, sd = st.knn_delta.standard_error;
    st.eta_knn_se = (1 - e * e) / 2 * sqrt(Real(sv * sv + sd * sd));
  }
  return st;
}

}  // namespace dpq::ref
