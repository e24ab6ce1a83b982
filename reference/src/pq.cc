#include "deltapq/reference/pq.h"

#include <Eigen/Cholesky>
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <limits>
#include <map>
#include <mutex>
#include <tuple>
#include <numeric>
#include <random>

#include "deltapq/core/error.h"
#include "deltapq/core/kmeans.h"

namespace dpq::ref {
namespace {

const Real kInf = std::numeric_limits<Real>::infinity();

// Unit roundoff of double and gamma_n = n u / (1 - n u).
constexpr double kU = DBL_EPSILON / 2;
double gamma_double(int n) { return n * kU / (1 - n * kU); }

// The blocks x[:, off .. off + dm) of an n x d row-major array, as n x dm.
std::vector<double> extract_block(const std::vector<double>& x, std::size_t n, int d, int off, int dm) {
  std::vector<double> out(n * dm);
  for (std::size_t i = 0; i < n; ++i)
    for (int j = 0; j < dm; ++j) out[i * dm + j] = x[i * d + off + j];
  return out;
}

RMatrix block_of(const RMatrix& a, int off, int dm) { return a.block(off, off, dm, dm); }

// Certified interval [lo, hi] -> value +- error.
Certified from_interval(const Real& lo, const Real& hi) { return {(lo + hi) / 2, (hi - lo) / 2}; }
Real lower(const Certified& c) { return c.value - c.error; }
Real upper(const Certified& c) { return c.value + c.error; }

// x^(1/n) for x >= 0 (monotone).
Real root(const Real& x, int n) { return x <= 0 ? Real(0) : Real(exp(log(x) / n)); }

// T A T^T in Real and the entrywise bound gamma_{2d} |T| |A| |T|^T on its rounding error.
void congruence(const RMatrix& t, const RMatrix& a, RMatrix& out, RMatrix& err) {
  const Eigen::Index d = a.rows(), r = t.rows();
  RMatrix ta(r, d), tabs(r, d);
  for (Eigen::Index i = 0; i < r; ++i)
    for (Eigen::Index j = 0; j < d; ++j) {
      Real s(0), sa(0);
      for (Eigen::Index k = 0; k < d; ++k) {
        s += t(i, k) * a(k, j);
        sa += abs(t(i, k)) * abs(a(k, j));
      }
      ta(i, j) = s;
      tabs(i, j) = sa;
    }
  out.resize(r, r);
  err.resize(r, r);
  for (Eigen::Index i = 0; i < r; ++i)
    for (Eigen::Index j = i; j < r; ++j) {  // the exact product is symmetric: compute one triangle
      Real s(0), sa(0);
      for (Eigen::Index k = 0; k < d; ++k) {
        s += ta(i, k) * t(j, k);
        sa += tabs(i, k) * abs(t(j, k));
      }
      out(i, j) = out(j, i) = s;
      // 2d + 2 rounded operations along each path, and the same again for the bound itself.
      err(i, j) = err(j, i) = rounding_slack(sa, 4.0 * static_cast<double>(d) + 4);
    }
}

// Certified determinant of a symmetric block whose entries are known within `err` (Weyl: every
// eigenvalue moves by at most the Frobenius norm of the perturbation).
Certified block_determinant(const RMatrix& a, const RMatrix* err, const std::string& what) {
  SymmetricEigen e = symmetric_eigen(a, what);
  if (err) {
    const Real fro = sqrt(err->array().square().sum());
    for (Eigen::Index i = 0; i < e.radius.size(); ++i) e.radius(i) += fro * (1 + unit_roundoff() * 4);
  }
  return certified_determinant(e);
}

// eta = |r1 - r2| / (r1 + r2) as a certified interval from intervals of r1, r2 > 0: a function of
// q = r1 / r2 alone, increasing in |log q|.
Certified eta_interval(const Certified& r1, const Certified& r2) {
  const Real q_lo = lower(r1) / upper(r2), q_hi = upper(r1) / lower(r2);
  auto eta_of = [](const Real& q) { return Real(abs(q - 1) / (q + 1)); };
  const Real hi = std::max(eta_of(q_lo), eta_of(q_hi)) * (1 + unit_roundoff() * 8);
  const Real lo = (q_lo <= 1 && q_hi >= 1) ? Real(0) : std::min(eta_of(q_lo), eta_of(q_hi)) * (1 - unit_roundoff() * 8);
  return from_interval(lo, hi);
}

}  // namespace

const char* to_string(PqTransform t) {
  switch (t) {
    case PqTransform::identity: return "identity";
    case PqTransform::eigenbasis: return "eigenbasis";
    case PqTransform::soft_zca: return "soft-zca";
  }
  return "?";
}

PqTransform parse_pq_transform(const std::string& text) {
  if (text == "identity") return PqTransform::identity;
  if (text == "eigenbasis") return PqTransform::eigenbasis;
  if (text == "soft-zca") return PqTransform::soft_zca;
  throw Error("unknown PQ transform '" + text + "' (expected identity, eigenbasis or soft-zca)");
}

PqShape parse_pq_shape(const std::string& text, int dim) {
  const auto x = text.find('x');
  auto digits = [](const std::string& s) { return !s.empty() && s.size() < 6 && std::all_of(s.begin(), s.end(), ::isdigit); };
  if (x == std::string::npos || !digits(text.substr(0, x)) || !digits(text.substr(x + 1)))
    throw Error("--pq '" + text + "': expected MxBITS, e.g. 16x8");
  PqShape s;
  s.dim = dim;
  s.blocks = std::stoi(text.substr(0, x));
  s.bits = std::stoi(text.substr(x + 1));
  if (s.blocks < 1 || s.blocks > dim)
    throw Error("--pq '" + text + "': M = " + std::to_string(s.blocks) + " must be in 1.." + std::to_string(dim));
  if (dim % s.blocks != 0)
    throw Error("--pq '" + text + "': M = " + std::to_string(s.blocks) + " does not divide the dimension " + std::to_string(dim));
  if (s.bits < 1 || s.bits > 8) throw Error("--pq '" + text + "': BITS = " + std::to_string(s.bits) + " must be in 1..8");
  return s;
}

// ---------------------------------------------------------------------------------------------
KMeansResult kmeans(const double* x, std::size_t n, int dim, int k, const KMeansOptions& options) {
  if (k < 1) throw Error("k-means: k = " + std::to_string(k) + " must be >= 1");
  if (n < static_cast<std::size_t>(k))
    throw Error("k-means: " + std::to_string(n) + " rows, but " + std::to_string(k) + " centroids need at least as many rows");
  if (options.iterations < 1) throw Error("k-means: iterations must be >= 1");
  KMeansResult r;
  r.centroids.assign(static_cast<std::size_t>(k) * dim, 0.0);
  double* c = r.centroids.data();
  auto dist = [&](std::size_t i, int kk) {
    double s = 0;
    for (int j = 0; j < dim; ++j) {
      const double e = x[i * dim + j] - c[kk * dim + j];
      s += e * e;
    }
    return s;
  };
  std::mt19937_64 rng(options.seed);
  std::vector<double> d2(n, std::numeric_limits<double>::infinity());
  std::size_t pick = rng() % n;
  for (int kk = 0; kk < k; ++kk) {  // k-means++: D^2 sampling
    std::copy(x + pick * dim, x + (pick + 1) * dim, c + kk * dim);
    if (kk + 1 == k) break;
    double total = 0;
    for (std::size_t i = 0; i < n; ++i) {
      d2[i] = std::min(d2[i], dist(i, kk));
      total += d2[i];
    }
    pick = kmeanspp_draw(rng, d2.data(), n, total);
  }
  std::vector<int> codes(n), previous(n);
  for (int it = 0; it < options.iterations; ++it) {  // Lloyd
    for (std::size_t i = 0; i < n; ++i) {
      double best = std::numeric_limits<double>::infinity();
      int arg = 0;
      for (int kk = 0; kk < k; ++kk) {
        const double s = dist(i, kk);
        if (s < best) {
          best = s;
          arg = kk;
        }
      }
      codes[i] = arg;
    }
    if (it > 0 && codes == previous) {
      r.converged = true;
      break;
    }
    previous = codes;
    ++r.rounds;
    lloyd_update(x, n, dim, codes.data(), k, c);
  }
  return r;
}

Distortion nearest_centroid_distortion(const double* x, std::size_t n, int dim, const double* centroids, int k) {
  if (n == 0 || k < 1 || dim < 1) throw Error("distortion: empty data or codebook");
  // A computed sum of dim squares of rounded differences is within gamma_{dim+1} (relative) of the
  // exact one; the comparison below is widened by a few more roundings and an absolute underflow term.
  const double g = gamma_double(dim + 4);
  const double widen = (1 + g) / (1 - g) * (1 + 8 * kU);
  const double underflow = 4.0 * dim * std::numeric_limits<double>::denorm_min();
  Distortion out;
  out.codes.resize(n);
  std::vector<double> dd(k);
  Real total(0), total_sq(0);
  for (std::size_t i = 0; i < n; ++i) {
    const double* xi = x + i * dim;
    double dmin = std::numeric_limits<double>::infinity();
    for (int kk = 0; kk < k; ++kk) {
      double s = 0;
      for (int j = 0; j < dim; ++j) {
        const double e = xi[j] - centroids[kk * dim + j];
        s += e * e;
      }
      dd[kk] = s;
      dmin = std::min(dmin, s);
    }
    const double cut = dmin * widen + underflow;
    Real best = kInf;
    int arg = -1;
    for (int kk = 0; kk < k; ++kk) {
      if (dd[kk] > cut) continue;
      Real s(0);
      for (int j = 0; j < dim; ++j) {
        const Real e = Real(xi[j]) - Real(centroids[kk * dim + j]);
        s += e * e;
      }
      if (s < best) {
        best = s;
        arg = kk;
      }
    }
    out.codes[i] = arg;
    total += best;
    total_sq += best * best;
  }
  const Real nn(static_cast<double>(n));
  out.mean.value = total / nn;
  // Differences of doubles, squares and sums: at most 3 dim + n + 2 roundings per term at >= 128 bits.
  out.mean.error = rounding_slack(out.mean.value, 3.0 * dim + static_cast<double>(n) + 2);
  const Real var = total_sq / nn - out.mean.value * out.mean.value;
  out.per_row_sd = var > 0 ? Real(sqrt(var)) : Real(0);
  return out;
}

// ---------------------------------------------------------------------------------------------
RMatrix pq_transform_matrix(PqTransform kind, const SymmetricEigen& eig_v, const Real& eps_rel) {
  const Eigen::Index d = eig_v.values.size();
  const RMatrix& u = eig_v.vectors;
  if (kind == PqTransform::identity) return RMatrix::Identity(d, d);
  if (kind == PqTransform::eigenbasis) return u.transpose();
  if (!(eps_rel > 0)) throw Error("Soft-ZCA: epsilon " + to_string(eps_rel, 6) + " must be > 0");
  const Real trace = eig_v.values.sum();
  if (!(trace > 0)) throw Error("Soft-ZCA: Sigma_V has zero trace: nothing to whiten");
  const Real eps = eps_rel * trace / Real(static_cast<double>(d));
  RVector scale(d);
  for (Eigen::Index i = 0; i < d; ++i) scale(i) = 1 / sqrt(std::max(Real(0), eig_v.values(i)) + eps);
  RMatrix t(d, d);
  for (Eigen::Index i = 0; i < d; ++i)
    for (Eigen::Index j = 0; j < d; ++j) {
      Real s(0);
      for (Eigen::Index k = 0; k < d; ++k) s += u(i, k) * scale(k) * u(j, k);
      t(i, j) = s;
    }
  return t;
}

std::vector<BlockAlpha> block_alphas(const RMatrix& sigma_delta, const RMatrix& sigma_v, int blocks,
                                     const RMatrix* error_delta, const RMatrix* error_v) {
  const int d = static_cast<int>(sigma_v.rows());
  if (sigma_delta.rows() != d || sigma_delta.cols() != d || sigma_v.cols() != d)
    throw Error("block alpha: covariance shapes differ");
  if (blocks < 1 || d % blocks != 0)
    throw Error("block alpha: M = " + std::to_string(blocks) + " does not divide d = " + std::to_string(d));
  const int dm = d / blocks;
  std::vector<BlockAlpha> out;
  for (int m = 0; m < blocks; ++m) {
    const int off = m * dm;
    BlockAlpha b;
    RMatrix ed, ev;
    if (error_delta) ed = block_of(*error_delta, off, dm);
    if (error_v) ev = block_of(*error_v, off, dm);
    b.det_delta = block_determinant(block_of(sigma_delta, off, dm), error_delta ? &ed : nullptr,
                                    "Sigma_delta block " + std::to_string(m));
    b.det_v = block_determinant(block_of(sigma_v, off, dm), error_v ? &ev : nullptr, "Sigma_V block " + std::to_string(m));
    if (!(lower(b.det_v) > 0)) {
      b.finite = false;
      b.alpha = {kInf, Real(0)};
    } else {
      const Real lo = root(std::max(Real(0), lower(b.det_delta)) / upper(b.det_v), dm);
      const Real hi = root(upper(b.det_delta) / lower(b.det_v), dm);
      b.alpha = from_interval(lo * (1 - unit_roundoff() * 16), hi * (1 + unit_roundoff() * 16));
    }
    out.push_back(b);
  }
  return out;
}

namespace {
AlphaReport summarize_alpha(std::vector<BlockAlpha> blocks) {
  AlphaReport r;
  r.blocks = std::move(blocks);
  r.alpha = {Real(0), Real(0)};
  for (const auto& b : r.blocks) {
    if (!b.finite) {
      r.finite = false;
      r.alpha = {kInf, Real(0)};
      return r;
    }
    // |max a - max a^| <= max |a - a^|: the value of the max and the largest error.
    r.alpha.value = std::max(r.alpha.value, b.alpha.value);
    r.alpha.error = std::max(r.alpha.error, b.alpha.error);
  }
  return r;
}
}  // namespace

AlphaReport transformed_alpha(const RMatrix& sigma_delta, const RMatrix& sigma_v, const RMatrix& t, int blocks) {
  RMatrix sd, ed, sv, ev;
  congruence(t, sigma_delta, sd, ed);
  congruence(t, sigma_v, sv, ev);
  return summarize_alpha(block_alphas(sd, sv, blocks, &ed, &ev));
}

AlphaReport per_source_alpha(const RMatrix& sigma_delta, const RMatrix& t_delta, const RMatrix& sigma_v,
                             const RMatrix& t_v, int blocks) {
  RMatrix sd, ed, sv, ev;
  congruence(t_delta, sigma_delta, sd, ed);
  congruence(t_v, sigma_v, sv, ev);
  return summarize_alpha(block_alphas(sd, sv, blocks, &ed, &ev));
}

PerSourceCounterexample per_source_whitening_counterexample() {
  // Sigma_V = diag(1, 1e-4), Sigma_delta = diag(1e-2, 0.9e-4): Sigma_delta < Sigma_V strictly.
  // Shared Soft-ZCA keeps the per-coordinate ratios (1e-2 and 0.9): alpha = 0.9. Whitening delta with
  // its own (relative) epsilon lifts its weak coordinate to ~0.64 of unit variance while V's stays
  // at ~0.02: alpha ~ 33.
  PerSourceCounterexample c;
  c.blocks = 2;
  c.eps_rel = Real("1e-2");
  c.sigma_v = RMatrix::Zero(2, 2);
  c.sigma_delta = RMatrix::Zero(2, 2);
  c.sigma_v(0, 0) = Real(1);
  c.sigma_v(1, 1) = Real("1e-4");
  c.sigma_delta(0, 0) = Real("1e-2");
  c.sigma_delta(1, 1) = Real("0.9e-4");
  c.loewner = loewner_le(c.sigma_delta, c.sigma_v).verdict;
  const SymmetricEigen ev = symmetric_eigen(c.sigma_v, "Sigma_V");
  const SymmetricEigen ed = symmetric_eigen(c.sigma_delta, "Sigma_delta");
  const RMatrix t_v = pq_transform_matrix(PqTransform::soft_zca, ev, c.eps_rel);
  const RMatrix t_d = pq_transform_matrix(PqTransform::soft_zca, ed, c.eps_rel);
  c.shared = transformed_alpha(c.sigma_delta, c.sigma_v, t_v, c.blocks);
  c.per_source = per_source_alpha(c.sigma_delta, t_d, c.sigma_v, t_v, c.blocks);
  return c;
}

// ---------------------------------------------------------------------------------------------
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

Real ggd_moment_ratio(const Real& beta) {
  return exp(lgamma(1 / beta) + lgamma(3 / beta) - 2 * lgamma(2 / beta));
}

GgdFit fit_ggd_shape(const Real& ratio) {
  if (!(ratio > 0) || !isfinite(ratio)) throw Error("GGD fit: moment ratio " + to_string(ratio, 6) + " must be finite and > 0");
  GgdFit fit;
  if (ratio <= Real(4) / 3) {
    fit.uniform_limit = true;
    fit.beta = kInf;
    return fit;
  }
  const Real target = log(ratio);
  auto f = [&](const Real& logb) { return Real(log(ggd_moment_ratio(exp(logb))) - target); };  // decreasing
  Real a = log(Real("0.02")), b = log(Real(10000));
  Real fa = f(a), fb = f(b);
  if (fa < 0) {
    fit.below_range = true;
    fit.beta = Real("0.02");
    return fit;
  }
  if (fb > 0) {  // between the b = 1e4 value and 4/3: indistinguishable from uniform at this range
    fit.uniform_limit = true;
    fit.beta = kInf;
    return fit;
  }
  const Real tol = ldexp(Real(1), -(precision_bits() - 16));
  // Bisection to a bracket of width 1/8 in log beta, then the Illinois variant of regula falsi.
  while (b - a > Real("0.125")) {
    const Real c = (a + b) / 2, fc = f(c);
    ++fit.iterations;
    if (fc > 0) { a = c; fa = fc; } else { b = c; fb = fc; }
  }
  int side = 0;
  Real c = (a + b) / 2;
  for (int it = 0; it < 200 && b - a > tol * (1 + abs(c)); ++it) {
    c = (a * fb - b * fa) / (fb - fa);
    const Real fc = f(c);
    ++fit.iterations;
    if (fc == 0) { a = b = c; break; }
    if (fc > 0) {
      a = c; fa = fc;
      if (side == 1) fb /= 2;
      side = 1;
    } else {
      b = c; fb = fc;
      if (side == -1) fa /= 2;
      side = -1;
    }
  }
  fit.beta = exp((a + b) / 2);
  return fit;
}

Real gaussian_log_power_integral(const Real& sigma, const Real& g) {
  const Real two_pi = 2 * Real(acos(Real(-1)));
  return (1 - g) / 2 * log(two_pi * sigma * sigma) - log(g) / 2;
}

Real ggd_log_power_integral(const Real& beta, const Real& sigma, const Real& g) {
  if (!isfinite(beta)) return (1 - g) * log(2 * sigma * sqrt(Real(3)));  // uniform on [-a, a], a = sqrt(3) sigma
  const Real log_a = log(sigma) + (lgamma(1 / beta) - lgamma(3 / beta)) / 2;
  return (1 - g) * (log(Real(2)) + log_a + lgamma(1 / beta) - log(beta)) - log(g) / beta;
}

Real ggd_log_relative_shape(const std::vector<Real>& betas, const Real& g) {
  Real s(0);
  for (const Real& b : betas) s += ggd_log_power_integral(b, Real(1), g) - gaussian_log_power_integral(Real(1), g);
  return s / g;
}

Real eta_from_log_shapes(const Real& log_s1, const Real& log_s2) { return tanh(abs(log_s1 - log_s2) / 2); }

// ---------------------------------------------------------------------------------------------
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
  std::vector<double> d2(m - 1), terms(m);
  for (std::size_t i = 0; i < m; ++i) {
    std::size_t c = 0;
    for (std::size_t j = 0; j < m; ++j)
      if (j != i) d2[c++] = (w.row(static_cast<Eigen::Index>(i)) - w.row(static_cast<Eigen::Index>(j))).squaredNorm();
    std::nth_element(d2.begin(), d2.begin() + (k - 1), d2.end());
    const double rho2 = d2[k - 1];
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
    st.beta_v.push_back(isfinite(rv) ? fit_ggd_shape(rv).beta : kInf);
    st.beta_delta.push_back(isfinite(rd) ? fit_ggd_shape(rd).beta : kInf);
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

JointCondition joint_condition(const Certified& alpha, bool alpha_finite, const Real& eta) {
  JointCondition j;
  if (!alpha_finite || !(eta < 1)) {
    j.mu = {kInf, Real(0)};
    return j;  // fails
  }
  const Real f = (1 + eta) / (1 - eta);
  j.mu.value = alpha.value * f;
  j.mu.error = alpha.error * f + rounding_slack(j.mu.value, 8);
  j.verdict = verdict_lt(j.mu, {Real(1), Real(0)});
  return j;
}

RatioCheck pq_ratio_check(const PqReport& p, const Certified& alpha, const Real& eta) {
  RatioCheck c;
  if (!p.alpha_finite || !(eta < 1)) return c;
  const Real f = (1 + eta) / (1 - eta);
  const Real lo = (alpha.value - alpha.error) * f * (p.d_v.value - p.d_v.error);
  const Real hi = (alpha.value + alpha.error) * f * (p.d_v.value + p.d_v.error);
  c.bound = Certified{(lo + hi) / 2, (hi - lo) / 2 + rounding_slack(abs(hi), 8)};
  c.verdict = verdict_le(p.d_delta, *c.bound);
  return c;
}

// ---------------------------------------------------------------------------------------------
PqReport pq_audit(const std::vector<double>& v_rows, std::size_t nv, const std::vector<double>& delta_rows,
                  std::size_t nd, int dim, const SymmetricEigen& eig_v, const PqOptions& options) {
  const PqShape& sh = options.shape;
  if (sh.dim != dim) throw Error("PQ audit: shape for d = " + std::to_string(sh.dim) + ", data has d = " + std::to_string(dim));
  if (v_rows.size() != nv * dim || delta_rows.size() != nd * dim) throw Error("PQ audit: row arrays do not match their shapes");
  const int kc = sh.centroids();
  for (std::size_t n : {nv, nd})
    if (n < static_cast<std::size_t>(kc))
      throw Error("PQ audit: " + std::to_string(n) + " rows, but K = 2^" + std::to_string(sh.bits) + " = " +
                  std::to_string(kc) + " centroids per block need at least K rows (use fewer bits)");
  PqReport rep;
  rep.options = options;
  const RMatrix t = pq_transform_matrix(options.transform, eig_v, options.zca_eps_rel);
  if (options.transform == PqTransform::soft_zca)
    rep.zca_eps = options.zca_eps_rel * eig_v.values.sum() / Real(static_cast<double>(dim));
  std::vector<double> td(static_cast<std::size_t>(dim) * dim);
  for (int i = 0; i < dim; ++i)
    for (int j = 0; j < dim; ++j) td[i * dim + j] = to_double(t(i, j));
  // The data the PQ sees: y = T_double (x - mean_s), computed in double. Everything below is about
  // these rows exactly (their covariances, their distortions).
  auto transform = [&](const std::vector<double>& x, std::size_t n) {
    std::vector<double> mean(dim, 0.0), y(n * dim);
    for (std::size_t i = 0; i < n; ++i)
      for (int j = 0; j < dim; ++j) mean[j] += x[i * dim + j];
    for (double& m : mean) m /= static_cast<double>(n);
    std::vector<double> c(dim);
    for (std::size_t i = 0; i < n; ++i) {
      for (int j = 0; j < dim; ++j) c[j] = x[i * dim + j] - mean[j];
      for (int r = 0; r < dim; ++r) {
        double s = 0;
        for (int j = 0; j < dim; ++j) s += td[r * dim + j] * c[j];
        y[i * dim + r] = s;
      }
    }
    return y;
  };
  const std::vector<double> yv = transform(v_rows, nv), yd = transform(delta_rows, nd);
  const int dm = sh.block_dim();
  const Real rate_factor = Real(dm) * exp(-2 * Real(sh.bits) / Real(dm) * log(Real(2)));  // d_m 2^(-2R/d_m)

  auto source_block = [&](const std::vector<double>& xb, std::size_t n, int m, const char* name, RMatrix& cov) {
    PqSourceBlock s;
    cov = sample_moments(to_real(xb.data(), n, dm)).covariance;
    s.det = block_determinant(cov, nullptr, std::string("Sigma_") + name + " block " + std::to_string(m));
    KMeansOptions ko = options.kmeans;
    ko.seed = options.kmeans.seed + static_cast<std::uint64_t>(m);
    const KMeansResult km = kmeans(xb.data(), n, dm, kc, ko);
    s.kmeans_rounds = km.rounds;
    s.kmeans_converged = km.converged;
    const Distortion dist = nearest_centroid_distortion(xb.data(), n, dm, km.centroids.data(), kc);
    s.distortion = dist.mean;
    s.distortion_sd = dist.per_row_sd;
    s.a = from_interval(rate_factor * root(std::max(Real(0), lower(s.det)), dm) * (1 - unit_roundoff() * 16),
                        rate_factor * root(upper(s.det), dm) * (1 + unit_roundoff() * 16));
    s.ratio = s.a.value > 0 ? Real(s.distortion.value / s.a.value) : kInf;
    return s;
  };

  rep.alpha = {Real(0), Real(0)};
  rep.d_v = {Real(0), Real(0)};
  rep.d_delta = {Real(0), Real(0)};
  rep.eta_empirical = rep.eta_ggd = rep.eta_conservative = Real(0);
  bool knn_all = true;
  Real eta_knn_max(0);
  for (int m = 0; m < sh.blocks; ++m) {
    PqBlockReport b;
    b.block = m;
    const std::vector<double> bv = extract_block(yv, nv, dim, m * dm, dm), bd = extract_block(yd, nd, dim, m * dm, dm);
    RMatrix cov_v, cov_d;
    b.v = source_block(bv, nv, m, "V", cov_v);
    b.delta = source_block(bd, nd, m, "delta", cov_d);
    b.shape = shape_tiers(bv.data(), nv, bd.data(), nd, dm, options.knn_k, options.knn_max_points,
                          options.kmeans.seed + 7919u * static_cast<std::uint64_t>(m + 1));
    b.alpha = block_alphas(cov_d, cov_v, 1)[0];
    if (lower(b.v.a) > 0 && lower(b.delta.a) > 0 && lower(b.v.distortion) > 0 && lower(b.delta.distortion) > 0) {
      auto ratio = [](const PqSourceBlock& sb) {  // r = D / A as an interval
        return from_interval(lower(sb.distortion) / upper(sb.a) * (1 - unit_roundoff() * 4),
                             upper(sb.distortion) / lower(sb.a) * (1 + unit_roundoff() * 4));
      };
      b.eta_empirical = upper(eta_interval(ratio(b.delta), ratio(b.v)));  // the certified upper end: conservative
    } else {
      b.eta_empirical = Real(1);  // a zero determinant or zero distortion: the regime is not verified
    }
    if (b.shape.eta_knn) eta_knn_max = std::max(eta_knn_max, *b.shape.eta_knn);
    else knn_all = false;
    b.eta_conservative = std::max(b.eta_empirical, b.shape.eta_max());
    b.joint = joint_condition(b.alpha.alpha, b.alpha.finite, b.eta_conservative);
    if (!b.alpha.finite) rep.alpha_finite = false;
    rep.alpha.value = std::max(rep.alpha.value, b.alpha.alpha.value);
    rep.alpha.error = std::max(rep.alpha.error, b.alpha.alpha.error);
    rep.d_v.value += b.v.distortion.value;
    rep.d_v.error += b.v.distortion.error;
    rep.d_delta.value += b.delta.distortion.value;
    rep.d_delta.error += b.delta.distortion.error;
    rep.eta_empirical = std::max(rep.eta_empirical, b.eta_empirical);
    rep.eta_ggd = std::max(rep.eta_ggd, b.shape.eta_ggd);
    rep.eta_conservative = std::max(rep.eta_conservative, b.eta_conservative);
    rep.blocks.push_back(std::move(b));
  }
  if (knn_all) rep.eta_knn = eta_knn_max;
  if (!rep.alpha_finite) rep.alpha = {kInf, Real(0)};
  rep.joint = joint_condition(rep.alpha, rep.alpha_finite, rep.eta_conservative);
  rep.eta_threshold = rep.alpha_finite ? Real((1 - rep.alpha.value) / (1 + rep.alpha.value)) : Real(-1);
  return rep;
}

}  // namespace dpq::ref
